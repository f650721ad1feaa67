//! Run reads.

use super::decode;
use super::notes::{self, NoteSubject};
use super::paging::{Cursor, Listed, PageRequest, Select};
use crate::domain::{ApprovalId, Run, RunId, RunStatus, TaskId};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, task_id, approval_id, command, cwd, timeout_s, status, exit_code, output, error_log, \
                       created_at, started_at, completed_at, executor, env";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Run> {
    let approval: Option<String> = row.get(2)?;
    Ok(Run {
        id: decode(0, RunId::parse(&row.get::<_, String>(0)?))?,
        task_id: decode(1, TaskId::parse(&row.get::<_, String>(1)?))?,
        approval_id: approval.map(|id| decode(2, ApprovalId::parse(&id))).transpose()?,
        command: decode(3, serde_json::from_str(&row.get::<_, String>(3)?))?,
        cwd: row.get(4)?,
        timeout_s: row.get(5)?,
        status: decode(6, row.get::<_, String>(6)?.parse())?,
        exit_code: row.get(7)?,
        output: row.get(8)?,
        error_log: row.get(9)?,
        created_at: row.get(10)?,
        started_at: row.get(11)?,
        completed_at: row.get(12)?,
        executor: row.get::<_, Option<String>>(13)?.map(|json| decode(13, serde_json::from_str(&json))).transpose()?,
        env: super::env_column(row, 14)?,
        notes: Vec::new(),
    })
}

fn with_notes(conn: &Connection, mut run: Run) -> rusqlite::Result<Run> {
    run.notes = notes::for_subject(conn, NoteSubject::Run, run.id.as_str())?;
    Ok(run)
}

pub fn get(conn: &Connection, id: &RunId) -> rusqlite::Result<Option<Run>> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"))?
        .query_row([id.as_str()], from_row)
        .optional()?;
    found.map(|run| with_notes(conn, run)).transpose()
}

/// The fingerprint stored when the run was queued.
pub fn command_hash(conn: &Connection, id: &RunId) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT command_hash FROM runs WHERE id = ?1")?.query_row([id.as_str()], |row| row.get(0))
}

/// A running run as recovery after a crash sees it.
pub struct RunProcess {
    pub run: String,
    /// Its process group and the leader's start time, as recorded (if they were).
    pub group: Option<(i64, i64)>,
    /// The Atlas instance that started it (`None`: recorded before runs named it, or never noted).
    pub instance: Option<String>,
    /// The Atlas process that spawned it: (pid, start time in clock ticks).
    pub spawner: Option<(i64, i64)>,
}

/// Running runs with their recorded process group, leader start time and instance.
pub fn running_processes(conn: &Connection) -> rusqlite::Result<Vec<RunProcess>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, pgid, proc_start, instance, spawner_pid, spawner_start FROM runs WHERE status = 'running'",
    )?;
    let rows = stmt.query_map([], |row| {
        let (pgid, started): (Option<i64>, Option<i64>) = (row.get(1)?, row.get(2)?);
        let (spawner, spawned_at): (Option<i64>, Option<i64>) = (row.get(4)?, row.get(5)?);
        Ok(RunProcess {
            run: row.get(0)?,
            group: pgid.zip(started),
            instance: row.get(3)?,
            spawner: spawner.zip(spawned_at),
        })
    })?;
    rows.collect()
}

/// Runs in one state, oldest first (the runner's queue, crash recovery).
pub fn with_status(conn: &Connection, status: RunStatus) -> rusqlite::Result<Vec<Run>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM runs WHERE status = ?1 ORDER BY created_at, id"))?;
    let rows = stmt.query_map([status.as_str()], from_row)?;
    rows.collect()
}

#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub task_id: Option<TaskId>,
    pub status: Option<RunStatus>,
}

/// Runs, newest first.
pub fn list(conn: &Connection, filter: &RunFilter, page: &PageRequest) -> rusqlite::Result<Listed<Run>> {
    let listed = Select::new(format!("SELECT {COLUMNS} FROM runs WHERE 1 = 1"))
        .eq("task_id", filter.task_id.as_ref().map(ToString::to_string))
        .eq("status", filter.status.map(|s| s.as_str().to_owned()))
        .page(conn, "created_at", "id", false, page, from_row, |r| Cursor {
            at: r.created_at.clone(),
            id: r.id.to_string(),
        })?;
    let items = listed.items.into_iter().map(|r| with_notes(conn, r)).collect::<rusqlite::Result<_>>()?;
    Ok(Listed { items, next_cursor: listed.next_cursor })
}
