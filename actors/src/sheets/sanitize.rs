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
#[path = "sanitize_tests.rs"]
mod tests;
