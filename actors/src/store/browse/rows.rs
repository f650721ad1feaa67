//! One table's rows for the data browser: exact-match column filters, a sort on a column an index
//! serves, keyset pages (an opaque cursor of the last row's sort value and rowid, NULLs first going up and
//! last going down, as SQLite orders them), under the browser's guards.

use super::guard::{Guarded, Secrets};
use super::tables::{columns, names, quoted};
use super::value::{answer_bytes, to_json};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::time::Duration;

/// What to show of a table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowsRequest {
    /// A sortable column and whether newest/largest first; None: by rowid, newest first.
    pub sort: Option<(String, bool)>,
    /// `column = value`, all of them.
    pub filters: Vec<(String, String)>,
    pub limit: usize,
    pub cursor: Option<String>,
    /// The reader is a viewer: payload columns (`guard::PAYLOAD_COLUMNS`) read as NULL, and cannot filter.
    pub hide_payloads: bool,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RowsPage {
    /// `rowid` first, then the table's columns.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub next_cursor: Option<String>,
}

/// Why a page was not answered; each names the parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RowsRefusal {
    #[error("table: there is no table {0:?}")]
    NoTable(String),
    #[error("{0}: there is no such column in this table")]
    NoColumn(String),
    #[error("sort: {0:?} has no index to sort on; sortable columns: {1}")]
    NotSortable(String, String),
    #[error("{0}: this column is hidden and cannot be filtered on")]
    Hidden(String),
    #[error("cursor: not a cursor of this table and sort")]
    BadCursor,
    #[error("time limit: the page took longer than {0} ms and was stopped")]
    TimeLimit(u128),
    #[error("the query failed: {0}")]
    Failed(String),
}

fn failed(e: rusqlite::Error) -> RowsRefusal {
    RowsRefusal::Failed(e.to_string())
}

/// A cursor: the last row's sort value (JSON) and rowid, hex-encoded.
fn encode_cursor(value: &serde_json::Value, rowid: i64) -> String {
    hex::encode(serde_json::json!([value, rowid]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<(Value, i64), RowsRefusal> {
    let text = hex::decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(RowsRefusal::BadCursor)?;
    let parsed: (serde_json::Value, i64) = serde_json::from_str(&text).map_err(|_| RowsRefusal::BadCursor)?;
    let value = match parsed.0 {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(n) if n.is_i64() => Value::Integer(n.as_i64().unwrap_or_default()),
        serde_json::Value::Number(n) => Value::Real(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Value::Text(s),
        _ => return Err(RowsRefusal::BadCursor),
    };
    Ok((value, parsed.1))
}

/// The keyset condition after the cursor row, for `column` in the given direction.
fn after_cursor(column: &str, descending: bool, value_is_null: bool) -> String {
    match (descending, value_is_null) {
        (false, true) => format!("(({column} IS NULL AND rowid > ?) OR {column} IS NOT NULL)"),
        (false, false) => format!("({column} > ? OR ({column} = ? AND rowid > ?))"),
        (true, true) => format!("({column} IS NULL AND rowid < ?)"),
        (true, false) => format!("({column} < ? OR ({column} = ? AND rowid < ?) OR {column} IS NULL)"),
    }
}

pub fn page(
    conn: &Connection,
    table: &str,
    request: &RowsRequest,
    time_limit: Duration,
) -> Result<RowsPage, RowsRefusal> {
    if !names(conn).map_err(failed)?.iter().any(|n| n == table) {
        return Err(RowsRefusal::NoTable(table.to_owned()));
    }
    let columns = columns(conn, table).map_err(failed)?;
    let find = |name: &str| columns.iter().find(|c| c.name == name);
    let mut conditions = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    for (column, value) in &request.filters {
        let info = find(column).ok_or_else(|| RowsRefusal::NoColumn(column.clone()))?;
        if info.hidden || (request.hide_payloads && super::guard::is_payload(table, column)) {
            return Err(RowsRefusal::Hidden(column.clone()));
        }
        conditions.push(format!("{} = ?", quoted(column)));
        params.push(Value::Text(value.clone()));
    }
    let (sort_column, descending) = match &request.sort {
        None => ("rowid".to_owned(), true),
        Some((name, descending)) => {
            let info = find(name).filter(|c| c.sortable && !c.hidden).ok_or_else(|| {
                let sortable: Vec<&str> = columns.iter().filter(|c| c.sortable).map(|c| c.name.as_str()).collect();
                RowsRefusal::NotSortable(name.clone(), sortable.join(", "))
            })?;
            (quoted(&info.name), *descending)
        }
    };
    if let Some(cursor) = &request.cursor {
        let (value, rowid) = decode_cursor(cursor)?;
        if request.sort.is_none() {
            conditions.push("rowid < ?".into());
            params.push(Value::Integer(rowid));
        } else {
            let is_null = value == Value::Null;
            conditions.push(after_cursor(&sort_column, descending, is_null));
            if !is_null {
                params.push(value.clone());
                params.push(value);
            }
            params.push(Value::Integer(rowid));
        }
    }
    let direction = if descending { "DESC" } else { "ASC" };
    let order = if request.sort.is_none() {
        format!("rowid {direction}")
    } else {
        format!("{sort_column} {direction}, rowid {direction}")
    };
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let sql = format!("SELECT rowid, * FROM {}{filter} ORDER BY {order} LIMIT {}", quoted(table), request.limit + 1);
    let guarded = Guarded::new(conn, time_limit, Secrets::Hide, request.hide_payloads).map_err(failed)?;
    let interrupted = |e: rusqlite::Error| {
        if guarded.timed_out() {
            RowsRefusal::TimeLimit(time_limit.as_millis())
        } else {
            failed(e)
        }
    };
    let mut statement = guarded.conn().prepare(&sql).map_err(interrupted)?;
    let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
    let sort_index = match &request.sort {
        None => 0,
        Some((name, _)) => names.iter().skip(1).position(|n| n == name).map_or(0, |i| i + 1),
    };
    let mut rows = Vec::new();
    let mut cursor = statement.query(rusqlite::params_from_iter(params.iter())).map_err(interrupted)?;
    let (mut more, mut bytes) = (false, 0);
    while let Some(row) = cursor.next().map_err(interrupted)? {
        let values = (0..names.len()).map(|i| row.get_ref(i).map(to_json)).collect::<rusqlite::Result<Vec<_>>>();
        let values = values.map_err(interrupted)?;
        bytes += values.iter().map(answer_bytes).sum::<usize>();
        // A page ends at `limit` rows or at the answer's byte cap; the cursor goes on from its last row.
        if rows.len() == request.limit || (bytes > super::MAX_ANSWER_BYTES && !rows.is_empty()) {
            more = true;
            break;
        }
        rows.push(values);
    }
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|last: &Vec<serde_json::Value>| encode_cursor(&last[sort_index], last[0].as_i64().unwrap_or_default()));
    Ok(RowsPage { columns: names, rows, next_cursor })
}
