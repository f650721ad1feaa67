//! Errors_Hotlist mutations.

use super::{append_note, snapshot, storage, Touched};
use crate::domain::command::{NewHotlistError, ReceivedAlert};
use crate::domain::{Actor, Applied, CommandError, ErrorId, HotlistError, Run, Severity};
use crate::store::queries::notes::NoteSubject;
use crate::store::queries::{hotlist, tasks};
use rusqlite::{params, Connection, OptionalExtension};

fn load(conn: &Connection, id: &ErrorId) -> Result<HotlistError, CommandError> {
    hotlist::get(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("error", id))
}

pub(super) fn record(conn: &Connection, new: &NewHotlistError, now: &str) -> Result<Touched, CommandError> {
    if hotlist::get(conn, &new.id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("error {} already exists", new.id)));
    }
    if let Some(task) = &new.task_id {
        if tasks::get(conn, task).map_err(storage)?.is_none() {
            return Err(CommandError::not_found("task_id: task", task));
        }
    }
    conn.prepare_cached(
        "INSERT INTO errors (id, task_id, error, occurred_at, severity, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.id.as_str(),
            new.task_id.as_ref().map(|t| t.as_str()),
            new.error,
            now,
            new.severity.as_str(),
            new.source
        ])
    })
    .map_err(storage)?;
    Ok(Touched::new("error", &new.id, None, Applied::Error(load(conn, &new.id)?)))
}

/// An alert from outside: a firing one opens an entry for its fingerprint, or updates the open one (its
/// text and severity; a repeat never duplicates); a resolved one resolves the open entry with a note.
/// Not found when a resolution has no open entry (nothing to do; the caller counts it as ignored).
pub(super) fn receive_alert(
    conn: &Connection,
    alert: &ReceivedAlert,
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    let open: Option<String> = conn
        .prepare_cached("SELECT id FROM errors WHERE source = ?1 AND fingerprint = ?2 AND resolved = 0")
        .and_then(|mut find| find.query_row(params![alert.source, alert.fingerprint], |r| r.get(0)).optional())
        .map_err(storage)?;
    let open = open.map(|id| ErrorId::parse(&id)).transpose().map_err(|e| CommandError::Storage(e.to_string()))?;
    match (open, alert.firing) {
        (None, true) => {
            if hotlist::get(conn, &alert.id).map_err(storage)?.is_some() {
                return Err(CommandError::Conflict(format!("error {} already exists", alert.id)));
            }
            conn.prepare_cached(
                "INSERT INTO errors (id, error, occurred_at, severity, source, fingerprint)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    alert.id.as_str(),
                    alert.error,
                    now,
                    alert.severity.as_str(),
                    alert.source,
                    alert.fingerprint
                ])
            })
            .map_err(storage)?;
            Ok(Touched::new("error", &alert.id, None, Applied::Error(load(conn, &alert.id)?)))
        }
        (Some(id), true) => {
            let current = load(conn, &id)?;
            conn.prepare_cached("UPDATE errors SET error = ?2, severity = ?3 WHERE id = ?1")
                .and_then(|mut update| update.execute(params![id.as_str(), alert.error, alert.severity.as_str()]))
                .map_err(storage)?;
            Ok(Touched::new("error", &id, snapshot(&current), Applied::Error(load(conn, &id)?)))
        }
        (Some(id), false) => {
            let ended = alert.ended_at.as_deref().map(|at| format!(" at {at}")).unwrap_or_default();
            let note = format!("{} reports the alert resolved{ended}.", alert.source);
            resolve(conn, &id, &format!("resolved in {}", alert.source), Some(&note), actor, now)
        }
        (None, false) => Err(CommandError::not_found("open alert", &alert.fingerprint)),
    }
}

/// A hotlist entry about a run, written in the run's own transaction.
pub(super) fn record_for_run(
    conn: &Connection,
    run: &Run,
    error: &str,
    severity: Severity,
    now: &str,
) -> Result<(), CommandError> {
    let id = ErrorId::generate();
    conn.prepare_cached(
        "INSERT INTO errors (id, task_id, error, occurred_at, severity, source) VALUES (?1, ?2, ?3, ?4, ?5, 'runner')",
    )
    .and_then(|mut stmt| stmt.execute(params![id.as_str(), run.task_id.as_str(), error, now, severity.as_str()]))
    .map_err(storage)?;
    // Not a command's own record, so not reindexed by `apply`: the run's transaction indexes it here.
    crate::store::search::reindex(conn, "error", id.as_str()).map_err(storage)
}

/// Resolving is one-way: a resolved error is never reopened (a new one is recorded instead).
pub(super) fn resolve(
    conn: &Connection,
    id: &ErrorId,
    resolution: &str,
    notes: Option<&str>,
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    let current = load(conn, id)?;
    if current.resolved {
        return Err(CommandError::Conflict(format!(
            "error {id} is already resolved (by {} at {})",
            current.resolved_by.as_deref().unwrap_or("?"),
            current.resolved_at.as_deref().unwrap_or("?")
        )));
    }
    conn.prepare_cached(
        "UPDATE errors SET resolved = 1, resolution = ?2, resolved_at = ?3, resolved_by = ?4 WHERE id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![id.as_str(), resolution.trim(), now, actor.as_str()]))
    .map_err(storage)?;
    if let Some(body) = notes.filter(|n| !n.trim().is_empty()) {
        append_note(conn, NoteSubject::Error, id.as_str(), actor, body, now)?;
    }
    Ok(Touched::new("error", id, snapshot(&current), Applied::Error(load(conn, id)?)))
}
