//! The scheduler's memory: when each job last ran and how it went.

use super::{storage, Touched};
use crate::domain::{Applied, CommandError};
use rusqlite::{params, Connection};

pub(super) fn record(
    conn: &Connection,
    job: &str,
    started_at: &str,
    finished_at: &str,
    ok: bool,
    detail: &str,
) -> Result<Touched, CommandError> {
    conn.prepare_cached(
        "INSERT INTO schedule_state (job, last_started_at, last_finished_at, last_outcome, last_detail) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (job) DO UPDATE SET last_started_at = excluded.last_started_at, \
         last_finished_at = excluded.last_finished_at, last_outcome = excluded.last_outcome, last_detail = excluded.last_detail",
    )
    .and_then(|mut stmt| stmt.execute(params![job, started_at, finished_at, if ok { "success" } else { "failed" }, detail]))
    .map_err(storage)?;
    Ok(Touched::new("schedule", job, None, Applied::JobRecorded))
}
