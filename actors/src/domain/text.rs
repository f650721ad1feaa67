//! Echoing input back (in error messages, refusal notes) without echoing all of it.

/// Longest piece of a caller's input an error message repeats.
pub const ECHO_CHARS: usize = 100;

/// `text` quoted as a Rust string literal (control characters escaped), cut to `ECHO_CHARS` characters
/// with the full length named: a 20 KB id never comes back whole, and a newline in it never forges a line.
pub fn clip(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= ECHO_CHARS {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(ECHO_CHARS).collect();
    format!("{head:?}… ({chars} characters)")
}

/// `text` cut to `ECHO_CHARS` characters (`…` marks the cut), unquoted: for a message that already says
/// what the text is.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_and_control_characters_escaped() {
        assert_eq!(clip("task-1"), "\"task-1\"");
        assert_eq!(clip("a\nforged: line\0"), "\"a\\nforged: line\\0\"");
        let long = "x".repeat(20_000);
        let echoed = clip(&long);
        assert!(echoed.len() < 140 && echoed.ends_with("… (20000 characters)"), "{echoed}");
        assert!(clip(&"İ".repeat(200)).ends_with("(200 characters)"), "counts characters, not bytes");
    }
}
