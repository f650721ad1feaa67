//! SQLite values as JSON for the browser: numbers and text as they are, blobs by their size (the
//! browser shows data, it does not ship files).

use rusqlite::types::ValueRef;

pub fn to_json(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or_else(|| f.to_string().into(), Into::into),
        ValueRef::Text(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
        ValueRef::Blob(bytes) => format!("<blob of {} bytes>", bytes.len()).into(),
    }
}

/// About how many bytes `value` takes in the JSON answer: strings as JSON writes them, a control
/// character as its six-byte `\u00XX` escape, so a text of control characters cannot pass the cap at a
/// sixth of its real size.
pub fn answer_bytes(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::String(s) => {
            s.len() + 2 + s.bytes().filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\').count() * 5
        }
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_count_as_their_escapes() {
        let text = serde_json::Value::String("\u{1}\u{1}a".into());
        assert_eq!(super::answer_bytes(&text), serde_json::to_string(&text).unwrap().len());
        let plain = serde_json::Value::String("plain".into());
        assert_eq!(super::answer_bytes(&plain), serde_json::to_string(&plain).unwrap().len());
    }
}
