//! Run mutations. What a run executes is a snapshot taken when it was requested; it must still be the
//! task's command when queued, and still match its fingerprint (and the approved payload) when started.

use super::{hotlist, insert_event, storage, Touched};
use crate::domain::command::{NewRun, RunResult};
use crate::domain::run::fingerprint;
use crate::domain::{
    Actor, Applied, ApprovalId, ApprovalStatus, Command, CommandError, Run, RunId, RunStatus, RunStep, Severity,
};
use crate::store::queries::{approvals, runs};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

fn load(conn: &Connection, id: &RunId) -> Result<Run, CommandError> {
    runs::get(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("run", id))
}

fn touched(conn: &Connection, id: &RunId) -> Result<Touched, CommandError> {
    Ok(Touched::new("run", id, None, Applied::Run(load(conn, id)?)))
}

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
    if *argv != new.command || task.cwd != new.cwd || task.timeout_s != new.timeout_s || task.env != new.env {
        return Err(CommandError::Conflict(format!(
            "task {}'s command changed since the run was requested; request the run again",
            task.id
        )));
    }
    if runs::get(conn, &new.id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("run {} already exists", new.id)));
    }
    let profile_run = new.command.first().is_some_and(|first| first.starts_with('@'));
    if profile_run != new.executor.is_some() {
        return Err(CommandError::invalid(
            "executor",
            "an executor-profile run must carry the executor it resolved to when requested (and only such a run)",
        ));
    }
    let command = serde_json::to_string(&new.command).map_err(|err| CommandError::Storage(err.to_string()))?;
    let executor = new
        .executor
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| CommandError::Storage(err.to_string()))?;
    let hash = fingerprint(&new.command, new.cwd.as_deref(), new.timeout_s, &new.env, new.executor.as_ref());
    let env = super::tasks::env_json(&new.env)?;
    conn.prepare_cached(
        "INSERT INTO runs (id, task_id, approval_id, command, cwd, timeout_s, status, created_at, command_hash, executor, \
         env) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.id.as_str(),
            new.task_id.as_str(),
            approval.map(ApprovalId::as_str),
            command,
            new.cwd,
            new.timeout_s,
            now,
            hash,
            executor,
            env
        ])
    })
    .map_err(storage)?;
    touched(conn, &new.id)
}

/// Records a running run's process group and its leader's start time.
pub(super) fn note_process(
    conn: &Connection,
    id: &RunId,
    (pgid, start_ticks): (i64, i64),
    instance: &str,
    spawner: Option<(i64, i64)>,
) -> Result<Touched, CommandError> {
    let instance = Some(instance).filter(|i| !i.is_empty());
    let (spawner_pid, spawner_start) = (spawner.map(|s| s.0), spawner.map(|s| s.1));
    let changed = conn
        .prepare_cached(
            "UPDATE runs SET pgid = ?2, proc_start = ?3, instance = ?4, spawner_pid = ?5, spawner_start = ?6 \
             WHERE id = ?1 AND status = 'running'",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![id.as_str(), pgid, start_ticks, instance, spawner_pid, spawner_start])
        })
        .map_err(storage)?;
    if changed == 0 {
        return Err(CommandError::Conflict(format!("run {id} is not running")));
    }
    touched(conn, id)
}

/// Why a run must not start, if it must not.
fn refusal(conn: &Connection, run: &Run) -> Result<Option<String>, CommandError> {
    let stored = runs::command_hash(conn, &run.id).map_err(storage)?;
    if stored.as_deref()
        != Some(fingerprint(&run.command, run.cwd.as_deref(), run.timeout_s, &run.env, run.executor.as_ref()).as_str())
    {
        return Ok(Some("the stored command does not match the fingerprint taken when the run was queued".into()));
    }
    let Some(approval_id) = &run.approval_id else { return Ok(None) };
    let Some(approval) = approvals::get(conn, approval_id).map_err(storage)? else {
        return Ok(Some(format!("approval {approval_id} no longer exists")));
    };
    if approval.status != ApprovalStatus::Approved {
        return Ok(Some(format!("approval {approval_id} is {}, not approved", approval.status)));
    }
    let raw = approvals::raw_payload(conn, approval_id).map_err(storage)?.unwrap_or_default();
    if hex::encode(Sha256::digest(raw.as_bytes())) != approval.payload_hash {
        return Ok(Some(format!(
            "approval {approval_id}'s payload does not match the hash taken when it was requested"
        )));
    }
    match serde_json::from_str::<Command>(&raw) {
        Ok(Command::QueueRun(approved))
            if approved.command == run.command
                && approved.cwd == run.cwd
                && approved.timeout_s == run.timeout_s
                && approved.env == run.env
                && approved.executor == run.executor =>
        {
            Ok(None)
        }
        _ => Ok(Some(format!("the stored command differs from the one approved in {approval_id}"))),
    }
}

