//! One table's rows for the data browser: column filters (`filter.rs`), a sort on any column it may read
//! (through an index when one serves it; otherwise SQLite's top-N sort, under the time limit), keyset
//! pages both ways (an opaque cursor of a row's sort value and rowid, NULLs first going up and last going
//! down, as SQLite orders them; a page before a cursor is the page after it in the reverse order,
//! turned round), under the browser's guards.

use super::filter::View;
use super::guard::{Guarded, Secrets};
use super::tables::{quoted, ColumnInfo};
use super::value::{answer_bytes, to_json};
use crate::domain::text::cut as clip;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use std::time::Duration;

/// What to show of a table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowsRequest {
    /// A column and whether newest/largest first; None: by rowid, newest first.
    pub sort: Option<(String, bool)>,
    /// `key=value` filters as the query string has them (`filter::Filter::parse`), all of them.
    pub filters: Vec<(String, String)>,
    pub limit: usize,
    /// The rows after this cursor (a page's `next_cursor`).
    pub cursor: Option<String>,
    /// The rows before this cursor (a page's `prev_cursor`).
    pub before: Option<String>,
    /// The reader is a viewer: payload columns (`guard::PAYLOAD_COLUMNS`) read as NULL, and cannot filter.
    pub hide_payloads: bool,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RowsPage {
    /// `rowid` first, then the table's columns.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub next_cursor: Option<String>,
    /// Where the page before this one ends (None on the first page).
    pub prev_cursor: Option<String>,
}

/// Why a page was not answered; each names the parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RowsRefusal {
    #[error("table: there is no table {0:?}")]
    NoTable(String),
    #[error("{0}: there is no such column in this table")]
    NoColumn(String),
    #[error("sort: {0:?} cannot be sorted on; sortable columns: {1}")]
    NotSortable(String, String),
    #[error("{0}: {1}")]
    BadFilter(String, String),
    #[error("{0}: this column is hidden and cannot be filtered on")]
    Hidden(String),
    #[error("{0}: not a cursor of this table")]
    BadCursor(&'static str),
    #[error("{0}: the row this page ended on is gone; start again from the first page")]
    CursorGone(&'static str),
    #[error("before: give cursor (the next page) or before (the previous one), not both")]
    BothWays,
    #[error("time limit: the page took longer than {0} ms and was stopped")]
    TimeLimit(u128),
    #[error("the query failed: {0}")]
    Failed(String),
}

pub(super) fn failed(e: rusqlite::Error) -> RowsRefusal {
    RowsRefusal::Failed(e.to_string())
}

/// A cursor: the rowid of the row a page ended on, hex-encoded. Only the rowid: the sort value is read
/// again from that row, so a cursor neither grows with a long value nor carries text a viewer is shown
/// redacted.
fn encode_cursor(rowid: i64) -> String {
    hex::encode(format!("r{rowid}"))
}

fn decode_cursor(cursor: &str, param: &'static str) -> Result<i64, RowsRefusal> {
    let text = hex::decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(RowsRefusal::BadCursor(param))?;
    text.strip_prefix('r').and_then(|n| n.parse().ok()).ok_or(RowsRefusal::BadCursor(param))
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
    let mut view = View::open(conn, table, &request.filters, request.hide_payloads)?;
    let columns = std::mem::take(&mut view.columns);
    let (sort_column, descending) = match &request.sort {
        None => ("rowid".to_owned(), true),
        Some((name, descending)) => {
            let readable = |c: &&ColumnInfo| c.readable(table, request.hide_payloads);
            let info = columns.iter().filter(readable).find(|c| &c.name == name).ok_or_else(|| {
                let sortable: Vec<&str> = columns.iter().filter(readable).map(|c| c.name.as_str()).collect();
                RowsRefusal::NotSortable(clip(name), sortable.join(", "))
            })?;
            (info.expr(request.hide_payloads), *descending)
        }
    };
    // A page before a cursor: the page after it going the other way, turned round afterwards.
    let (from, backwards) = match (&request.cursor, &request.before) {
        (Some(_), Some(_)) => return Err(RowsRefusal::BothWays),
        (Some(after), None) => (Some(("cursor", after)), false),
        (None, Some(before)) => (Some(("before", before)), true),
        (None, None) => (None, false),
    };
    let reading_down = descending != backwards;
    let guarded = Guarded::new(conn, time_limit, Secrets::Hide, request.hide_payloads).map_err(failed)?;
    if let Some((param, cursor)) = from {
        let rowid = decode_cursor(cursor, param)?;
        if request.sort.is_none() {
            view.conditions.push(if reading_down { "rowid < ?" } else { "rowid > ?" }.into());
            view.params.push(Value::Integer(rowid));
        } else {
            // The sort value as that row holds it now, read as this reader reads it.
            let read = format!("SELECT {sort_column} FROM {} WHERE rowid = ?1", quoted(table));
            let value: Value = guarded
                .conn()
                .query_row(&read, [rowid], |r| r.get(0))
                .optional()
                .map_err(failed)?
                .ok_or(RowsRefusal::CursorGone(param))?;
            let is_null = value == Value::Null;
            view.conditions.push(after_cursor(&sort_column, reading_down, is_null));
            if !is_null {
                view.params.push(value.clone());
                view.params.push(value);
            }
            view.params.push(Value::Integer(rowid));
        }
    }
    let direction = if reading_down { "DESC" } else { "ASC" };
    let order = if request.sort.is_none() {
        format!("rowid {direction}")
    } else {
        format!("{sort_column} {direction}, rowid {direction}")
    };
    let filter = view.where_clause();
    // `AS rowid`: a table whose INTEGER PRIMARY KEY aliases the rowid would name both columns after it.
    let sql =
        format!("SELECT rowid AS rowid, * FROM {}{filter} ORDER BY {order} LIMIT {}", quoted(table), request.limit + 1);
    let interrupted = |e: rusqlite::Error| {
        if guarded.timed_out() {
            RowsRefusal::TimeLimit(time_limit.as_millis())
        } else {
            failed(e)
        }
    };
    let mut statement = guarded.conn().prepare(&sql).map_err(interrupted)?;
    let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    let mut cursor = statement.query(rusqlite::params_from_iter(view.params.iter())).map_err(interrupted)?;
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
    let key = |row: &Vec<serde_json::Value>| encode_cursor(row[0].as_i64().unwrap_or_default());
    if backwards {
        rows.reverse();
        // Going back, the rows after this page are the ones just left.
        let prev_cursor = more.then(|| rows.first().map(key)).flatten();
        let next_cursor = rows.last().map(key);
        return Ok(RowsPage { columns: names, rows, next_cursor, prev_cursor });
    }
    let next_cursor = more.then(|| rows.last().map(key)).flatten();
    let prev_cursor = from.and(rows.first().map(key));
    Ok(RowsPage { columns: names, rows, next_cursor, prev_cursor })
}
