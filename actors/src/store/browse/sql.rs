//! The data browser's SQL box: one read-only statement under the browser's guards (`guard.rs`), a time
//! limit and a row cap. Every refusal names the guard that refused.

use super::guard::{Guarded, Secrets};
use super::value::{answer_bytes, to_json};
use rusqlite::Connection;
use std::time::{Duration, Instant};

/// What a query may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqlLimits {
    pub time_limit: Duration,
    pub max_rows: usize,
    /// The reader is a viewer: payload columns (`guard::PAYLOAD_COLUMNS`) read as NULL.
    pub hide_payloads: bool,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SqlAnswer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows than `max_rows` matched, or more than `MAX_ANSWER_BYTES`; the rest were not read.
    pub truncated: bool,
    pub elapsed_ms: u64,
}

/// Why a query was not answered; each names its guard.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SqlRefusal {
    #[error("statement kind: the SQL is empty")]
    Empty,
    #[error("statement kind: only one statement is allowed")]
    SeveralStatements,
    #[error("statement kind: only SELECT, WITH or EXPLAIN statements are allowed, this one starts with {0:?}")]
    NotARead(String),
    #[error("statement kind: SQLite says this statement would write (an EXPLAIN of a write included)")]
    Writes,
    #[error("time limit: the query ran longer than {0} ms and was stopped")]
    TimeLimit(u128),
    #[error("not allowed: {0}")]
    NotAuthorized(String),
    #[error("complexity: its CTEs expand to {0} copies, more than {max} (each mention of a CTE copies it)", max = super::complexity::MAX_EXPANSION)]
    TooManyCopies(u64),
    #[error("complexity: a query with WITH must be one the browser can parse to bound its size: {0}")]
    Unreadable(String),
    #[error("memory limit: the query needed more memory than the browser allows (browser.sql_memory_mb)")]
    OutOfMemory,
    #[error("the query failed: {0}")]
    Failed(String),
}

/// The first word of `sql` after leading whitespace and comments, upper-cased.
fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, next)| next);
        } else {
            break;
        }
    }
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    if word.is_empty() {
        rest.chars().take(12).collect()
    } else {
        word.to_ascii_uppercase()
    }
}

/// Opens the database read-only (and `query_only`), as the read pool does, and runs `sql` on it: the
/// entry of the child process a browser query runs in.
pub fn run_on_file(path: &std::path::Path, sql: &str, limits: SqlLimits) -> Result<SqlAnswer, SqlRefusal> {
    let conn = crate::store::open::read_only(path).map_err(|e| SqlRefusal::Failed(e.to_string()))?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 1000; PRAGMA temp_store = FILE;")
        .map_err(|e| SqlRefusal::Failed(e.to_string()))?;
    run(&conn, sql, limits)
}

/// Runs `sql` on `conn` (a read-only connection) under the browser's guards.
pub fn run(conn: &Connection, sql: &str, limits: SqlLimits) -> Result<SqlAnswer, SqlRefusal> {
    if sql.trim().is_empty() || first_keyword(sql).is_empty() {
        return Err(SqlRefusal::Empty);
    }
    let keyword = first_keyword(sql);
    if !matches!(keyword.as_str(), "SELECT" | "WITH" | "EXPLAIN") {
        return Err(SqlRefusal::NotARead(keyword));
    }
    match super::complexity::check(sql) {
        Ok(_) => {}
        Err(super::complexity::Shape::TooBig(copies)) => return Err(SqlRefusal::TooManyCopies(copies)),
        Err(super::complexity::Shape::Unreadable(why)) => return Err(SqlRefusal::Unreadable(why)),
    }
    let started = Instant::now();
    let guarded = Guarded::new(conn, limits.time_limit, Secrets::RefuseTable, limits.hide_payloads)
        .map_err(|e| SqlRefusal::Failed(e.to_string()))?;
    let failed = |e: rusqlite::Error| refusal(&guarded, limits, e);
    let mut statement = guarded.conn().prepare(sql).map_err(failed)?;
    if !statement.readonly() {
        return Err(SqlRefusal::Writes);
    }
    let columns: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let (mut truncated, mut bytes) = (false, 0);
    let mut cursor = statement.raw_query();
    'rows: while let Some(row) = cursor.next().map_err(failed)? {
        if rows.len() == limits.max_rows {
            truncated = true;
            break;
        }
        // Counted value by value, so one very wide row stops at the cap instead of being copied whole.
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            let value = to_json(row.get_ref(i).map_err(failed)?);
            bytes += answer_bytes(&value);
            if bytes > super::MAX_ANSWER_BYTES {
                truncated = true;
                break 'rows;
            }
            values.push(value);
        }
        rows.push(values);
    }
    Ok(SqlAnswer { columns, rows, truncated, elapsed_ms: started.elapsed().as_millis() as u64 })
}

fn refusal(guarded: &Guarded<'_>, limits: SqlLimits, e: rusqlite::Error) -> SqlRefusal {
    match e {
        _ if guarded.timed_out() => SqlRefusal::TimeLimit(limits.time_limit.as_millis()),
        rusqlite::Error::MultipleStatement => SqlRefusal::SeveralStatements,
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::OutOfMemory => {
            SqlRefusal::OutOfMemory
        }
        rusqlite::Error::SqliteFailure(code, message)
            if code.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            SqlRefusal::NotAuthorized(message.unwrap_or_else(|| "not authorized".into()))
        }
        other => SqlRefusal::Failed(other.to_string()),
    }
}
