//! What the Sheets mirror writes back: notes, refused edits, and the sync state.

use super::{append_note, storage, Touched};
use crate::domain::command::{NoteTarget, SheetCell, SyncOutcome};
use crate::domain::{Actor, Applied, CommandError};
use crate::store::queries::notes::NoteSubject;
use crate::store::queries::{approvals, hotlist, runs};
use rusqlite::{params, Connection};

fn subject(conn: &Connection, target: &NoteTarget) -> Result<(NoteSubject, String), CommandError> {
    let exists = match target {
        NoteTarget::Approval(id) => approvals::get(conn, id).map_err(storage)?.is_some(),
        NoteTarget::Run(id) => runs::get(conn, id).map_err(storage)?.is_some(),
        NoteTarget::Error(id) => hotlist::get(conn, id).map_err(storage)?.is_some(),
    };
    let (kind, id) = match target {
        NoteTarget::Approval(id) => (NoteSubject::Approval, id.to_string()),
        NoteTarget::Run(id) => (NoteSubject::Run, id.to_string()),
        NoteTarget::Error(id) => (NoteSubject::Error, id.to_string()),
    };
    if !exists {
        return Err(CommandError::not_found(kind.as_str(), id));
    }
    Ok((kind, id))
}

pub(super) fn add_note(
    conn: &Connection,
    target: &NoteTarget,
    body: &str,
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    let (kind, id) = subject(conn, target)?;
    append_note(conn, kind, &id, actor, body, now)?;
    Ok(Touched::new(kind.as_str(), id, None, Applied::Noted))
}

/// A refused edit: its event, and a note on the record when it has one. The hotlist gets one summary per
/// tab per cycle from the mirror, not one entry per refusal (which would bury real errors).
pub(super) fn reject_edit(
    conn: &Connection,
    tab: &str,
    column: Option<&str>,
    reason: &str,
    note_on: Option<&NoteTarget>,
    now: &str,
) -> Result<Touched, CommandError> {
    let cell = column.map_or(String::new(), |c| format!(" column {c}"));
    if let Some(target) = note_on {
        let (kind, id) = subject(conn, target)?;
        append_note(conn, kind, &id, &Actor::new("atlas"), &format!("Sheet edit refused{cell}: {reason}"), now)?;
    }
    Ok(Touched::new("sheets", tab, None, Applied::Noted))
}

pub(super) fn record_sync(conn: &Connection, outcome: &SyncOutcome, now: &str) -> Result<Touched, CommandError> {
    // A deferred cycle (quota) is an attempt, not a failure: it leaves the failure count alone.
    conn.prepare_cached(
        "INSERT INTO sync_state (direction, last_attempt_at, last_success_at, consecutive_failures, last_error, last_requests, \
         edits_applied, edits_rejected, failing_since) \
         VALUES (?1, ?2, CASE WHEN ?3 THEN ?2 END, CASE WHEN ?3 OR ?8 THEN 0 ELSE 1 END, ?4, ?5, ?6, ?7, CASE WHEN ?3 THEN NULL ELSE ?2 END) \
         ON CONFLICT (direction) DO UPDATE SET last_attempt_at = excluded.last_attempt_at, \
         last_success_at = coalesce(excluded.last_success_at, sync_state.last_success_at), \
         consecutive_failures = CASE WHEN ?3 THEN 0 WHEN ?8 THEN sync_state.consecutive_failures \
         ELSE sync_state.consecutive_failures + 1 END, \
         failing_since = CASE WHEN ?3 THEN NULL ELSE coalesce(sync_state.failing_since, excluded.last_attempt_at) END, \
         last_error = excluded.last_error, last_requests = excluded.last_requests, \
         edits_applied = sync_state.edits_applied + excluded.edits_applied, \
         edits_rejected = sync_state.edits_rejected + excluded.edits_rejected",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            outcome.direction,
            now,
            outcome.ok,
            outcome.error,
            outcome.requests as i64,
            outcome.edits_applied as i64,
            outcome.edits_rejected as i64,
            outcome.deferred
        ])
    })
    .map_err(storage)?;
    Ok(Touched::new("sync", &outcome.direction, None, Applied::Noted))
}

/// Stores baseline cells (as Atlas last saw or wrote them).
pub(super) fn upsert_cells(conn: &Connection, cells: &[SheetCell]) -> Result<(), CommandError> {
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO sheet_cells (tab, row_id, col, value) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tab, row_id, col) DO UPDATE SET value = excluded.value",
        )
        .map_err(storage)?;
    for cell in cells {
        upsert.execute(params![cell.tab, cell.row_id, cell.column, cell.value]).map_err(storage)?;
    }
    Ok(())
}

/// Upserts baseline cells and drops rows that left the sheet; the event records counts, not the cells.
pub(super) fn record_cells(
    conn: &Connection,
    cells: &[SheetCell],
    removed: &[(String, String)],
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    upsert_cells(conn, cells)?;
    {
        let mut delete =
            conn.prepare_cached("DELETE FROM sheet_cells WHERE tab = ?1 AND row_id = ?2").map_err(storage)?;
        for (tab, row_id) in removed {
            delete.execute(params![tab, row_id]).map_err(storage)?;
        }
    }
    let payload = serde_json::json!({ "cells": cells.len(), "rows_removed": removed.len() });
    super::insert_event(conn, "sheets.baseline_recorded", "sheets", "baseline", actor, &payload, now)?;
    Ok(Touched { record_event: false, ..Touched::new("sheets", "baseline", None, Applied::Noted) })
}

/// Marks a reviewer column loose (kept since the first time it was found so).
pub(super) fn column_loose(
    conn: &Connection,
    reviewer: &str,
    reason: &str,
    now: &str,
) -> Result<Touched, CommandError> {
    conn.prepare_cached("INSERT OR IGNORE INTO sheet_loose_columns (reviewer, since, reason) VALUES (?1, ?2, ?3)")
        .and_then(|mut insert| insert.execute(params![reviewer, now, reason]))
        .map_err(storage)?;
    Ok(Touched::new("sheets", reviewer, None, Applied::Noted))
}

/// Ends a column's quarantine: its cells were cleared, so is its baseline (what Atlas saw there and what
/// it kept of a refused edit, `SEEN` columns on).
pub(super) fn column_cleared(
    conn: &Connection,
    reviewer: &str,
    tab: &str,
    column: u8,
) -> Result<Touched, CommandError> {
    let seen = column as usize + crate::sheets::import::SEEN;
    conn.prepare_cached("UPDATE sheet_cells SET value = '' WHERE tab = ?1 AND col IN (?2, ?3)")
        .and_then(|mut clear| clear.execute(params![tab, column, seen as i64]))
        .map_err(storage)?;
    conn.prepare_cached("DELETE FROM sheet_loose_columns WHERE reviewer = ?1")
        .and_then(|mut delete| delete.execute([reviewer]))
        .map_err(storage)?;
    Ok(Touched::new("sheets", reviewer, None, Applied::Noted))
}
