//! What leaves for the sheet: secrets redacted, long text cut with a marker. Values are written with the
//! RAW input option, so nothing here becomes a formula either.

/// Longest cell Atlas writes, in characters.
pub const MAX_CELL_CHARS: usize = 1000;
pub const REDACTED: &str = "[REDACTED]";

/// Words after which the next value is a secret (`password=…`, `token: …`, `Authorization: Bearer …`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "bearer",
];

fn redact_key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lower = text.to_lowercase();
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let hit = SECRET_KEYS
            .iter()
            .find(|key| lower[i..].starts_with(**key) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()));
        let Some(key) = hit else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let mut j = i + key.len();
        // the separator: optional quotes/spaces, then `=` or `:` (or a space after "bearer")
        let rest = &text[j..];
        let sep_len = rest.len() - rest.trim_start_matches(['"', '\'', ' ', '=', ':']).len();
        if sep_len == 0 {
            out.push_str(&text[i..j]);
            i = j;
            continue;
        }
        j += sep_len;
        let end_of_value = |from: usize| {
            text[from..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '&' | '}'))
                .unwrap_or(text.len() - from)
        };
        let mut value_len = end_of_value(j);
        let value = &text[j..j + value_len];
        if value.eq_ignore_ascii_case("bearer") || value.eq_ignore_ascii_case("basic") {
            // An auth scheme: the credential is the next word.
            let gap = text[j + value_len..].len() - text[j + value_len..].trim_start_matches(' ').len();
            value_len += gap + end_of_value(j + value_len + gap);
        }
        out.push_str(&text[i..j]);
        if value_len > 0 {
            out.push_str(REDACTED);
        }
        i = j + value_len;
    }
    out
}

fn redact_known_shapes(text: &str) -> String {
    let mut out = text.to_owned();
    // PEM private keys, whole blocks.
    while let Some(start) = out.find("-----BEGIN") {
        if !out[start..].contains("PRIVATE KEY-----") {
            break;
        }
        let end = out[start..]
            .find("-----END")
            .and_then(|e| out[start + e..].find("KEY-----").map(|k| start + e + k + 8))
            .unwrap_or(out.len());
        out.replace_range(start..end, REDACTED);
    }
    // Tokens with well-known prefixes.
    for prefix in ["atlas_", "AKIA", "ghp_", "xoxb-", "sk-"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(prefix).map(|p| p + from) {
            let len = out[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(out.len() - at);
            if len >= prefix.len() + 12 {
                out.replace_range(at..at + len, REDACTED);
                from = at + REDACTED.len();
            } else {
                from = at + prefix.len();
            }
        }
    }
    out
}

/// What a cell shows and whether it is the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    pub redacted: bool,
    pub truncated: bool,
}

impl Shown {
    pub fn partial(&self) -> bool {
        self.redacted || self.truncated
    }
}

/// Like `cell`, saying whether anything was redacted or cut.
pub fn show(text: &str) -> Shown {
    let clean = redact_known_shapes(&redact_key_values(text));
    let redacted = clean != text;
    let text = cell(text);
    Shown { truncated: text.chars().count() < clean.chars().count() || text != clean, redacted, text }
}

/// A cell's text as it may appear in the sheet.
pub fn cell(text: &str) -> String {
    let clean = redact_known_shapes(&redact_key_values(text));
    let chars = clean.chars().count();
    if chars <= MAX_CELL_CHARS {
        return clean;
    }
    let marker = format!(" […truncated, {chars} characters in Atlas]");
    let keep = MAX_CELL_CHARS.saturating_sub(marker.chars().count());
    clean.chars().take(keep).collect::<String>() + &marker
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_their_usual_shapes() {
        let cases = [
            ("deploy --password=hunter2 --fast", "deploy --password=[REDACTED] --fast"),
            ("{\"api_key\": \"abc123\", \"n\": 1}", "{\"api_key\": \"[REDACTED]\", \"n\": 1}"),
            ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: [REDACTED]"),
            ("token atlas_0123456789abcdef0123 leaked", "token [REDACTED] leaked"),
            ("AWS AKIAABCDEFGHIJKLMNOP here", "AWS [REDACTED] here"),
            ("k=-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done", "k=[REDACTED] done"),
        ];
        for (input, expected) in cases {
            assert_eq!(cell(input), expected, "{input}");
        }
        assert_eq!(cell("tokens are fine as a word"), "tokens are fine as a word");
    }

    #[test]
    fn long_text_is_cut_to_the_limit_with_a_marker() {
        let long = "x".repeat(5000);
        let out = cell(&long);
        assert_eq!(out.chars().count(), MAX_CELL_CHARS);
        assert!(out.ends_with("[…truncated, 5000 characters in Atlas]"), "{}", &out[900..]);
        assert_eq!(cell("short"), "short");
    }
}
