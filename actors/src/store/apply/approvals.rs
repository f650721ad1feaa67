//! The approval gate inside the writer: requesting stores a change without applying it; approving applies
//! the stored change in the same transaction as the status change, after checking that neither the payload
//! nor its target moved since the request.
//!
//! Requesting dry-runs the change in a savepoint that is always rolled back (`dry_run`), so a change that
//! could not apply now is refused at once instead of waiting for a human. The payload is stored with its
//! SHA-256 and the target's version, and approving re-checks both (`still_valid`). An approval that can no
//! longer apply is closed as `superseded` (its reason in `closed_reason`, an `approval.superseded` event, a
//! hotlist entry) when someone approves it or by the Housekeeper's sweep: it never lingers as pending.

use super::{append_note, insert_event, snapshot, storage, tasks as task_changes, Touched};
use crate::domain::command::Decision;
use crate::domain::{Actor, Applied, Approval, ApprovalId, Command, CommandError, ItemType, ProjectId, TaskId};
use crate::store::queries::notes::NoteSubject;
use crate::store::queries::{approvals, events, projects, tasks};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

fn payload_hash(payload: &str) -> String {
    hex::encode(Sha256::digest(payload.as_bytes()))
}

/// The live version and name of a change's target, `None` when it does not exist (or was deleted).
fn target_state(conn: &Connection, item_type: ItemType, item_id: &str) -> Result<Option<(i64, String)>, CommandError> {
    let state = match item_type {
        ItemType::Project => ProjectId::parse(item_id)
            .ok()
            .map(|id| projects::get_live(conn, &id))
            .transpose()
            .map_err(storage)?
            .flatten()
            .map(|p| (p.version, p.name)),
        ItemType::Task => TaskId::parse(item_id)
            .ok()
            .map(|id| tasks::get_live(conn, &id))
            .transpose()
            .map_err(storage)?
            .flatten()
            .map(|t| (t.version, t.title)),
        ItemType::Config | ItemType::Deployment => None,
    };
    Ok(state)
}

/// The live version of a change's target, `None` when it does not exist (or was deleted).
fn target_version(conn: &Connection, item_type: ItemType, item_id: &str) -> Result<Option<i64>, CommandError> {
    Ok(target_state(conn, item_type, item_id)?.map(|(version, _)| version))
}

/// Pins conditional updates to the version seen now, so approving a stale update fails.
fn pin(change: &Command, version: Option<i64>) -> Command {
    let mut pinned = change.clone();
    match &mut pinned {
        Command::UpdateProject { expected_version, .. } | Command::UpdateTask { expected_version, .. } => {
            *expected_version = expected_version.or(version);
        }
        _ => {}
    }
    pinned
}

/// Applies `change` in a savepoint that is always rolled back: proves it would apply now.
fn dry_run(conn: &Connection, change: &Command, actor: &Actor, now: &str) -> Result<(), CommandError> {
    conn.execute_batch("SAVEPOINT dry_run").map_err(storage)?;
    let outcome = super::apply_approved(conn, change, actor, now);
    conn.execute_batch("ROLLBACK TO dry_run; RELEASE dry_run").map_err(storage)?;
    outcome.map(drop)
}

fn load(conn: &Connection, id: &ApprovalId) -> Result<Approval, CommandError> {
    approvals::get(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("approval", id))
}

pub(super) fn request(
    conn: &Connection,
    id: &ApprovalId,
    change: &Command,
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    if approvals::get(conn, id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("approval {id} already exists")));
    }
    let (item_type, action, item_id) =
        change.target().ok_or_else(|| CommandError::invalid("change", "this change cannot wait for approval"))?;
    dry_run(conn, change, actor, now)?;
    let target = target_state(conn, item_type, &item_id)?;
    let version = target.as_ref().map(|(version, _)| *version);
    let pinned = pin(change, version);
    let payload =
        serde_json::to_string(&pinned).map_err(|err| CommandError::Storage(format!("encoding payload: {err}")))?;
    let required = crate::store::quorum::required(conn, item_type, action).map_err(storage)?;
    conn.prepare_cached(
        "INSERT INTO approvals (id, item_type, item_id, action, summary, payload, payload_hash, target_version, \
         requested_at, requested_by, required_reviews) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id.as_str(),
            item_type.as_str(),
            item_id,
            action.as_str(),
            change.summary(target.as_ref().map(|(_, name)| name.as_str())),
            payload,
            payload_hash(&payload),
            version,
            now,
            actor.as_str(),
            required
        ])
    })
    .map_err(storage)?;
    Ok(Touched::new("approval", id, None, Applied::Approval(load(conn, id)?)))
}

