//! The Sheets sync state of each direction.

use rusqlite::Connection;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncState {
    pub direction: String,
    pub last_attempt_at: String,
    pub last_success_at: Option<String>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_requests: i64,
    pub edits_applied: i64,
    pub edits_rejected: i64,
    /// Since when this direction has been failing or deferred (`None` while it succeeds).
    pub failing_since: Option<String>,
}

pub fn all(conn: &Connection) -> rusqlite::Result<Vec<SyncState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT direction, last_attempt_at, last_success_at, consecutive_failures, last_error, last_requests, \
         edits_applied, edits_rejected, failing_since FROM sync_state ORDER BY direction",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(SyncState {
            direction: row.get(0)?,
            last_attempt_at: row.get(1)?,
            last_success_at: row.get(2)?,
            consecutive_failures: row.get(3)?,
            last_error: row.get(4)?,
            last_requests: row.get(5)?,
            edits_applied: row.get(6)?,
            edits_rejected: row.get(7)?,
            failing_since: row.get(8)?,
        })
    })?;
    rows.collect()
}
