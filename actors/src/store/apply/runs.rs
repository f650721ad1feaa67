//! Queuing runs. What a run executes is a snapshot taken when it was requested; it must still be the
//! task's command when the run is queued.

use super::{storage, Touched};
use crate::domain::command::NewRun;
use crate::domain::{Applied, ApprovalId, CommandError};
use crate::store::queries::runs;
use rusqlite::{params, Connection};

pub(super) fn queue(
    conn: &Connection,
    new: &NewRun,
    approval: Option<&ApprovalId>,
    now: &str,
) -> Result<Touched, CommandError> {
    let task = super::tasks::live(conn, &new.task_id)?;
    let Some(argv) = task.command.as_ref() else {
        return Err(CommandError::Conflict(format!("task {} has no command to run", task.id)));
    };
    if *argv != new.command || task.cwd != new.cwd || task.timeout_s != new.timeout_s {
        return Err(CommandError::Conflict(format!(
            "task {}'s command changed since the run was requested; request the run again",
            task.id
        )));
    }
    if runs::get(conn, &new.id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("run {} already exists", new.id)));
    }
    let command = serde_json::to_string(&new.command).map_err(|err| CommandError::Storage(err.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO runs (id, task_id, approval_id, command, cwd, timeout_s, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.id.as_str(),
            new.task_id.as_str(),
            approval.map(ApprovalId::as_str),
            command,
            new.cwd,
            new.timeout_s,
            now
        ])
    })
    .map_err(storage)?;
    let run = runs::get(conn, &new.id).map_err(storage)?.ok_or_else(|| CommandError::not_found("run", &new.id))?;
    Ok(Touched::new("run", &new.id, None, Applied::Run(run)))
}
