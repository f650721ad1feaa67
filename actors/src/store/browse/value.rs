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

/// About how many bytes `value` takes in the JSON answer (strings by their length).
pub fn answer_bytes(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::String(s) => s.len() + 2,
        _ => 8,
    }
}
