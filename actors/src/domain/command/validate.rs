//! Checks on a command that need no database, each naming the offending field.

use super::Command;
use crate::domain::access::{validate_new_token_name, validate_token_name};
use crate::domain::error::CommandError;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 10_000;
pub const MAX_ARGV_ITEMS: usize = 256;
pub const MAX_ARG_CHARS: usize = 4_096;
pub const MAX_TIMEOUT_S: i64 = 7 * 24 * 3600;
/// A task's priority is between minus this and this (any order of tasks fits; a float holds it exactly).
pub const MAX_PRIORITY: i64 = 1_000_000_000;

impl Command {
    /// Checks what can be checked without the database, naming the offending field.
    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Self::CreateProject(new) => {
                required_name("name", &new.name)?;
                optional_text("description", new.description.as_deref())
            }
            Self::UpdateProject { patch, expected_version, .. } => {
                version("expected_version", *expected_version)?;
                if let Some(name) = &patch.name {
                    required_name("name", name)?;
                }
                optional_text("description", patch.description.as_deref())
            }
            Self::CreateTask(new) => {
                required_name("title", &new.title)?;
                optional_text("description", new.description.as_deref())?;
                if let Some(assignee) = &new.assignee {
                    required_name("assignee", assignee)?;
                }
                task_execution(new.command.as_deref(), new.cwd.as_deref(), new.timeout_s)?;
                priority(new.priority)?;
                environment(&new.env)
            }
            Self::UpdateTask { patch, expected_version, .. } => {
                version("expected_version", *expected_version)?;
                if let Some(title) = &patch.title {
                    required_name("title", title)?;
                }
                optional_text("description", patch.description.as_deref())?;
                if let Some(assignee) = &patch.assignee {
                    required_name("assignee", assignee)?;
                }
                task_execution(patch.command.as_deref(), patch.cwd.as_deref(), patch.timeout_s)?;
                priority(patch.priority)?;
                patch.env.as_ref().map_or(Ok(()), environment)
            }
            Self::QueueRun(run) => {
                task_execution(Some(&run.command), run.cwd.as_deref(), run.timeout_s)?;
                environment(&run.env)
            }
            Self::RequestApproval { change, .. } => match change.target() {
                Some(_) => change.validate(),
                None => {
                    Err(CommandError::invalid("change", format!("{} cannot wait for approval", change.event_type())))
                }
            },
            Self::ReviewApproval { notes, .. } => optional_text("notes", notes.as_deref()),
            Self::ResolveError { resolution, notes, .. } => {
                if resolution.trim().is_empty() {
                    return Err(CommandError::invalid("resolution", "must not be empty"));
                }
                optional_text("resolution", Some(resolution))?;
                optional_text("notes", notes.as_deref())
            }
            Self::RecordError(new) => {
                if new.error.trim().is_empty() {
                    return Err(CommandError::invalid("error", "must not be empty"));
                }
                required_name("source", &new.source)
            }
            Self::ReceiveAlert(alert) => {
                if alert.error.trim().is_empty() {
                    return Err(CommandError::invalid("error", "must not be empty"));
                }
                let key = &alert.fingerprint;
                if key.is_empty() || key.chars().count() > 128 || key.chars().any(char::is_control) {
                    return Err(CommandError::invalid("fingerprint", "1 to 128 characters, no control characters"));
                }
                optional_text("error", Some(&alert.error))?;
                required_name("source", &alert.source)
            }
            Self::CreateToken { name, .. } => {
                validate_new_token_name(name).map_err(|message| CommandError::invalid("name", message))
            }
            Self::RevokeToken { name } => {
                validate_token_name(name).map_err(|message| CommandError::invalid("name", message))
            }
            Self::AddNote { body, .. } => {
                if body.trim().is_empty() {
                    return Err(CommandError::invalid("body", "must not be empty"));
                }
                optional_text("body", Some(body))
            }
            Self::RetryDelivery { delivery_id }
                if delivery_id.is_empty()
                    || delivery_id.len() > 64
                    || !delivery_id.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                Err(CommandError::invalid("delivery_id", "not a delivery id (hex, as X-Atlas-Delivery carries it)"))
            }
            Self::RetryDelivery { .. } => Ok(()),
            Self::EnableSink { sink }
                if sink.is_empty()
                    || sink.len() > 64
                    || !sink.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') =>
            {
                Err(CommandError::invalid("name", "not a sink name (1-64 of a-z, 0-9, '-' and '_')"))
            }
            Self::EnableSink { .. } => Ok(()),
            Self::Run(run) => run.validate(),
            Self::Sheet(sheet) => sheet.validate(),
            Self::Record(record) => record.validate(),
            Self::DeleteProject { .. } | Self::DeleteTask { .. } | Self::ExpireApprovals { .. } => Ok(()),
        }
    }
}