/// Refuses to apply a payload that was altered, or whose target changed since the request.
fn still_valid(conn: &Connection, approval: &Approval) -> Result<Command, CommandError> {
    let raw = approvals::raw_payload(conn, &approval.id).map_err(storage)?.unwrap_or_default();
    if payload_hash(&raw) != approval.payload_hash {
        return Err(CommandError::Conflict(format!(
            "approval {}'s payload no longer matches the hash taken when it was requested; it was altered and will not be applied",
            approval.id
        )));
    }
    let change: Command = serde_json::from_str(&raw)
        .map_err(|err| CommandError::Conflict(format!("approval {}'s payload cannot be read: {err}", approval.id)))?;
    if let Some(pinned) = approval.target_version {
        let what = format!("{} {}", approval.item_type, approval.item_id);
        match target_version(conn, approval.item_type, &approval.item_id)? {
            None => {
                return Err(CommandError::Conflict(format!(
                    "{what} was deleted after approval {} was requested",
                    approval.id
                )))
            }
            Some(now_at) if now_at != pinned => {
                let last = events::latest_for(conn, approval.item_type.as_str(), &approval.item_id).map_err(storage)?;
                let cause = last.map_or(String::new(), |e| {
                    format!(" (last change: {} by {} at {})", e.event_type, e.actor, e.created_at)
                });
                return Err(CommandError::Conflict(format!(
                    "{what} changed after approval {} was requested: it was at version {pinned} and is now at version {now_at}{cause}; request the change again",
                    approval.id
                )));
            }
            Some(_) => {}
        }
    }
    // A creation has no target to pin, but it needs its parent: a task whose project was deleted since
    // the request can never be created.
    if let Command::CreateTask(new) = &change {
        if target_version(conn, ItemType::Project, new.project_id.as_str())?.is_none() {
            return Err(CommandError::Conflict(format!(
                "project {} was deleted after approval {} was requested; its task can never be created",
                new.project_id, approval.id
            )));
        }
    }
    Ok(change)
}

