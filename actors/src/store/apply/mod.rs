//! Applies one command to the open transaction and writes its audit event. Called only by the writer,
//! inside a savepoint, so a failure here undoes exactly this command.

mod projects;
mod tasks;

use crate::domain::{Actor, Applied, Command, CommandError, CommandOutcome};
use rusqlite::Connection;

/// The aggregate a command touched, for the event row.
pub(super) struct Touched {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub applied: Applied,
}

/// Validates, applies and audits one command. `now` is the batch's timestamp.
pub(crate) fn apply(
    conn: &Connection,
    command: &Command,
    actor: &Actor,
    now: &str,
) -> Result<CommandOutcome, CommandError> {
    command.validate()?;
    let touched = match command {
        Command::CreateProject(new) => projects::create(conn, new, now)?,
        Command::UpdateProject {
            id,
            expected_version,
            patch,
        } => projects::update(conn, id, *expected_version, patch, now)?,
        Command::DeleteProject { id } => projects::delete(conn, id, now)?,
        Command::CreateTask(new) => tasks::create(conn, new, now)?,
        Command::UpdateTask {
            id,
            expected_version,
            patch,
        } => tasks::update(conn, id, *expected_version, patch, now)?,
        Command::DeleteTask { id } => tasks::delete(conn, id, now)?,
    };
    let payload = serde_json::to_string(command)
        .map_err(|err| CommandError::Storage(format!("encoding the event payload: {err}")))?;
    conn.prepare_cached(
        "INSERT INTO events (type, aggregate_type, aggregate_id, actor, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(rusqlite::params![
            command.event_type(),
            touched.aggregate_type,
            touched.aggregate_id,
            actor.as_str(),
            payload,
            now
        ])
    })
    .map_err(storage)?;
    Ok(CommandOutcome {
        event_id: conn.last_insert_rowid(),
        applied: touched.applied,
    })
}

/// SQLite failures are the store's problem, not the caller's.
pub(super) fn storage(err: rusqlite::Error) -> CommandError {
    CommandError::Storage(err.to_string())
}

/// A stale-version check shared by every conditional update.
pub(super) fn check_version(
    entity: &str,
    id: &str,
    current: i64,
    expected: Option<i64>,
) -> Result<(), CommandError> {
    match expected {
        Some(expected) if expected != current => Err(CommandError::Conflict(format!(
            "{entity} {id} is at version {current}, not {expected}: it changed since you read it"
        ))),
        _ => Ok(()),
    }
}
