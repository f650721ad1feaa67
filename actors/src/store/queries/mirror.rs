//! What the Sheets mirror shows, straight from the source of truth.

use super::{approvals, hotlist, runs};
use crate::domain::{Approval, HotlistError, Note, Run};
use rusqlite::Connection;

/// Pending approvals and those decided since `decided_since`, oldest request first.
pub fn approvals(conn: &Connection, decided_since: &str) -> rusqlite::Result<Vec<Approval>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM approvals WHERE status = 'pending' OR reviewed_at >= ?1 ORDER BY requested_at, id",
    )?;
    let ids = stmt.query_map([decided_since], |row| {
        super::decode(0, crate::domain::ApprovalId::parse(&row.get::<_, String>(0)?))
    })?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(approval) = approvals::get(conn, &id?)? {
            out.push(approval);
        }
    }
    Ok(out)
}

/// The newest `limit` runs, oldest first.
pub fn runs(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<(Run, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, t.title FROM runs r LEFT JOIN tasks t ON t.id = r.task_id ORDER BY r.created_at DESC, r.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, title) = row?;
        if let Some(run) = runs::get(conn, &super::decode(0, crate::domain::RunId::parse(&id))?)? {
            out.push((run, title));
        }
    }
    out.reverse();
    Ok(out)
}

/// Unresolved errors and those resolved since `resolved_since`, oldest first, with their task's title.
pub fn errors(conn: &Connection, resolved_since: &str) -> rusqlite::Result<Vec<(HotlistError, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, t.title FROM errors e LEFT JOIN tasks t ON t.id = e.task_id \
         WHERE e.resolved = 0 OR e.resolved_at >= ?1 ORDER BY e.occurred_at, e.id",
    )?;
    let rows =
        stmt.query_map([resolved_since], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, title) = row?;
        if let Some(error) = hotlist::get(conn, &super::decode(0, crate::domain::ErrorId::parse(&id))?)? {
            out.push((error, title));
        }
    }
    Ok(out)
}

/// Notes as one cell: `author (time): body` per line.
pub fn render_notes(notes: &[Note]) -> String {
    notes.iter().map(|n| format!("{} ({}): {}", n.author, n.created_at, n.body)).collect::<Vec<_>>().join("\n")
}