pub(super) fn required_name(field: &str, value: &str) -> Result<(), CommandError> {
    if value.trim().is_empty() {
        return Err(CommandError::invalid(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(CommandError::invalid(field, format!("must be at most {MAX_NAME_CHARS} characters, got {chars}")));
    }
    Ok(())
}

pub(super) fn required_text(field: &str, value: &str) -> Result<(), CommandError> {
    if value.trim().is_empty() {
        return Err(CommandError::invalid(field, "must not be empty"));
    }
    optional_text(field, Some(value))
}

fn optional_text(field: &str, value: Option<&str>) -> Result<(), CommandError> {
    match value.map(|v| v.chars().count()) {
        Some(chars) if chars > MAX_TEXT_CHARS => {
            Err(CommandError::invalid(field, format!("must be at most {MAX_TEXT_CHARS} characters, got {chars}")))
        }
        _ => Ok(()),
    }
}

fn version(field: &str, value: Option<i64>) -> Result<(), CommandError> {
    match value {
        Some(v) if v < 1 => Err(CommandError::invalid(field, format!("must be 1 or more, got {v}"))),
        _ => Ok(()),
    }
}

fn priority(value: Option<i64>) -> Result<(), CommandError> {
    match value {
        Some(p) if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&p) => Err(CommandError::invalid(
            "priority",
            format!("must be a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}, got {p}"),
        )),
        _ => Ok(()),
    }
}

fn environment(env: &crate::domain::RunEnv) -> Result<(), CommandError> {
    crate::domain::env::validate(env).map_err(|(field, why)| CommandError::invalid(field, why))
}

fn task_execution(command: Option<&[String]>, cwd: Option<&str>, timeout_s: Option<i64>) -> Result<(), CommandError> {
    if let Some(argv) = command {
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err(CommandError::invalid(
                "command",
                "must be a non-empty argv array whose first item names the program",
            ));
        }
        if argv.len() > MAX_ARGV_ITEMS {
            return Err(CommandError::invalid(
                "command",
                format!("must have at most {MAX_ARGV_ITEMS} items, got {}", argv.len()),
            ));
        }
        if let Some(long) = argv.iter().position(|arg| arg.chars().count() > MAX_ARG_CHARS || arg.contains('\0')) {
            return Err(CommandError::invalid(
                "command",
                format!("item {long} must be at most {MAX_ARG_CHARS} characters with no NUL byte"),
            ));
        }
    }
    if let Some(dir) = cwd {
        if dir.is_empty() || dir.chars().count() > MAX_ARG_CHARS || dir.contains('\0') {
            return Err(CommandError::invalid("cwd", format!("must be a path of 1 to {MAX_ARG_CHARS} characters")));
        }
    }
    match timeout_s {
        Some(t) if !(1..=MAX_TIMEOUT_S).contains(&t) => {
            Err(CommandError::invalid("timeout_s", format!("must be between 1 and {MAX_TIMEOUT_S} seconds, got {t}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::{NewTask, ProjectPatch};
    use crate::domain::ids::{ProjectId, TaskId};

    fn new_task() -> NewTask {
        NewTask {
            command: Some(vec!["echo".into(), "hi".into()]),
            timeout_s: Some(60),
            ..NewTask::titled(TaskId::generate(), ProjectId::generate(), "Nightly report")
        }
    }

    #[test]
    fn a_valid_task_passes() {
        assert_eq!(Command::CreateTask(new_task()).validate(), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(NewTask, &str)> = vec![
            (NewTask { title: "  ".into(), ..new_task() }, "title"),
            (NewTask { command: Some(vec![]), ..new_task() }, "command"),
            (NewTask { command: Some(vec!["a\0b".into()]), ..new_task() }, "command"),
            (NewTask { timeout_s: Some(0), ..new_task() }, "timeout_s"),
            (NewTask { cwd: Some(String::new()), ..new_task() }, "cwd"),
            (NewTask { assignee: Some("x".repeat(201)), ..new_task() }, "assignee"),
            (NewTask { description: Some("x".repeat(10_001)), ..new_task() }, "description"),
        ];
        for (task, field) in cases {
            match Command::CreateTask(task).validate() {
                Err(CommandError::Invalid { field: named, .. }) => assert_eq!(named, field),
                other => panic!("expected invalid {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn update_rejects_a_nonsense_expected_version() {
        let cmd = Command::UpdateProject {
            id: ProjectId::generate(),
            expected_version: Some(0),
            patch: ProjectPatch::default(),
        };
        assert!(matches!(cmd.validate(), Err(CommandError::Invalid { field, .. }) if field == "expected_version"));
    }

    fn alert_received(firing: bool) -> Command {
        Command::ReceiveAlert(super::super::ReceivedAlert {
            id: crate::domain::ErrorId::generate(),
            source: "alertmanager".into(),
            fingerprint: "1a30ba71cca2921f".into(),
            firing,
            error: "ProbeFailure".into(),
            severity: crate::domain::Severity::High,
            ended_at: None,
        })
    }

    #[test]
    fn every_command_names_its_event() {
        use crate::domain::command::*;
        use crate::domain::ids::{ApprovalId, ErrorId, RunId};
        use crate::domain::{Role, RunStatus, Severity};
        let (project, task, run) = (ProjectId::generate(), TaskId::generate(), RunId::generate());
        let new_run = NewRun {
            id: run.clone(),
            task_id: task.clone(),
            command: vec!["true".into()],
            cwd: None,
            timeout_s: None,
            env: Default::default(),
            executor: None,
        };
        let result = |status| RunResult {
            id: run.clone(),
            status,
            exit_code: None,
            output: None,
            error_log: None,
            severity: None,
        };
        let review = |decision| Command::ReviewApproval {
            id: ApprovalId::generate(),
            decision,
            notes: None,
            allow_self_approval: false,
            via: None,
        };
        let cell = SheetCell { tab: "Runs".into(), row_id: "run-1".into(), column: 7, value: "x".into() };
        let note = Command::AddNote { target: NoteTarget::Run(run.clone()), body: "b".into() };
        let sync = SyncOutcome {
            direction: "import".into(),
            ok: true,
            error: None,
            requests: 1,
            edits_applied: 0,
            edits_rejected: 0,
            deferred: false,
        };
        let backup = |action: &str, ok| {
            Command::Record(Record::Backup { id: "b".into(), action: action.into(), ok, detail: String::new() })
        };
        let restored = |to: Option<&str>| super::super::Restored {
            from: "b".into(),
            to: to.map(str::to_owned),
            from_remote: false,
            safety_backup: "s".into(),
            detail: String::new(),
        };
        let alert = |kind: &str| {
            Command::Record(Record::Alert {
                key: "k".into(),
                kind: kind.into(),
                detail: String::new(),
                delivered: true,
            })
        };
        let access = |allowed| {
            Command::Record(Record::Access {
                method: "GET".into(),
                path: "/".into(),
                role: Role::Viewer,
                needed: "read".into(),
                allowed,
            })
        };
        // One of each variant (and of each event a variant can name): a new variant must be added here,
        // or the match below stops compiling.
        let all: Vec<(Command, &str)> = vec![
            (
                Command::CreateProject(NewProject { id: project.clone(), name: "p".into(), description: None }),
                "project.created",
            ),
            (
                Command::UpdateProject { id: project.clone(), expected_version: None, patch: ProjectPatch::default() },
                "project.updated",
            ),
            (Command::DeleteProject { id: project }, "project.deleted"),
            (Command::CreateTask(new_task()), "task.created"),
            (
                Command::UpdateTask { id: task.clone(), expected_version: None, patch: TaskPatch::default() },
                "task.updated",
            ),
            (Command::DeleteTask { id: task }, "task.deleted"),
            (Command::QueueRun(new_run.clone()), "run.queued"),
            (
                Command::RequestApproval { id: ApprovalId::generate(), change: Box::new(Command::QueueRun(new_run)) },
                "approval.requested",
            ),
            (review(Decision::Approve), "approval.approved"),
            (review(Decision::Reject), "approval.rejected"),
            (Command::ExpireApprovals { requested_before: "2026".into() }, "approval.expired"),
            (
                Command::RecordError(NewHotlistError {
                    id: ErrorId::generate(),
                    task_id: None,
                    error: "e".into(),
                    severity: Severity::Low,
                    source: "s".into(),
                }),
                "error.recorded",
            ),
            (alert_received(true), "error.alert_firing"),
            (alert_received(false), "error.alert_resolved"),
            (Command::ResolveError { id: ErrorId::generate(), resolution: "r".into(), notes: None }, "error.resolved"),
            (
                Command::CreateToken { name: "t".into(), role: Role::Viewer, token_hash: "0".repeat(64) },
                "token.created",
            ),
            (Command::RevokeToken { name: "t".into() }, "token.revoked"),
            (Command::Run(RunCommand::Start { id: run.clone() }), "run.started"),
            (
                Command::Run(RunCommand::NoteProcess {
                    id: run.clone(),
                    pgid: 1,
                    start_ticks: 1,
                    instance: "i".into(),
                    spawner: None,
                }),
                "run.process_started",
            ),
            (Command::Run(RunCommand::Finish(result(RunStatus::Success))), "run.succeeded"),
            (Command::Run(RunCommand::Finish(result(RunStatus::Failed))), "run.failed"),
            (Command::Run(RunCommand::Finish(result(RunStatus::TimedOut))), "run.timed_out"),
            (Command::Run(RunCommand::Finish(result(RunStatus::Cancelled))), "run.cancelled"),
            (Command::Run(RunCommand::CancelQueued { id: run }), "run.cancelled"),
            (Command::Run(RunCommand::RecoverInterrupted), "run.recovered"),
            (Command::Run(RunCommand::InterruptRestored), "run.recovered"),
            (note.clone(), "note.added"),
            (
                Command::Sheet(SheetCommand::RejectEdit {
                    tab: "Runs".into(),
                    row_id: "r".into(),
                    column: None,
                    reason: "x".into(),
                    note_on: None,
                    cell: None,
                }),
                "sheets.edit_rejected",
            ),
            (Command::Sheet(SheetCommand::Import { cell: cell.clone(), edit: Box::new(note) }), "note.added"),
            (
                Command::Sheet(SheetCommand::RecordCells { cells: vec![cell], removed: Vec::new() }),
                "sheets.baseline_recorded",
            ),
            (
                Command::Sheet(SheetCommand::ColumnLoose { reviewer: "alice".into(), reason: "x".into() }),
                "sheets.column_loose",
            ),
            (
                Command::Sheet(SheetCommand::ColumnCleared {
                    reviewer: "alice".into(),
                    tab: "Pending_Approvals".into(),
                    column: 8,
                }),
                "sheets.column_cleared",
            ),
            (Command::Sheet(SheetCommand::Synced(sync)), "sheets.synced"),
            (backup("created", true), "backup.created"),
            (backup("verified", true), "backup.verified"),
            (backup("verified", false), "backup.verify_failed"),
            (backup("restored", true), "backup.restored"),
            (backup("uploaded", true), "backup.uploaded"),
            (backup("uploaded", false), "backup.upload_failed"),
            (backup("downloaded", true), "backup.downloaded"),
            (backup("pruned_remote", true), "backup.pruned_remote"),
            (backup("promoted", true), "backup.promoted"),
            (backup("pitr_restored", true), "backup.pitr_restored"),
            (backup("pitr_restored", false), "backup.pitr_restore_failed"),
            (backup("pitr_drilled", true), "backup.pitr_drilled"),
            (backup("pitr_drilled", false), "backup.pitr_drill_failed"),
            (backup("pruned", true), "backup.pruned"),
            (Command::Record(Record::Restore(restored(None))), "backup.restored"),
            (Command::Record(Record::Restore(restored(Some("latest")))), "backup.pitr_restored"),
            (alert("fired"), "alert.fired"),
            (alert("reminded"), "alert.reminded"),
            (alert("resolved"), "alert.resolved"),
            (Command::Record(Record::Maintenance { action: "vacuum".into(), detail: String::new() }), "db.maintained"),
            (
                Command::Record(Record::Undelivered {
                    event_id: 1,
                    recipient: "channel:chat".into(),
                    detail: String::new(),
                }),
                "notify.undelivered",
            ),
            (Command::RetryDelivery { delivery_id: "ab12".into() }, "sink.delivery_retried"),
            (Command::EnableSink { sink: "chat".into() }, "sink.enabled"),
            (
                Command::Record(Record::JobRun {
                    job: "j".into(),
                    started_at: "a".into(),
                    finished_at: "b".into(),
                    ok: true,
                    detail: String::new(),
                }),
                "schedule.job_ran",
            ),
            (Command::Record(Record::Query { sql: "SELECT 1".into(), outcome: "1 row".into() }), "browser.queried"),
            (Command::Record(Record::Session { signed_in: true, role: Role::Viewer }), "console.signed_in"),
            (Command::Record(Record::Session { signed_in: false, role: Role::Viewer }), "console.signed_out"),
            (access(false), "access.denied"),
            (access(true), "access.admin"),
        ];
        for (command, expected) in &all {
            assert_eq!(command.event_type(), *expected, "{command:?}");
            // Exhaustive on purpose: a new variant fails to compile until it is listed above.
            match command {
                Command::CreateProject(_)
                | Command::UpdateProject { .. }
                | Command::DeleteProject { .. }
                | Command::CreateTask(_)
                | Command::UpdateTask { .. }
                | Command::DeleteTask { .. }
                | Command::QueueRun(_)
                | Command::RequestApproval { .. }
                | Command::ReviewApproval { .. }
                | Command::ExpireApprovals { .. }
                | Command::RecordError(_)
                | Command::ReceiveAlert(_)
                | Command::ResolveError { .. }
                | Command::CreateToken { .. }
                | Command::RevokeToken { .. }
                | Command::Run(RunCommand::Start { .. })
                | Command::Run(RunCommand::NoteProcess { .. })
                | Command::Run(RunCommand::Finish(_))
                | Command::Run(RunCommand::CancelQueued { .. })
                | Command::Run(RunCommand::RecoverInterrupted)
                | Command::Run(RunCommand::InterruptRestored)
                | Command::AddNote { .. }
                | Command::Sheet(SheetCommand::RejectEdit { .. })
                | Command::Sheet(SheetCommand::Import { .. })
                | Command::Sheet(SheetCommand::RecordCells { .. })
                | Command::Sheet(SheetCommand::ColumnLoose { .. })
                | Command::Sheet(SheetCommand::ColumnCleared { .. })
                | Command::Sheet(SheetCommand::Synced(_))
                | Command::Record(Record::Backup { .. })
                | Command::Record(Record::Restore(_))
                | Command::Record(Record::Alert { .. })
                | Command::Record(Record::Undelivered { .. })
                | Command::Record(Record::Maintenance { .. })
                | Command::RetryDelivery { .. }
                | Command::EnableSink { .. }
                | Command::Record(Record::JobRun { .. })
                | Command::Record(Record::Query { .. })
                | Command::Record(Record::Session { .. })
                | Command::Record(Record::Access { .. }) => {}
            }
        }
        // Each variant has its own wire tag (`type`), the same it had before the groups were split out,
        // and survives a round trip through it.
        let tags: std::collections::HashSet<String> =
            all.iter().map(|(c, _)| serde_json::to_value(c).unwrap()["type"].as_str().unwrap().to_owned()).collect();
        assert_eq!(tags.len(), 39, "every variant is in the list: {tags:?}");
        for tag in ["start_run", "finish_run", "from_sheet", "record_sync", "record_alert", "record_access"] {
            assert!(tags.contains(tag), "{tag} keeps its wire name");
        }
        for (command, _) in &all {
            let back: Command = serde_json::from_value(serde_json::to_value(command).unwrap()).unwrap();
            assert_eq!(&back, command);
        }
    }
}
