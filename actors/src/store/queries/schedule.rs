//! What the scheduler remembers of each job.

use rusqlite::Connection;

#[derive(Clone, Debug, PartialEq)]
pub struct JobState {
    pub job: String,
    pub last_started_at: String,
    pub last_finished_at: String,
    pub last_outcome: String,
    pub last_detail: Option<String>,
}

pub fn all(conn: &Connection) -> rusqlite::Result<Vec<JobState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT job, last_started_at, last_finished_at, last_outcome, last_detail FROM schedule_state ORDER BY job",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(JobState {
            job: row.get(0)?,
            last_started_at: row.get(1)?,
            last_finished_at: row.get(2)?,
            last_outcome: row.get(3)?,
            last_detail: row.get(4)?,
        })
    })?;
    rows.collect()
}
