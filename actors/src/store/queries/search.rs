//! Search over projects, tasks, approvals, runs and errors (the index `store/search.rs` keeps). A query
//! is words, each of three or more characters (the trigram index matches no shorter), all of which must
//! occur, anywhere and in any case: what `LIKE '%word%'` over the same text finds, from an index.

use rusqlite::{params, Connection};

/// Results shown at most.
pub const MAX_HITS: usize = 50;

/// One record found.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// project | task | approval | run | error
    pub kind: String,
    pub id: String,
    pub title: String,
    pub body: String,
}

/// Why a query cannot run, as a sentence for the person who typed it.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("type a word to search for")]
    Empty,
    #[error("{0:?} is shorter than 3 characters: the search matches words of 3 or more")]
    Short(String),
    #[error("a search cannot hold control characters (a NUL, a tab, …)")]
    Control,
    #[error("{0}")]
    Storage(String),
}

/// The words of a query, lowercased, each at least three characters (no more than eight).
pub fn words(query: &str) -> Result<Vec<String>, QueryError> {
    if query.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(QueryError::Control);
    }
    let words: Vec<String> = query.split_whitespace().take(8).map(str::to_lowercase).collect();
    if words.is_empty() {
        return Err(QueryError::Empty);
    }
    if let Some(short) = words.iter().find(|w| w.chars().count() < 3) {
        return Err(QueryError::Short(short.clone()));
    }
    Ok(words)
}

/// The FTS5 query for `words`: each a quoted string (quotes doubled), all required.
fn match_expression(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ")
}

/// The first `limit` matches of all `words`, newest record first. Not by relevance: FTS5 ranks (bm25) by
/// scoring every match, 76 ms for a word in each of 100,000 tasks, while in rowid order it stops at the
/// limit (BENCHMARKS.md, `atlas-bench console`).
pub fn search(conn: &Connection, words: &[String], limit: usize) -> Result<Vec<Hit>, QueryError> {
    let storage = |e: rusqlite::Error| QueryError::Storage(e.to_string());
    let mut stmt = conn
        .prepare_cached(
            "SELECT d.kind, d.id, t.title, t.body FROM search_text t JOIN search_docs d ON d.rowid = t.rowid \
             WHERE search_text MATCH ?1 ORDER BY t.rowid DESC LIMIT ?2",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![match_expression(words), limit as i64], |row| {
            Ok(Hit {
                kind: row.get(0)?,
                id: row.get(1)?,
                title: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                body: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })
        .map_err(storage)?;
    rows.collect::<rusqlite::Result<_>>().map_err(storage)
}

/// Whether `text` holds every word (case aside), as the index judged: for re-checking a hit on text shown
/// differently (a viewer's redacted copy).
pub fn holds_all(text: &str, words: &[String]) -> bool {
    let text = text.to_lowercase();
    words.iter().all(|w| text.contains(w.as_str()))
}

/// `text` cut to about `width` characters around the first word found, as (piece, is_match) parts.
pub fn excerpt(text: &str, words: &[String], width: usize) -> Vec<(String, bool)> {
    let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let chars: Vec<char> = text.chars().collect();
    if lower.len() != chars.len() {
        // A character whose lowercase is longer: show the start, unmarked, rather than misplace marks.
        return vec![(chars.iter().take(width).collect(), false)];
    }
    let patterns: Vec<Vec<char>> = words.iter().map(|w| w.chars().collect()).collect();
    let found_at = |i: usize| patterns.iter().find(|p| lower[i..].starts_with(p)).map(Vec::len);
    let first = (0..lower.len()).find(|&i| found_at(i).is_some()).unwrap_or(0);
    let start = first.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut i = start;
    while i < end {
        let (len, marked) = match found_at(i) {
            Some(len) => (len.min(end - i), true),
            None => (1, false),
        };
        let piece: String = chars[i..i + len].iter().collect();
        match parts.last_mut() {
            Some((text, was)) if *was == marked && !marked => text.push_str(&piece),
            _ => parts.push((piece, marked)),
        }
        i += len;
    }
    if start > 0 {
        parts.insert(0, ("…".into(), false));
    }
    if end < chars.len() {
        parts.push(("…".into(), false));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(query: &str) -> Vec<String> {
        words(query).unwrap()
    }

    #[test]
    fn a_query_is_words_of_three_or_more_characters() {
        assert_eq!(words("  Deploy   FAILED "), Ok(vec!["deploy".to_owned(), "failed".to_owned()]));
        assert_eq!(words("   "), Err(QueryError::Empty));
        assert_eq!(words("db up"), Err(QueryError::Short("db".into())));
        assert_eq!(words("abc\0def"), Err(QueryError::Control), "FTS5 would stop reading at the NUL");
        assert_eq!(match_expression(&words_of("say \"hi\"")), "\"say\" AND \"\"\"hi\"\"\"");
    }

    #[test]
    fn an_excerpt_marks_every_word_around_the_first() {
        let parts =
            excerpt("Every night at two: the nightly deploy FAILED at step 3; deploy again", &words_of("deploy"), 52);
        let marked: Vec<&str> = parts.iter().filter(|(_, m)| *m).map(|(t, _)| t.as_str()).collect();
        assert_eq!(marked, ["deploy", "deploy"]);
        let joined: String = parts.iter().map(|(t, _)| t.as_str()).collect();
        assert!(joined.starts_with("…") && joined.contains("nightly deploy FAILED"), "{joined}");
    }
}
