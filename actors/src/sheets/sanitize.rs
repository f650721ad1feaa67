//! What leaves for the sheet: secrets redacted, long text cut with a marker. Values are written with the
//! RAW input option, so nothing here becomes a formula either.
//!
//! Why a catalogue of regexes: a sheet is shared more widely than the database, and task titles, commands,
//! errors and payloads carry pasted credentials. Each shape below is one named pattern, matched with the
//! `regex` crate (Unicode-aware, linear time, and it hands back only valid char boundaries). Every shape
//! runs over the original text; what any of them marks is hidden, overlapping or touching parts merged into
//! one [`REDACTED`]. Each shape must also keep ordinary words whole: `task-01J…`, `disk-usage`, "Fix token
//! expiry bug", "passport", "compass: north" and `ls -l -p` all stay as they are.
//!
//! Redaction is idempotent (a redacted text redacts to itself; passes repeat until nothing changes), and it
//! never panics: the tests check both on arbitrary Unicode.

use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

/// Longest cell Atlas writes, in characters.
pub const MAX_CELL_CHARS: usize = 1000;
pub const REDACTED: &str = "[REDACTED]";

/// Key names whose value is a secret, with any `word_`, `word-` or `word.` prefix: so `DB_PASSWORD`,
/// `client_secret`, `access_token`, `refresh_token`, `aws_secret_access_key`, `X-Api-Key`,
/// `spring.datasource.password`. Used as `{KEY}` in the catalogue, always after a word boundary
/// (`compass` is no key) and right before the separator (`tokens`, `passport`, `token_count`,
/// `password_hash` are no keys either).
const KEY: &str = r"(?:[a-z0-9]+[._-])*(?:password|passwd|passphrase|pgpassword|pwd|pass|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|authorization|auth|credentials?|bearer)";

/// The value after `key=` / `key: ` / `"key": `: the inside of a quoted string (quotes kept, escapes
/// honoured; also `\"…\"`, a string inside a JSON string), an earlier `[REDACTED]` (left as it is), or a bare word up to a delimiter. A bare word does
/// not start with a bracket, brace or `:` (so `{"auth": {…}}` and `auth::check` are no values). Used as
/// `{VALUE}`.
const VALUE: &str = r#"(?:\\"((?:[^"\\\n]|\\[^"])*)\\"|"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|\[REDACTED\]|["']?([^\s"'`,;&(){}<>\[\]:=][^\s"'`,;&)}<>]*))"#;

/// A quoted or bare argument of a command-line flag (`-phunter2`, `-p 'x y'`); used as `{ARG}`. A
/// double-quoted one ends at a blank (`-p","app` in a JSON argv is a flag, then the next element).
const ARG: &str = r#"(?:'([^'\n]*)'|"([^"\n]*)"(?:\s|$)|([^\s'"-][^\s'"]*))"#;

/// Between two arguments: blanks on a command line, `","` between the elements of a JSON argv
/// (`["mysql","-u","root","-pX"]`); `{SEP0}` may also be nothing (a glued value). Used as `{SEP}`.
const SEP: &str = r#"(?:[ \t]+|"[ \t]*,[ \t]*")"#;
const SEP0: &str = r#"(?:[ \t]*|"[ \t]*,[ \t]*")"#;

/// Keeps every match.
fn always(_: &str) -> bool {
    true
}

/// Random key material mixes upper case, lower case and digits; a slug like `sk-learn-compat-notes` does not.
fn mixed(text: &str) -> bool {
    [char::is_ascii_uppercase, char::is_ascii_lowercase, char::is_ascii_digit]
        .iter()
        .all(|class| text.chars().any(|c| class(&c)))
}

/// One shape: its name, its pattern, and which of its matches are secrets.
type Entry = (&'static str, &'static str, fn(&str) -> bool);

