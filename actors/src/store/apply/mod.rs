//! Applies one command to the open transaction and writes its audit event. Called only by the writer,
//! inside a savepoint, so a failure here undoes exactly this command.
//!
//! Each command's event row holds the `command`, the record `before` and `after` it (a run's output left
//! out). One file per area: `projects`, `tasks`, `approvals`, `runs`, `hotlist`, `access`, `schedule`,
//! `sheets`.

mod access;
mod approvals;
mod hotlist;
mod projects;
mod runs;
mod schedule;
mod sheets;
mod tasks;

use crate::domain::{Actor, Applied, Command, CommandError, CommandOutcome};
use crate::domain::{Record, RunCommand, SheetCommand};
use crate::store::queries::notes::NoteSubject;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

/// What a command touched, for its event row.
pub(super) struct Touched {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    /// The record before the change, where there was one.
    pub before: Option<Value>,
    pub applied: Applied,
    /// False for sweeps that found nothing to do (no event is written then).
    pub record_event: bool,
}

impl Touched {
    pub fn new(
        aggregate_type: &'static str,
        aggregate_id: impl ToString,
        before: Option<Value>,
        applied: Applied,
    ) -> Self {
        Self { aggregate_type, aggregate_id: aggregate_id.to_string(), before, applied, record_event: true }
    }
}

/// Validates, applies and audits one command a door sent. A change the approval policy gates is refused
/// unless the actor's role may make it directly (`store/gate.rs`): whatever door sent it, an unapproved
/// command never runs. `now` is the batch's timestamp.
pub(crate) fn apply(
    conn: &Connection,
    command: &Command,
    actor: &Actor,
    now: &str,
) -> Result<CommandOutcome, CommandError> {
    command.validate()?;
    crate::store::gate::check(conn, command, actor)?;
    apply_approved(conn, command, actor, now)
}