#[allow(clippy::too_many_arguments)] // the command's fields, unpacked by apply
pub(super) fn review(
    conn: &Connection,
    id: &ApprovalId,
    decision: Decision,
    notes: Option<&str>,
    allow_self_approval: bool,
    via: Option<&str>,
    reviewer: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    let approval = load(conn, id)?;
    let next = match decision {
        Decision::Approve => approval.status.approve(),
        Decision::Reject => approval.status.reject(),
    }
    .map_err(|err| CommandError::Conflict(err.to_string()))?;
    if decision == Decision::Approve {
        // The writer's setting decides; a door's flag can only make it stricter.
        let allowed = allow_self_approval && crate::store::gate::self_approval_allowed(conn)?;
        if !allowed && approval.requested_by == reviewer.as_str() {
            return Err(CommandError::Forbidden(format!(
                "{} requested approval {id} and cannot approve it; another approver must",
                reviewer.as_str()
            )));
        }
        let change = match still_valid(conn, &approval) {
            Ok(change) => change,
            Err(CommandError::Conflict(reason)) => {
                // It can never apply: close it (committed) instead of leaving it pending forever.
                supersede(conn, &approval, &reason, reviewer, now)?;
                let approval = load(conn, id)?;
                return Ok(Touched {
                    record_event: false,
                    ..Touched::new("approval", id, None, Applied::Superseded { approval, reason })
                });
            }
            Err(other) => return Err(other),
        };
        if let Some(partial) = record_review(conn, &approval, (via, allow_self_approval), notes, reviewer, now)? {
            return Ok(partial);
        }
        let applied = super::apply_approved(conn, &change, &Actor::new(approval.requested_by.clone()), now)?;
        if applied.event_id != 0 {
            conn.prepare_cached("UPDATE approvals SET applied_event_id = ?2 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![id.as_str(), applied.event_id]))
                .map_err(storage)?;
        }
        match (&change, &applied.applied) {
            (Command::CreateTask(_) | Command::UpdateTask { .. }, Applied::Task(task)) => {
                task_changes::mark_approved(conn, &task.id, reviewer.as_str(), now)?;
            }
            (Command::QueueRun(_), Applied::Run(run)) => {
                conn.prepare_cached("UPDATE runs SET approval_id = ?2 WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute(params![run.id.as_str(), id.as_str()]))
                    .map_err(storage)?;
            }
            _ => {}
        }
    }
    conn.prepare_cached("UPDATE approvals SET status = ?2, reviewed_at = ?3, reviewed_by = ?4 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id.as_str(), next.as_str(), now, reviewer.as_str()]))
        .map_err(storage)?;
    if let Some(body) = notes.filter(|n| !n.trim().is_empty()) {
        append_note(conn, NoteSubject::Approval, id.as_str(), reviewer, body, now)?;
    }
    Ok(Touched::new("approval", id, snapshot(&approval), Applied::Approval(load(conn, id)?)))
}

/// Records an approving review. Short of the quorum it is the whole outcome (`Some`: the approval stays
/// pending, "1 of 2", with an `approval.review_recorded` event); the review that completes it answers
/// `None` and the change applies in this transaction. A second review by the same reviewer is refused.
fn record_review(
    conn: &Connection,
    approval: &Approval,
    (via, allow_self_approval): (Option<&str>, bool),
    notes: Option<&str>,
    reviewer: &Actor,
    now: &str,
) -> Result<Option<Touched>, CommandError> {
    if approval.required_reviews > 1 && approval.requested_by == reviewer.as_str() {
        return Err(CommandError::Forbidden(format!(
            "{} requested approval {} and never counts toward its quorum of {}",
            reviewer.as_str(),
            approval.id,
            approval.required_reviews
        )));
    }
    if approval.approved_by.iter().any(|who| who == reviewer.as_str()) {
        return Err(CommandError::Conflict(format!(
            "{} already approved {}; it needs {} distinct reviewers ({} of {} so far)",
            reviewer.as_str(),
            approval.id,
            approval.required_reviews,
            approval.approved_by.len(),
            approval.required_reviews
        )));
    }
    conn.prepare_cached(
        "INSERT INTO approval_reviews (approval_id, reviewer, reviewed_at, via) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![approval.id.as_str(), reviewer.as_str(), now, via]))
    .map_err(storage)?;
    let given = approval.approved_by.len() as u32 + 1;
    if given >= approval.required_reviews {
        return Ok(None);
    }
    if let Some(body) = notes.filter(|n| !n.trim().is_empty()) {
        append_note(conn, NoteSubject::Approval, approval.id.as_str(), reviewer, body, now)?;
    }
    // The same `command` as the event of the review that completes a quorum, so one filter finds both.
    let command = Command::ReviewApproval {
        id: approval.id.clone(),
        decision: Decision::Approve,
        notes: notes.map(str::to_owned),
        allow_self_approval,
        via: via.map(str::to_owned),
    };
    let payload = serde_json::json!({
        "reviews": format!("{given} of {}", approval.required_reviews),
        "via": via,
        "command": command.audit_payload(),
    });
    insert_event(conn, "approval.review_recorded", "approval", approval.id.as_str(), reviewer, &payload, now)?;
    let after = load(conn, &approval.id)?;
    Ok(Some(Touched { record_event: false, ..Touched::new("approval", &approval.id, None, Applied::Approval(after)) }))
}

/// Closes a pending approval that can never apply as `superseded`: its reason, an event and a hotlist entry.
fn supersede(
    conn: &Connection,
    approval: &Approval,
    reason: &str,
    actor: &Actor,
    now: &str,
) -> Result<(), CommandError> {
    approval.status.supersede().map_err(|err| CommandError::Conflict(err.to_string()))?;
    conn.prepare_cached(
        "UPDATE approvals SET status = 'superseded', reviewed_at = ?2, reviewed_by = ?3, closed_reason = ?4 \
         WHERE id = ?1 AND status = 'pending'",
    )
    .and_then(|mut stmt| stmt.execute(params![approval.id.as_str(), now, actor.as_str(), reason]))
    .map_err(storage)?;
    let task_id = (approval.item_type == ItemType::Task)
        .then(|| TaskId::parse(&approval.item_id).ok())
        .flatten()
        .filter(|id| tasks::get_live(conn, id).ok().flatten().is_some());
    let error = crate::domain::command::NewHotlistError {
        id: crate::domain::ErrorId::generate(),
        task_id,
        error: format!("approval {} ({}) was superseded and will never apply: {reason}", approval.id, approval.summary),
        severity: crate::domain::Severity::Medium,
        source: "approvals".into(),
    };
    super::hotlist::record(conn, &error, now)?;
    let payload = serde_json::json!({ "reason": reason, "before": snapshot(approval) });
    insert_event(conn, "approval.superseded", "approval", approval.id.as_str(), actor, &payload, now)?;
    Ok(())
}

/// Expires pending approvals requested before `cutoff`, one audit event each; and closes as superseded
/// the pending ones that can no longer apply (their payload or target changed), so none lingers.
pub(super) fn expire(conn: &Connection, cutoff: &str, actor: &Actor, now: &str) -> Result<Touched, CommandError> {
    for id in approvals::pending_before(conn, "9999").map_err(storage)? {
        let approval = load(conn, &id)?;
        if let Err(CommandError::Conflict(reason)) = still_valid(conn, &approval) {
            supersede(conn, &approval, &reason, actor, now)?;
        }
    }
    let stale = approvals::pending_before(conn, cutoff).map_err(storage)?;
    for id in &stale {
        // Through the state machine, like every status change: only a pending approval expires.
        let expired = load(conn, id)?.status.expire().map_err(|err| CommandError::Conflict(err.to_string()))?;
        conn.prepare_cached(
            "UPDATE approvals SET status = ?4, reviewed_at = ?2, reviewed_by = ?3 WHERE id = ?1 AND status = 'pending'",
        )
        .and_then(|mut stmt| stmt.execute(params![id.as_str(), now, actor.as_str(), expired.as_str()]))
        .map_err(storage)?;
        let payload = serde_json::json!({ "requested_before": cutoff });
        insert_event(conn, "approval.expired", "approval", id.as_str(), actor, &payload, now)?;
    }
    Ok(Touched {
        record_event: false,
        ..Touched::new("approval", "expiry", None, Applied::Expired(stale.len() as u64))
    })
}
