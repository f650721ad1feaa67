//! Errors_Hotlist reads.

use super::decode;
use super::notes::{self, NoteSubject};
use super::paging::{Cursor, Listed, PageRequest, Select};
use crate::domain::{ErrorId, HotlistError, Severity, TaskId};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str =
    "id, task_id, error, occurred_at, severity, resolved, resolution, resolved_at, resolved_by, source";

fn from_row(row: &Row<'_>) -> rusqlite::Result<HotlistError> {
    let task: Option<String> = row.get(1)?;
    Ok(HotlistError {
        id: decode(0, ErrorId::parse(&row.get::<_, String>(0)?))?,
        task_id: task.map(|id| decode(1, TaskId::parse(&id))).transpose()?,
        error: row.get(2)?,
        occurred_at: row.get(3)?,
        severity: decode(4, row.get::<_, String>(4)?.parse())?,
        resolved: row.get::<_, i64>(5)? == 1,
        resolution: row.get(6)?,
        resolved_at: row.get(7)?,
        resolved_by: row.get(8)?,
        source: row.get(9)?,
        notes: Vec::new(),
    })
}

fn with_notes(conn: &Connection, mut error: HotlistError) -> rusqlite::Result<HotlistError> {
    error.notes = notes::for_subject(conn, NoteSubject::Error, error.id.as_str())?;
    Ok(error)
}

pub fn get(conn: &Connection, id: &ErrorId) -> rusqlite::Result<Option<HotlistError>> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM errors WHERE id = ?1"))?
        .query_row([id.as_str()], from_row)
        .optional()?;
    found.map(|error| with_notes(conn, error)).transpose()
}

#[derive(Clone, Debug, Default)]
pub struct ErrorFilter {
    pub resolved: Option<bool>,
    pub severity: Option<Severity>,
    /// Most severe first (then newest), or newest first.
    pub by_severity: bool,
}

/// A severity as a number to sort on, critical highest. The text of the index on it
/// (migration 0017): SQLite uses an index on an expression only for a query that repeats it exactly.
pub const SEVERITY_RANK: &str =
    "(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)";

fn rank(severity: Severity) -> i64 {
    match severity {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

/// Hotlist entries, newest first, or most severe first (with one severity chosen, that is newest first).
pub fn list(conn: &Connection, filter: &ErrorFilter, page: &PageRequest) -> rusqlite::Result<Listed<HotlistError>> {
    let select = Select::new(format!("SELECT {COLUMNS} FROM errors WHERE 1 = 1"))
        .eq("resolved", filter.resolved.map(i64::from))
        .eq("severity", filter.severity.map(|s| s.as_str().to_owned()));
    let listed = if filter.by_severity && filter.severity.is_none() {
        select.page_ranked(conn, SEVERITY_RANK, ("occurred_at", "id"), page, from_row, |e| Cursor {
            at: format!("{} {}", rank(e.severity), e.occurred_at),
            id: e.id.to_string(),
        })?
    } else {
        select.page(conn, "occurred_at", "id", false, page, from_row, |e| Cursor {
            at: e.occurred_at.clone(),
            id: e.id.to_string(),
        })?
    };
    let items = listed.items.into_iter().map(|e| with_notes(conn, e)).collect::<rusqlite::Result<_>>()?;
    Ok(Listed { items, next_cursor: listed.next_cursor })
}

/// Whether an unresolved entry from `source` with exactly this text exists (so a standing problem is
/// reported once, not every cycle).
/// The id of the unresolved entry from `source` saying exactly `error`, if there is one.
pub fn unresolved_id(conn: &Connection, source: &str, error: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT id FROM errors WHERE resolved = 0 AND source = ?1 AND error = ?2 ORDER BY occurred_at LIMIT 1",
    )?
    .query_row([source, error], |row| row.get(0))
    .optional()
}

pub fn unresolved_exists(conn: &Connection, source: &str, error: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM errors WHERE resolved = 0 AND source = ?1 AND error = ?2)")?
        .query_row([source, error], |row| row.get(0))
}