/// `queued -> running`, or `queued -> failed` with the reason when the command is not what was approved.
pub(super) fn start(conn: &Connection, id: &RunId, now: &str) -> Result<Touched, CommandError> {
    let run = load(conn, id)?;
    run.status.after(RunStep::Start).map_err(|why| CommandError::Conflict(format!("run {id}: {why}")))?;
    if let Some(why) = refusal(conn, &run)? {
        let message = format!("refused to start: {why}");
        tracing::error!(run = %id, reason = %why, "Run refused.");
        advance(conn, &run, RunStep::Refuse, Ending { error_log: Some(&message), ..Ending::NONE }, now)?;
        hotlist::record_for_run(conn, &run, &format!("run {id} {message}"), Severity::Critical, now)?;
        return touched(conn, id);
    }
    advance(conn, &run, RunStep::Start, Ending::NONE, now)?;
    touched(conn, id)
}

/// What a run's end records beside its status.
#[derive(Clone, Copy)]
struct Ending<'a> {
    exit_code: Option<i64>,
    output: Option<&'a str>,
    error_log: Option<&'a str>,
}

impl Ending<'_> {
    const NONE: Self = Self { exit_code: None, output: None, error_log: None };
}

/// The one place a run's status changes: the step is checked by the domain's state machine
/// (`RunStatus::after`), and the row is changed only if it is still in the state the step leaves.
fn advance(conn: &Connection, run: &Run, step: RunStep, ending: Ending<'_>, now: &str) -> Result<(), CommandError> {
    let to = run.status.after(step).map_err(|why| CommandError::Conflict(format!("run {}: {why}", run.id)))?;
    let from = run.status.as_str();
    let changed = if to == RunStatus::Running {
        conn.prepare_cached("UPDATE runs SET status = ?3, started_at = ?4 WHERE id = ?1 AND status = ?2")
            .and_then(|mut stmt| stmt.execute(params![run.id.as_str(), from, to.as_str(), now]))
    } else {
        let Ending { exit_code, output, error_log } = ending;
        conn.prepare_cached(
            "UPDATE runs SET status = ?3, exit_code = ?4, output = coalesce(?5, output), \
             error_log = coalesce(?6, error_log), completed_at = ?7 WHERE id = ?1 AND status = ?2",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![run.id.as_str(), from, to.as_str(), exit_code, output, error_log, now])
        })
    }
    .map_err(storage)?;
    match changed {
        1 => Ok(()),
        _ => Err(CommandError::Conflict(format!("run {} is no longer {from}", run.id))),
    }
}

pub(super) fn finish(conn: &Connection, result: &RunResult, now: &str) -> Result<Touched, CommandError> {
    let run = load(conn, &result.id)?;
    let ending = Ending {
        exit_code: result.exit_code,
        output: result.output.as_deref(),
        error_log: result.error_log.as_deref(),
    };
    advance(conn, &run, RunStep::Finish(result.status), ending, now)?;
    if let (Some(severity), RunStatus::Failed | RunStatus::TimedOut) = (result.severity, result.status) {
        let detail =
            result.error_log.as_deref().and_then(|log| log.lines().rev().find(|l| !l.trim().is_empty())).unwrap_or("");
        let what = match (result.status, result.exit_code) {
            (RunStatus::TimedOut, _) => "timed out".to_owned(),
            (_, Some(code)) => format!("failed with exit code {code}"),
            _ => "failed".to_owned(),
        };
        let error =
            format!("run {} of task {} {what}: {}", run.id, run.task_id, detail.chars().take(500).collect::<String>());
        hotlist::record_for_run(conn, &run, error.trim_end_matches([' ', ':']), severity, now)?;
    }
    touched(conn, &run.id)
}

