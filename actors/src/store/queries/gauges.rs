//! Counts read at scrape time for `/metrics`: runs by state, pending approvals, unresolved errors.

use rusqlite::{Connection, OptionalExtension};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gauges {
    pub runs_by_state: Vec<(String, i64)>,
    pub pending_approvals: i64,
    pub oldest_pending_requested_at: Option<String>,
    pub unresolved_errors_by_severity: Vec<(String, i64)>,
}

fn grouped(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut statement = conn.prepare(sql)?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub fn read(conn: &Connection) -> rusqlite::Result<Gauges> {
    let (pending_approvals, oldest_pending_requested_at) = conn
        .query_row("SELECT count(*), min(requested_at) FROM approvals WHERE status = 'pending'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0, None));
    Ok(Gauges {
        runs_by_state: grouped(conn, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status")?,
        pending_approvals,
        oldest_pending_requested_at,
        unresolved_errors_by_severity: grouped(
            conn,
            "SELECT severity, count(*) FROM errors WHERE resolved = 0 GROUP BY severity ORDER BY severity",
        )?,
    })
}