/// Applies one command without the gate: a door's command past it, or an approved change being applied
/// (`approvals.rs`), as its requester.
pub(super) fn apply_approved(
    conn: &Connection,
    command: &Command,
    actor: &Actor,
    now: &str,
) -> Result<CommandOutcome, CommandError> {
    command.validate()?;
    if let Command::Sheet(SheetCommand::Import { cell, edit }) = command {
        // The edit writes its own event; the baseline cell goes with it.
        let outcome = apply(conn, edit, actor, now)?;
        sheets::upsert_cells(conn, std::slice::from_ref(cell))?;
        return Ok(outcome);
    }
    let touched = match command {
        Command::CreateProject(new) => projects::create(conn, new, now)?,
        Command::UpdateProject { id, expected_version, patch } => {
            projects::update(conn, id, *expected_version, patch, now)?
        }
        Command::DeleteProject { id } => projects::delete(conn, id, now)?,
        Command::CreateTask(new) => tasks::create(conn, new, now)?,
        Command::UpdateTask { id, expected_version, patch } => tasks::update(conn, id, *expected_version, patch, now)?,
        Command::DeleteTask { id } => tasks::delete(conn, id, now)?,
        Command::QueueRun(new) => runs::queue(conn, new, None, now)?,
        Command::RequestApproval { id, change } => approvals::request(conn, id, change, actor, now)?,
        Command::ReviewApproval { id, decision, notes, allow_self_approval, via } => {
            approvals::review(conn, id, *decision, notes.as_deref(), *allow_self_approval, via.as_deref(), actor, now)?
        }
        Command::ExpireApprovals { requested_before } => approvals::expire(conn, requested_before, actor, now)?,
        Command::RecordError(new) => hotlist::record(conn, new, now)?,
        Command::ReceiveAlert(alert) => hotlist::receive_alert(conn, alert, actor, now)?,
        Command::ResolveError { id, resolution, notes } => {
            hotlist::resolve(conn, id, resolution, notes.as_deref(), actor, now)?
        }
        Command::CreateToken { name, role, token_hash } => access::create(conn, name, *role, token_hash, actor, now)?,
        Command::RevokeToken { name } => access::revoke(conn, name, now)?,
        Command::Run(RunCommand::Start { id }) => runs::start(conn, id, now)?,
        Command::Run(RunCommand::NoteProcess { id, pgid, start_ticks, instance, spawner }) => {
            runs::note_process(conn, id, (*pgid, *start_ticks), instance, *spawner)?
        }
        Command::Run(RunCommand::Finish(result)) => runs::finish(conn, result, now)?,
        Command::Run(RunCommand::RecoverInterrupted) => runs::recover(conn, actor, now)?,
        Command::Run(RunCommand::InterruptRestored) => runs::interrupt_restored(conn, actor, now)?,
        Command::Run(RunCommand::CancelQueued { id }) => runs::cancel_queued(conn, id, now)?,
        Command::Record(Record::JobRun { job, started_at, finished_at, ok, detail }) => {
            schedule::record(conn, job, started_at, finished_at, *ok, detail)?
        }
        Command::AddNote { target, body } => sheets::add_note(conn, target, body, actor, now)?,
        Command::Sheet(SheetCommand::RejectEdit { tab, column, reason, note_on, cell, .. }) => {
            sheets::upsert_cells(conn, cell.as_slice())?;
            sheets::reject_edit(conn, tab, column.as_deref(), reason, note_on.as_ref(), now)?
        }
        Command::Sheet(SheetCommand::Import { .. }) => unreachable!("applied above"),
        Command::Sheet(SheetCommand::Synced(outcome)) => sheets::record_sync(conn, outcome, now)?,
        Command::Sheet(SheetCommand::RecordCells { cells, removed }) => {
            sheets::record_cells(conn, cells, removed, actor, now)?
        }
        Command::Sheet(SheetCommand::ColumnLoose { reviewer, reason }) => {
            sheets::column_loose(conn, reviewer, reason, now)?
        }
        Command::Sheet(SheetCommand::ColumnCleared { reviewer, tab, column }) => {
            sheets::column_cleared(conn, reviewer, tab, *column)?
        }
        Command::Record(Record::Backup { id, .. }) => Touched::new("backup", id, None, Applied::Noted),
        Command::Record(Record::Restore(restored)) => Touched::new("backup", &restored.from, None, Applied::Noted),
        Command::Record(Record::Maintenance { action, .. }) => Touched::new("db", action, None, Applied::Noted),
        Command::RetryDelivery { delivery_id } => crate::store::sinks::retry(conn, delivery_id, now)?,
        Command::EnableSink { sink } => crate::store::sinks::enable(conn, sink)?,
        Command::Record(Record::Alert { key, .. }) => Touched::new("alert", key, None, Applied::Noted),
        Command::Record(Record::Undelivered { recipient, .. }) => {
            Touched::new("notify", recipient, None, Applied::Noted)
        }
        Command::Record(Record::Access { path, .. }) => Touched::new("http", path, None, Applied::Access),
        Command::Record(Record::Query { .. }) => Touched::new("browser", "sql", None, Applied::Noted),
        Command::Record(Record::Session { .. }) => Touched::new("console", "session", None, Applied::Noted),
    };
    // The search index follows the record in the same transaction (`store/search.rs`).
    crate::store::search::reindex(conn, touched.aggregate_type, &touched.aggregate_id).map_err(storage)?;
    let event_id = if touched.record_event {
        let mut after = serde_json::to_value(&touched.applied).ok().and_then(|v| v.get("record").cloned());
        if let Some(record) = after.as_mut().and_then(Value::as_object_mut) {
            // Run output lives in the runs table; the audit keeps the facts, not the bulk.
            record.remove("output");
            record.remove("error_log");
        }
        let payload = json!({ "command": command.audit_payload(), "before": touched.before, "after": after });
        insert_event(conn, command.event_type(), touched.aggregate_type, &touched.aggregate_id, actor, &payload, now)?
    } else {
        0
    };
    Ok(CommandOutcome { event_id, applied: touched.applied })
}

/// Writes one audit event and returns its id.
pub(super) fn insert_event(
    conn: &Connection,
    event_type: &str,
    aggregate_type: &str,
    aggregate_id: &str,
    actor: &Actor,
    payload: &Value,
    now: &str,
) -> Result<i64, CommandError> {
    conn.prepare_cached(
        "INSERT INTO events (type, aggregate_type, aggregate_id, actor, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| stmt.execute(params![event_type, aggregate_type, aggregate_id, actor.as_str(), payload.to_string(), now]))
    .map_err(storage)?;
    Ok(conn.last_insert_rowid())
}

/// Appends a note (never edits one).
pub(super) fn append_note(
    conn: &Connection,
    subject: NoteSubject,
    id: &str,
    author: &Actor,
    body: &str,
    now: &str,
) -> Result<(), CommandError> {
    conn.prepare_cached(
        "INSERT INTO notes (subject_type, subject_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| stmt.execute(params![subject.as_str(), id, author.as_str(), body.trim(), now]))
    .map_err(storage)?;
    Ok(())
}

/// SQLite failures are the store's problem, not the caller's.
pub(super) fn storage(err: rusqlite::Error) -> CommandError {
    super::storage::classify(&err)
}

/// A record as JSON, for the event's `before`.
pub(super) fn snapshot(record: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_value(record).ok()
}

/// A stale-version check shared by every conditional update.
pub(super) fn check_version(entity: &str, id: &str, current: i64, expected: Option<i64>) -> Result<(), CommandError> {
    match expected {
        Some(expected) if expected != current => Err(CommandError::Conflict(format!(
            "{entity} {id} is at version {current}, not {expected}: it changed since you read it"
        ))),
        _ => Ok(()),
    }
}