/// The secret shapes. Capturing groups mark the parts to hide (a pattern without one hides its whole
/// match); anything else in the match is context that stays visible.
#[rustfmt::skip]
const CATALOGUE: &[Entry] = &[
    // PEM private keys, whole block (to the end of the text when the END line is missing).
    ("pem private key", r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)", always),
    // scheme://user:password@host: only the password (the last `@` before the path decides where it ends).
    ("url credentials", r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/?#@]*:([^\s/?#]+)@", always),
    // JSON Web Tokens: base64url `{"…` header, payload, signature (and JWE's two more parts).
    ("jwt", r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}", always),
    // AWS access key ids (long-term AKIA, temporary ASIA). The secret key is caught by `key=value` below.
    ("aws access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", always),
    // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens, fine-grained PATs.
    ("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", always),
    // Slack bot, user, workspace, refresh and legacy tokens.
    ("slack token", r"\bxox[abeprs]-[A-Za-z0-9-]{10,}", always),
    // Google API keys.
    ("google api key", r"\bAIza[0-9A-Za-z_-]{35,}", always),
    // OpenAI / Anthropic style `sk-…` keys, as a whole token only (`task-…`, `disk-usage` have no boundary).
    ("sk- key", r"\bsk-[A-Za-z0-9_-]{20,}", mixed),
    // Stripe secret and restricted keys.
    ("stripe key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}", always),
    // Atlas's own API tokens: `atlas_` + 64 hex (`atlas_writer_queue_depth`, backup ids stay).
    ("atlas token", r"\batlas_[A-Za-z0-9]{20,}", always),
    // Telegram bot tokens (`bot123456:AA…`): the part after the colon.
    ("telegram bot token", r"(?:\bbot|\b)[0-9]{5,12}:([A-Za-z0-9_-]{35})", always),
    // `password=…`, `token: …`, `"api_key": "…"`, `Authorization: Bearer …` (the scheme word stays).
    ("key value", r#"(?i)\b{KEY}(?:\\?["'])?[ \t]*(?:=>|:=|[:=])[ \t]*(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?{VALUE}"#, always),
    // `<password>…</password>`.
    ("xml element", r"(?i)<{KEY}>([^<]+)", always),
    // `--password hunter2`, `--api-key "x"` (double dash only; a value starting with `-` is the next flag).
    ("cli flag", r#"(?i)(?:^|\s|"[ \t]*,[ \t]*")--{KEY}{SEP}("[^"\n]*"|'[^'\n]*'|["']?[^\s"'\[-][^\s"']*)"#, always),
    // `Bearer <token>` outside a header: only a token-like word of 20+ characters.
    ("bearer token", r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]{20,}=*)", always),
    // mysql's password glued to `-p` (`-phunter2`, `-p'x y'`), only after a mysql/mariadb command word:
    // `-p db` is a prompt then the database, `-P 3306` the port; `cp -pr`, `ssh -p2222` are no mysql.
    ("mysql -p", r"\b(?i:mysql[a-z]*|mariadb(?:-[a-z]+)?)\b[^\n|;&]*?{SEP}-p{ARG}", always),
    // `sshpass -p pw`, `docker login -p pw` (glued or not).
    ("password flag", r"\b(?:sshpass|docker login|podman login)\b[^\n|;&]*?{SEP}-p{SEP0}{ARG}", always),
    // `redis-cli -a pw` (its `-p` is the port).
    ("redis-cli -a", r"\bredis-cli\b[^\n|;&]*?{SEP}-a{SEP}{ARG}", always),
    // `curl -u user:pw`: the password.
    ("curl -u", r#"\bcurl\b[^\n|;&]*?{SEP}(?:-u|--user){SEP0}["']?[^\s:"']*:([^\s"']+)"#, always),
    // A JSON argv's key element followed by its value (`["aws","configure","set","aws_secret_access_key","x"]`).
    ("argv key", r#"(?i)"{KEY}"[ \t]*,[ \t]*"((?:[^"\\\n]|\\.)+)""#, always),
    // Webhook URLs whose path is the credential: Slack, Discord, Microsoft Teams.
    ("slack webhook", r"\bhooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9_/-]+)", always),
    ("discord webhook", r"\bdiscord(?:app)?\.com/api/webhooks/[0-9]+/([A-Za-z0-9_-]+)", always),
    ("teams webhook", r#"\.webhook\.office\.com/webhookb2/([^\s"']+)"#, always),
    // `.netrc`: `machine host [login user] password pw`, on one line or several.
    ("netrc", r"(?i)\bmachine[ \t]+\S+(?:\s+login[ \t]+\S+)?\s+password[ \t]+(\S+)", always),
    // Google OAuth client secrets; Azure storage account and service-bus keys.
    ("google oauth secret", r"\bGOCSPX-[A-Za-z0-9_-]{20,}", always),
    ("azure key", r#"(?i)\b(?:AccountKey|SharedAccessKey)=([^;\s"']+)"#, always),
    // From gitleaks' default rules: GitLab, npm, PyPI, Vault, Hugging Face, SendGrid, DigitalOcean,
    // Shopify tokens and age secret keys.
    ("gitlab token", r"\bglpat-[A-Za-z0-9_-]{20,}", always),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b", always),
    ("pypi token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", always),
    ("vault token", r"\bhv[sb]\.[A-Za-z0-9_-]{24,}", always),
    ("hugging face token", r"\bhf_[A-Za-z0-9]{34,}", always),
    ("sendgrid key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b", always),
    ("digitalocean token", r"\bdo[por]_v1_[a-f0-9]{64}\b", always),
    ("shopify token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", always),
    ("age secret key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b", always),
];

/// A compiled [`CATALOGUE`] entry, at the same index.
struct Shape {
    regex: Regex,
    keep: fn(&str) -> bool,
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    CATALOGUE
        .iter()
        .map(|&(name, pattern, keep)| {
            let pattern = pattern
                .replace("{KEY}", KEY)
                .replace("{VALUE}", VALUE)
                .replace("{ARG}", ARG)
                .replace("{SEP0}", SEP0)
                .replace("{SEP}", SEP);
            let regex = Regex::new(&pattern).unwrap_or_else(|err| panic!("sanitize shape {name}: {err}"));
            Shape { regex, keep }
        })
        .collect()
});

/// Byte ranges of `text` to hide, sorted, with overlapping or touching ranges merged.
fn secret_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    for shape in SHAPES.iter() {
        for caps in shape.regex.captures_iter(text) {
            let whole = caps.get(0).expect("group 0 is the match");
            if !(shape.keep)(whole.as_str()) {
                continue;
            }
            if caps.len() == 1 {
                spans.push(whole.range());
            } else {
                spans.extend(caps.iter().skip(1).flatten().filter(|m| !m.is_empty()).map(|m| m.range()));
            }
        }
    }
    spans.sort_by_key(|span| (span.start, span.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// `text` with every secret of the catalogue replaced by [`REDACTED`]; nothing is cut.
///
/// Hiding a secret can uncover another shape (a hidden `&` no longer ends a `mysql` command, a hidden
/// `-----…` no longer keeps `-p` from having a value), so passes repeat until nothing changes: once more
/// than needed, in practice. A text that would not settle is hidden whole.
pub fn redact(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..MAX_PASSES {
        match redact_once(&current) {
            Some(next) => current = next,
            None => return current,
        }
    }
    REDACTED.to_owned()
}

/// Passes [`redact`] makes before it gives up on a text settling.
const MAX_PASSES: usize = 8;

/// One pass over `text`, or `None` when it changes nothing.
fn redact_once(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for span in secret_spans(text) {
        out.push_str(&text[done..span.start]);
        out.push_str(REDACTED);
        done = span.end;
    }
    out.push_str(&text[done..]);
    (out != text).then_some(out)
}

/// What a cell shows, and whether that is less than Atlas holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    /// Something was replaced by [`REDACTED`].
    pub redacted: bool,
    /// The text was cut to [`MAX_CELL_CHARS`] with a marker.
    pub truncated: bool,
}

impl Shown {
    /// The cell is not the whole text.
    pub fn partial(&self) -> bool {
        self.redacted || self.truncated
    }
}

/// Redacts, then cuts to [`MAX_CELL_CHARS`] characters (not bytes), the last of them a marker saying how
/// long the text is.
pub fn show(text: &str) -> Shown {
    let clean = redact(text);
    let redacted = clean != text;
    let chars = clean.chars().count();
    if chars <= MAX_CELL_CHARS {
        return Shown { text: clean, redacted, truncated: false };
    }
    let marker = format!(" […truncated, {chars} characters in Atlas]");
    let keep = MAX_CELL_CHARS.saturating_sub(marker.chars().count());
    let text = clean.chars().take(keep).collect::<String>() + &marker;
    Shown { text, redacted, truncated: true }
}

/// A cell's text as it may appear in the sheet.
pub fn cell(text: &str) -> String {
    show(text).text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The names of the shapes that match `text` (to explain a failing case).
    fn shapes_in(text: &str) -> Vec<&'static str> {
        let names = CATALOGUE.iter().map(|(name, _, _)| *name);
        names
            .zip(SHAPES.iter())
            .filter(|(_, s)| s.regex.find_iter(text).any(|m| (s.keep)(m.as_str())))
            .map(|(n, _)| n)
            .collect()
    }

    /// (input, what the sheet shows). Unchanged inputs are the false positives the catalogue must avoid.
    const TABLE: &[(&str, &str)] = &[
        // --- secrets, in their usual shapes
        ("deploy --password=hunter2 --fast", "deploy --password=[REDACTED] --fast"),
        (r#"{"api_key": "abc123", "n": 1}"#, r#"{"api_key": "[REDACTED]", "n": 1}"#),
        (r#"{"password":"a\"b","user":"x"}"#, r#"{"password":"[REDACTED]","user":"x"}"#),
        ("{'token': 'abc', 'n': 1}", "{'token': '[REDACTED]', 'n': 1}"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer [REDACTED]"),
        ("-H 'Authorization: Basic dXNlcjpwYXNz' -X GET", "-H 'Authorization: Basic [REDACTED]' -X GET"),
        ("-H \"X-Api-Key: abc123\"", "-H \"X-Api-Key: [REDACTED]\""),
        ("pwd: hunter2", "pwd: [REDACTED]"),
        ("pass: hunter2", "pass: [REDACTED]"),
        ("DB_PASSWORD=hunter2 MYSQL_PWD=x ./run.sh", "DB_PASSWORD=[REDACTED] MYSQL_PWD=[REDACTED] ./run.sh"),
        ("client_secret: abc, refresh_token=def&x=1", "client_secret: [REDACTED], refresh_token=[REDACTED]&x=1"),
        ("?access_token=abc&apikey=d;api-key=e", "?access_token=[REDACTED]&apikey=[REDACTED];api-key=[REDACTED]"),
        ("spring.datasource.password = s3cret", "spring.datasource.password = [REDACTED]"),
        ("credentials=admin:hunter2", "credentials=[REDACTED]"),
        ("private_key => \"x\", secret: 'y z'", "private_key => \"[REDACTED]\", secret: '[REDACTED]'"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [REDACTED]"),
        ("<password>hunter2</password>", "<password>[REDACTED]</password>"),
        ("İstanbul password=x İ", "İstanbul password=[REDACTED] İ"),
        ("--token abc123 --verbose", "--token [REDACTED] --verbose"),
        ("login --api-key 'a b' now", "login --api-key [REDACTED] now"),
        ("https://admin:hunter2@db.example.com/x", "https://admin:[REDACTED]@db.example.com/x"),
        ("redis://:s3cr@t@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        ("git clone https://x:ghp_abc@github.com/o/r", "git clone https://x:[REDACTED]@github.com/o/r"),
        ("mysql -u root -phunter2 app", "mysql -u root -p[REDACTED] app"),
        ("mysqldump -uroot -p'hunter 2' app | gzip", "mysqldump -uroot -p'[REDACTED]' app | gzip"),
        ("sshpass -p 'pw' ssh host", "sshpass -p '[REDACTED]' ssh host"),
        ("docker login -u me -p hunter2 registry", "docker login -u me -p [REDACTED] registry"),
        ("redis-cli -h r -p 6379 -a hunter2 ping", "redis-cli -h r -p 6379 -a [REDACTED] ping"),
        ("curl -u admin:hunter2 https://x", "curl -u admin:[REDACTED] https://x"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc_DEF-123 end", "jwt [REDACTED] end"),
        ("Bearer abcdefghijklmnopqrstuvwxyz123456", "Bearer [REDACTED]"),
        ("AWS AKIAABCDEFGHIJKLMNOP here, ASIAABCDEFGHIJKLMNOP", "AWS [REDACTED] here, [REDACTED]"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789 and gho_abcdefghijklmnopqrst", "[REDACTED] and [REDACTED]"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[REDACTED]"),
        ("slack xoxb-1234-5678-abcdef and xoxp-1234567890-abcdefghij.", "slack [REDACTED] and [REDACTED]."),
        ("key AIzaSyA1234567890abcdefghijklmnopqrstuv", "key [REDACTED]"),
        ("use sk-abcDEF1234567890ghijKLMN now", "use [REDACTED] now"),
        ("(sk-proj-Ab3_dEf-GhIjKlMnOpQrStUvWx9)", "([REDACTED])"),
        ("stripe sk_live_abcdefghij0123456789", "stripe [REDACTED]"),
        ("token atlas_0123456789abcdef0123 leaked", "token [REDACTED] leaked"),
        (
            "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/sendMessage",
            "POST https://api.telegram.org/bot123456789:[REDACTED]/sendMessage",
        ),
        ("k=-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done", "k=[REDACTED] done"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn (cut here", "[REDACTED]"),
        // two secrets that touch are one [REDACTED]
        ("-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----AKIAABCDEFGHIJKLMNOP", "[REDACTED]"),
        // --- argv forms inside a JSON payload (issue 24): a flag and its value as separate elements
        (r#"["mysql","-u","root","-pPw9"]"#, r#"["mysql","-u","root","-p[REDACTED]"]"#),
        (r#"["curl","-u","admin:Pw9","https://x"]"#, r#"["curl","-u","admin:[REDACTED]","https://x"]"#),
        (r#"["deploy","--password","Pw9","--fast"]"#, r#"["deploy","--password","[REDACTED]","--fast"]"#),
        (r#"["sshpass","-p","Pw9","ssh","host"]"#, r#"["sshpass","-p","[REDACTED]","ssh","host"]"#),
        (
            r#"["aws","configure","set","aws_secret_access_key","wJalrXUtnFEMI"]"#,
            r#"["aws","configure","set","aws_secret_access_key","[REDACTED]"]"#,
        ),
        // a key inside a JSON string (escaped quotes)
        (r#"{"body": "{\"password\": \"Pw9\"}"}"#, r#"{"body": "{\"password\": \"[REDACTED]\"}"}"#),
        // webhook URLs with their token in the path
        (
            "notify https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKlMnOpQrStUvWx now",
            "notify https://hooks.slack.com/services/[REDACTED] now",
        ),
        (
            "https://discord.com/api/webhooks/123456789012/AbC-dEf_GhIjKlMnOpQrStUv",
            "https://discord.com/api/webhooks/123456789012/[REDACTED]",
        ),
        (
            "https://acme.webhook.office.com/webhookb2/abc-123@def/IncomingWebhook/xyz/0f1e",
            "https://acme.webhook.office.com/webhookb2/[REDACTED]",
        ),
        // .netrc lines
        (
            "machine api.example.com login deploy password Pw9",
            "machine api.example.com login deploy password [REDACTED]",
        ),
        ("machine db\n  login u\n  password Pw9", "machine db\n  login u\n  password [REDACTED]"),
        // Google OAuth client secrets, Azure storage and service-bus keys
        ("client GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz01", "client [REDACTED]"),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Ab+Cd/Ef==;EndpointSuffix=core",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core",
        ),
        (
            "Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=Ab+Cd=",
            "Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=[REDACTED]",
        ),
        // gitleaks default rules Atlas had missed
        ("glpat-AbCdEfGhIjKlMnOpQrSt and npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "[REDACTED] and [REDACTED]"),
        ("hvs.AbCdEfGhIjKlMnOpQrStUvWxYz and hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "[REDACTED] and [REDACTED]"),
        ("SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG", "[REDACTED]"),
        ("pypi-AgEIcHlwaS5vcmcAbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp", "[REDACTED]"),
        ("shpat_0123456789abcdef0123456789abcdef", "[REDACTED]"),
        ("dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "[REDACTED]"),
        ("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "[REDACTED]"),
        // --- ordinary text that must survive
        ("task-01JABCDEFGHJKMNPQRSTVWXYZ0", "task-01JABCDEFGHJKMNPQRSTVWXYZ0"),
        ("approval-01JABCDEFGHJKMNPQRSTVWXYZ0 approved", "approval-01JABCDEFGHJKMNPQRSTVWXYZ0 approved"),
        ("./disk-usage-report.sh --all", "./disk-usage-report.sh --all"),
        ("risk-assessment-for-the-quarterly-review", "risk-assessment-for-the-quarterly-review"),
        ("pip install sk-learn-compatibility-matrix", "pip install sk-learn-compatibility-matrix"),
        ("Fix token expiry bug", "Fix token expiry bug"),
        ("tokens are fine as a word", "tokens are fine as a word"),
        ("bearer tokens are supported", "bearer tokens are supported"),
        ("passport: checked, compass: north, bypass: no", "passport: checked, compass: north, bypass: no"),
        ("author: Bob, authority: x, secretary: y", "author: Bob, authority: x, secretary: y"),
        ("token_count=5 password_hash: x secret_name: db", "token_count=5 password_hash: x secret_name: db"),
        ("--token-file=/etc/t --auth-file x", "--token-file=/etc/t --auth-file x"),
        ("auth::check failed in secret::load", "auth::check failed in secret::load"),
        (r#"{"auth": {"user": "x"}, "token": ["a"]}"#, r#"{"auth": {"user": "x"}, "token": ["a"]}"#),
        ("password=\"\" and password=<your password>", "password=\"\" and password=<your password>"),
        ("mysql --password --host db", "mysql --password --host db"),
        ("ls -l -p /tmp", "ls -l -p /tmp"),
        ("mkdir -pv /tmp/x && cp -pr a b && ssh -p2222 host", "mkdir -pv /tmp/x && cp -pr a b && ssh -p2222 host"),
        ("mysql -h db -P 3306 -u root -p app", "mysql -h db -P 3306 -u root -p app"),
        ("docker run -p 8080:80 nginx", "docker run -p 8080:80 nginx"),
        (
            "https://example.com:8443/a?b=c@d mail me@example.com",
            "https://example.com:8443/a?b=c@d mail me@example.com",
        ),
        (
            "atlas_writer_queue_depth 3, atlas_20240101_120000.db.gz",
            "atlas_writer_queue_depth 3, atlas_20240101_120000.db.gz",
        ),
        ("AKIA is a prefix; AKIAABCDEFGHIJKLMNOPQ is too long", "AKIA is a prefix; AKIAABCDEFGHIJKLMNOPQ is too long"),
        ("Basic setup, ßtraße 😀 é", "Basic setup, ßtraße 😀 é"),
        ("", ""),
        (r#"["ls","-l","-p","/tmp"]"#, r#"["ls","-l","-p","/tmp"]"#),
        (r#"["deploy","--password-file","/etc/pw"]"#, r#"["deploy","--password-file","/etc/pw"]"#),
        ("https://hooks.slack.com/ is where it goes", "https://hooks.slack.com/ is where it goes"),
        ("the machine has no password set", "the machine has no password set"),
        // --- accepted over-redaction: a conventional-commit style title whose scope is a secret key name
        ("auth: fix login", "auth: [REDACTED] login"),
    ];

    #[test]
    fn the_table_of_true_and_false_positives() {
        let mut wrong = Vec::new();
        for &(input, expected) in TABLE {
            let got = redact(input);
            if got != expected {
                wrong.push(format!("{input:?}\n   got {got:?}\n  want {expected:?}\n  shapes {:?}", shapes_in(input)));
            }
            assert_eq!(redact(&got), got, "idempotent on {input:?}");
        }
        assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), TABLE.len(), wrong.join("\n"));
    }

    #[test]
    fn every_shape_is_exercised_by_the_table() {
        let used: Vec<&str> = TABLE.iter().filter(|(i, o)| i != o).flat_map(|(input, _)| shapes_in(input)).collect();
        for (name, _, _) in CATALOGUE {
            assert!(used.contains(name), "no table case redacts with {name}");
        }
    }

    #[test]
    fn long_text_is_cut_to_the_limit_in_characters_with_a_marker() {
        let long = "x".repeat(5000);
        let out = cell(&long);
        assert_eq!(out.chars().count(), MAX_CELL_CHARS);
        assert!(out.ends_with(" […truncated, 5000 characters in Atlas]"), "{out}");
        // Multi-byte characters count once each.
        let wide = "İ".repeat(MAX_CELL_CHARS);
        assert_eq!(cell(&wide), wide);
        let wider = "😀".repeat(MAX_CELL_CHARS + 1);
        let out = cell(&wider);
        assert_eq!(out.chars().count(), MAX_CELL_CHARS);
        assert!(out.starts_with("😀😀") && out.ends_with("1001 characters in Atlas]"), "{out}");
        assert_eq!(cell("short"), "short");
    }

    #[test]
    fn show_says_what_was_hidden() {
        let plain = show("Fix token expiry bug");
        assert_eq!((plain.redacted, plain.truncated, plain.partial()), (false, false, false));
        let secret = show("password=hunter2");
        assert_eq!((secret.text.as_str(), secret.redacted, secret.truncated), ("password=[REDACTED]", true, false));
        assert!(secret.partial());
        let long = show(&format!("{} token=abc", "x".repeat(2000)));
        assert_eq!((long.redacted, long.truncated, long.partial()), (true, true, true));
        // Text that already reads [REDACTED] has nothing more hidden.
        assert!(!show("password=[REDACTED]").redacted);
    }

    #[test]
    fn text_whose_redaction_uncovers_a_shape_still_settles() {
        // Found by the property tests below: hiding one secret changed the context of another.
        let cases = [
            // the END line no longer blocks `-p`'s value
            ("mysql -p-----BEGIN RSA PRIVATE KEY----------END RSA PRIVATE KEY-----password", "mysql -p[REDACTED]"),
            // the `&` inside the key no longer ends the mysql command
            (
                "mysql -----BEGIN RSA PRIVATE KEY-----&-----END RSA PRIVATE KEY----- -ppassword",
                "mysql [REDACTED] -p[REDACTED]",
            ),
            (
                "<password>-----BEGIN RSA PRIVATE KEY-----<password>-----END RSA PRIVATE KEY-----pw<password>",
                "<password>[REDACTED]<password>",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input:?}");
            assert_eq!(redact(expected), expected);
        }
    }

    /// Pieces that secret shapes are made of, glued at random so that shapes meet, overlap and break off.
    fn fragments() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "password",
            "pwd",
            "pass",
            "token",
            "auth",
            "Authorization",
            "api_key",
            "secret",
            "DB_",
            "x-",
            "--",
            "-p",
            " -p",
            "mysql ",
            "sshpass ",
            "curl -u ",
            "redis-cli ",
            "-a ",
            "=",
            ":",
            "::",
            ": ",
            "=>",
            " ",
            "\t",
            "\n",
            "\"",
            "'",
            "\\",
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            "<",
            ">",
            "&",
            ",",
            ";",
            "@",
            "/",
            "?",
            "#",
            ".",
            "_",
            "-",
            "Bearer ",
            "Basic ",
            "https://",
            "u:p@h",
            "user:",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJ",
            "AKIA",
            "ASIA",
            "ABCDEFGHIJKLMNOP",
            "0123456789abcdef0123",
            "aB3dE6gH9jK2mN5pQ8sT",
            "sk-",
            "ghp_",
            "github_pat_",
            "xoxb-",
            "xoxp-",
            "AIza",
            "atlas_",
            "sk_live_",
            "bot123456:",
            "task-01J",
            "disk-usage",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----",
            "<password>",
            REDACTED,
            "[REDACTED",
            "İ",
            "ß",
            "😀",
            "e\u{301}",
            "\u{200d}",
            "ǅ",
            "ﬃ",
            "K",
        ]);
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    fn holds(text: &str) -> Result<(), TestCaseError> {
        let once = redact(text);
        prop_assert_eq!(redact(&once), once.clone(), "idempotent");
        let shown = show(text);
        prop_assert!(shown.text.chars().count() <= MAX_CELL_CHARS);
        prop_assert_eq!(shown.truncated, once.chars().count() > MAX_CELL_CHARS);
        prop_assert_eq!(shown.redacted, once != text);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_unicode_text_is_safe(text in any::<String>()) {
            holds(&text)?;
        }

        #[test]
        fn any_line_is_safe(text in prop::string::string_regex(".*").unwrap()) {
            holds(&text)?;
        }

        #[test]
        fn secret_fragments_glued_at_random_are_safe(text in fragments()) {
            holds(&text)?;
        }

        #[test]
        fn a_password_never_reaches_the_sheet(
            before in "[^0-9]{0,30}",
            after in "[^0-9]{0,30}",
            sep in prop::sample::select(vec!["=", ": ", " = ", "\": \"", "='"]),
            digits in "[0-9]{8,16}",
        ) {
            let secret = format!("Zq{digits}");
            let text = format!("{before} password{sep}{secret} {after}");
            prop_assert!(!redact(&text).contains(&secret), "{:?} -> {:?}", text, redact(&text));
        }
    }

    proptest! {
        // Texts past the cell limit, fewer of them: each is thousands of characters.
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn long_glued_text_is_cut_safely(parts in prop::collection::vec(fragments(), 20..60)) {
            holds(&parts.concat())?;
        }
    }
}