pub(super) fn cancel_queued(conn: &Connection, id: &RunId, now: &str) -> Result<Touched, CommandError> {
    let run = load(conn, id)?;
    let ending = Ending { error_log: Some("cancelled before it started"), ..Ending::NONE };
    advance(conn, &run, RunStep::Cancel, ending, now)?;
    touched(conn, id)
}

/// Marks every `running` run failed; nothing is re-run without a new approval.
/// After a restore: queued and running runs of the restored database are failed, each with a hotlist
/// entry and an event; none is started again without a new approval. A run this process is still
/// running is left `running`: its real end is recorded when it comes.
/// A run that this very process spawned and that is still alive (a restore to `latest` on a live Atlas
/// keeps its runs `running`): its runner records its real end when it comes.
fn still_running_here(conn: &Connection, run: &Run) -> Result<bool, CommandError> {
    let row: (Option<i64>, Option<i64>, Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT spawner_pid, spawner_start, pgid, proc_start FROM runs WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([run.id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))))
        .map_err(storage)?;
    let alive = |pid: Option<i64>, started: Option<i64>| {
        let ticks = pid.and_then(|p| i32::try_from(p).ok()).and_then(crate::runner::contain::start_ticks);
        started.is_some() && ticks.map(|t| t as i64) == started
    };
    let spawned_here = row.0 == Some(i64::from(std::process::id()));
    Ok(spawned_here && alive(row.0, row.1) && alive(row.2, row.3))
}

pub(super) fn interrupt_restored(conn: &Connection, actor: &Actor, now: &str) -> Result<Touched, CommandError> {
    let mut stale = runs::with_status(conn, RunStatus::Queued).map_err(storage)?;
    for run in runs::with_status(conn, RunStatus::Running).map_err(storage)? {
        if !still_running_here(conn, &run)? {
            stale.push(run);
        }
    }
    let reason = "interrupted by a restore: it was queued or running when the backup was taken; request it again";
    for run in &stale {
        advance(conn, run, RunStep::InterruptByRestore, Ending { error_log: Some(reason), ..Ending::NONE }, now)?;
        crate::store::search::reindex(conn, "run", run.id.as_str()).map_err(storage)?;
        let error = format!(
            "run {} of task {} was {} in the restored backup; it was not re-run",
            run.id, run.task_id, run.status
        );
        hotlist::record_for_run(conn, run, &error, Severity::High, now)?;
        let payload = serde_json::json!({ "reason": reason, "was": run.status.as_str() });
        insert_event(conn, "run.failed", "run", run.id.as_str(), actor, &payload, now)?;
    }
    Ok(Touched { record_event: false, ..Touched::new("run", "restore", None, Applied::Recovered(stale.len() as u64)) })
}

pub(super) fn recover(conn: &Connection, actor: &Actor, now: &str) -> Result<Touched, CommandError> {
    let interrupted = runs::with_status(conn, RunStatus::Running).map_err(storage)?;
    for run in &interrupted {
        let ending = Ending { error_log: Some("interrupted by restart"), ..Ending::NONE };
        advance(conn, run, RunStep::InterruptByCrash, ending, now)?;
        crate::store::search::reindex(conn, "run", run.id.as_str()).map_err(storage)?;
        let error = format!("run {} of task {} was interrupted by a restart; it was not re-run", run.id, run.task_id);
        hotlist::record_for_run(conn, run, &error, Severity::High, now)?;
        let payload = serde_json::json!({ "reason": "interrupted by restart" });
        insert_event(conn, "run.failed", "run", run.id.as_str(), actor, &payload, now)?;
    }
    Ok(Touched {
        record_event: false,
        ..Touched::new("run", "recovery", None, Applied::Recovered(interrupted.len() as u64))
    })
}
