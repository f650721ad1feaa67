//! The closed set of mutations the writer applies, each in a transaction together with its audit
//! event(s). `Command` holds what people and agents ask for (projects, tasks, approvals, the hotlist,
//! tokens, notes); three groups live in their own enums beside it: a run's life after it was queued
//! (`lifecycle.rs`), the Sheets mirror's writes (`sheet.rs`), and records that only write an audit event
//! (`record.rs`). On the wire (audit payloads) each keeps the one `type` tag it always had. Adding a
//! mutation means adding a variant to one of them. Work on the writer's connection that is not a
//! command (a vacuum, the shipper's trims) is `store::writer::maintain`.

mod lifecycle;
mod record;
mod sheet;
mod validate;

pub use lifecycle::RunCommand;
pub use record::{Record, Restored, BACKUP_ACTIONS};
pub use sheet::SheetCommand;

pub use validate::{MAX_ARGV_ITEMS, MAX_ARG_CHARS, MAX_NAME_CHARS, MAX_PRIORITY, MAX_TEXT_CHARS, MAX_TIMEOUT_S};

use super::access::{ApiToken, Role};
use super::approval::{Approval, ItemAction, ItemType};
use super::entities::{Project, ProjectStatus, Task, TaskStatus};
use super::env::RunEnv;
use super::hotlist::{HotlistError, Severity};
use super::ids::{ApprovalId, ErrorId, ProjectId, RunId, TaskId};
use super::run::{Run, RunStatus};
use serde::{Deserialize, Serialize};

/// Who asked for a change, as recorded in the audit trail (a token's name, `cli`, `sheets`, `system`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
    /// Atlas itself (recoveries, scheduled jobs).
    pub fn system() -> Self {
        Self::new("system")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewProject {
    pub id: ProjectId,
    pub name: String,
    pub description: Option<String>,
}

/// Fields left `None` stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProjectStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub assignee: Option<String>,
    pub priority: Option<i64>,
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// Variables the command gets (secrets by name); empty = none.
    #[serde(default, skip_serializing_if = "RunEnv::is_empty")]
    pub env: RunEnv,
}

impl NewTask {
    /// A task with only its title: every other field takes its default.
    pub fn titled(id: TaskId, project_id: ProjectId, title: impl Into<String>) -> Self {
        Self {
            id,
            project_id,
            title: title.into(),
            description: None,
            status: None,
            assignee: None,
            priority: None,
            command: None,
            cwd: None,
            timeout_s: None,
            env: RunEnv::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub assignee: Option<String>,
    pub priority: Option<i64>,
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// Replaces the whole environment (`{}` empties it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<RunEnv>,
}

/// A run to queue: a snapshot of the task's command, so what runs is exactly what was approved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub id: RunId,
    pub task_id: TaskId,
    pub command: Vec<String>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// The task's environment, as requested: secrets by name, read when the run starts.
    #[serde(default, skip_serializing_if = "RunEnv::is_empty")]
    pub env: RunEnv,
    /// For `["@profile", …]`: what the profile resolved to at request time (required for such runs).
    #[serde(default)]
    pub executor: Option<super::run::PinnedExecutor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewHotlistError {
    pub id: ErrorId,
    pub task_id: Option<TaskId>,
    pub error: String,
    pub severity: Severity,
    pub source: String,
}

/// An alert from outside (Alertmanager): the hotlist entry it opens, updates or resolves, found by
/// `source` and `fingerprint` among the open ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceivedAlert {
    /// The id a new entry gets (an open entry with this fingerprint keeps its own).
    pub id: ErrorId,
    pub source: String,
    pub fingerprint: String,
    /// Firing (open or update), or resolved (resolve).
    pub firing: bool,
    /// What the entry says: the alert's name and summary.
    pub error: String,
    pub severity: Severity,
    /// When the sender says it ended (a resolved alert), as it wrote it.
    pub ended_at: Option<String>,
}

impl ReceivedAlert {
    /// A key for an alert that came without a fingerprint: its label set, hashed (the same labels, the
    /// same alert, as Alertmanager's own fingerprint means).
    pub fn fingerprint_of(labels: &std::collections::BTreeMap<String, String>) -> String {
        use sha2::Digest;
        let labels = serde_json::to_string(labels).unwrap_or_default();
        format!("labels-{}", &hex::encode(sha2::Sha256::digest(labels.as_bytes()))[..16])
    }
}

/// What a note is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum NoteTarget {
    Approval(ApprovalId),
    Run(RunId),
    Error(ErrorId),
}

/// One Sheets sync direction's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncOutcome {
    /// `import` or `export`
    pub direction: String,
    pub ok: bool,
    pub error: Option<String>,
    pub requests: u64,
    pub edits_applied: u64,
    pub edits_rejected: u64,
    /// The cycle met Google's quota and was put off: not a failure (nothing was judged or written).
    #[serde(default)]
    pub deferred: bool,
}

/// One human-editable cell as Atlas last saw or wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SheetCell {
    pub tab: String,
    pub row_id: String,
    pub column: u8,
    pub value: String,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub id: RunId,
    /// success | failed | timed_out | cancelled
    pub status: RunStatus,
    pub exit_code: Option<i64>,
    pub output: Option<String>,
    pub error_log: Option<String>,
    /// The hotlist entry's severity for a failure or timeout (none for success and cancel).
    pub severity: Option<Severity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// Every mutation Atlas knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    CreateProject(NewProject),
    UpdateProject {
        id: ProjectId,
        expected_version: Option<i64>,
        patch: ProjectPatch,
    },
    /// Soft delete: the row stays for the audit trail but is hidden and never exported.
    DeleteProject {
        id: ProjectId,
    },
    CreateTask(NewTask),
    UpdateTask {
        id: TaskId,
        expected_version: Option<i64>,
        patch: TaskPatch,
    },
    DeleteTask {
        id: TaskId,
    },
    /// Queues a run of a task's command (an `execute`).
    QueueRun(NewRun),
    /// Stores `change` as a pending approval instead of applying it.
    RequestApproval {
        id: ApprovalId,
        change: Box<Command>,
    },
    /// Approves (applying the stored change in the same transaction) or rejects a pending approval.
    ReviewApproval {
        id: ApprovalId,
        decision: Decision,
        notes: Option<String>,
        allow_self_approval: bool,
        /// Where the decision was made when not over HTTP (a sheet column and its Google account).
        #[serde(default)]
        via: Option<String>,
    },
    /// Marks approvals still pending that were requested before the cutoff as expired.
    ExpireApprovals {
        requested_before: String,
    },
    RecordError(NewHotlistError),
    /// An alert from outside: opens, updates or resolves its hotlist entry.
    ReceiveAlert(ReceivedAlert),
    ResolveError {
        id: ErrorId,
        resolution: String,
        notes: Option<String>,
    },
    /// `token_hash` is the SHA-256 of the token; the token itself never reaches the writer.
    CreateToken {
        name: String,
        role: Role,
        token_hash: String,
    },
    RevokeToken {
        name: String,
    },
    /// Puts a dead sink delivery back in its queue (attempts from zero, due now).
    RetryDelivery {
        delivery_id: String,
    },
    /// Delivers to a sink again after its receiver answered 410 Gone.
    EnableSink {
        sink: String,
    },
    /// Appends a note (from the sheet, or Atlas explaining a rejected edit).
    AddNote {
        target: NoteTarget,
        body: String,
    },
    /// A run's life after it was queued: the runner's and recovery's steps (`lifecycle.rs`).
    #[serde(untagged)]
    Run(RunCommand),
    /// The Sheets mirror's bookkeeping and the human edits it imports (`sheet.rs`).
    #[serde(untagged)]
    Sheet(SheetCommand),
    /// What only writes an audit event: it changes no other state (`record.rs`).
    #[serde(untagged)]
    Record(Record),
}

/// The state a successful command left behind, returned to the caller after COMMIT.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Applied {
    Project(Project),
    Task(Task),
    Approval(Approval),
    /// An approve found the approval could never apply (payload or target changed): it was closed as
    /// `superseded`, committed with its event and hotlist entry; the caller is told why.
    Superseded {
        approval: Approval,
        reason: String,
    },
    Run(Run),
    Error(HotlistError),
    Token(ApiToken),
    /// How many approvals expired.
    Expired(u64),
    /// How many interrupted runs were marked failed.
    Recovered(u64),
    JobRecorded,
    Noted,
    Access,
}

/// What the caller gets back once the command's transaction committed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommandOutcome {
    /// The (last) audit event written with the change.
    pub event_id: i64,
    pub applied: Applied,
}

/// The longest SQL the data browser accepts (and audits).
pub const MAX_QUERY_CHARS: usize = 20_000;

impl Command {
    /// The event type recorded with this command (`aggregate.verb`).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::CreateProject(_) => "project.created",
            Self::UpdateProject { .. } => "project.updated",
            Self::DeleteProject { .. } => "project.deleted",
            Self::CreateTask(_) => "task.created",
            Self::UpdateTask { .. } => "task.updated",
            Self::DeleteTask { .. } => "task.deleted",
            Self::QueueRun(_) => "run.queued",
            Self::RequestApproval { .. } => "approval.requested",
            Self::ReviewApproval { decision: Decision::Approve, .. } => "approval.approved",
            Self::ReviewApproval { decision: Decision::Reject, .. } => "approval.rejected",
            Self::ExpireApprovals { .. } => "approval.expired",
            Self::RecordError(_) => "error.recorded",
            Self::ReceiveAlert(alert) if alert.firing => "error.alert_firing",
            Self::ReceiveAlert(_) => "error.alert_resolved",
            Self::ResolveError { .. } => "error.resolved",
            Self::CreateToken { .. } => "token.created",
            Self::RevokeToken { .. } => "token.revoked",
            Self::AddNote { .. } => "note.added",
            Self::RetryDelivery { .. } => "sink.delivery_retried",
            Self::EnableSink { .. } => "sink.enabled",
            Self::Run(run) => run.event_type(),
            Self::Sheet(sheet) => sheet.event_type(),
            Self::Record(record) => record.event_type(),
        }
    }

    /// What a change is about, for the approval gate; `None` for commands that are not gateable changes.
    pub fn target(&self) -> Option<(ItemType, ItemAction, String)> {
        let (item_type, action, id) = match self {
            Self::CreateProject(new) => (ItemType::Project, ItemAction::Create, new.id.to_string()),
            Self::UpdateProject { id, .. } => (ItemType::Project, ItemAction::Update, id.to_string()),
            Self::DeleteProject { id } => (ItemType::Project, ItemAction::Delete, id.to_string()),
            Self::CreateTask(new) => (ItemType::Task, ItemAction::Create, new.id.to_string()),
            Self::UpdateTask { id, .. } => (ItemType::Task, ItemAction::Update, id.to_string()),
            Self::DeleteTask { id } => (ItemType::Task, ItemAction::Delete, id.to_string()),
            Self::QueueRun(run) => (ItemType::Task, ItemAction::Execute, run.task_id.to_string()),
            _ => return None,
        };
        Some((item_type, action, id))
    }

    /// A one-line description for people (the sheet's Item column): the target's name, when it has one
    /// (`target_name`, read when the change was requested), with its id.
    pub fn summary(&self, target_name: Option<&str>) -> String {
        let named = |what: &str, id: &dyn std::fmt::Display| match target_name {
            Some(name) => format!("{what} {name:?} ({id})"),
            None => format!("{what} {id}"),
        };
        match self {
            Self::CreateProject(new) => format!("create project {:?}", new.name),
            Self::UpdateProject { id, .. } => named("update project", id),
            Self::DeleteProject { id } => named("delete project", id),
            Self::CreateTask(new) => format!("create task {:?}", new.title),
            Self::UpdateTask { id, .. } => named("update task", id),
            Self::DeleteTask { id } => named("delete task", id),
            Self::QueueRun(run) => format!("{}: {}", named("run task", &run.task_id), run.command.join(" ")),
            other => other.event_type().to_owned(),
        }
    }

    /// The command as written into the audit trail: secrets (token hashes) left out.
    pub fn audit_payload(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            // Secrets never reach the audit trail; bulky run output lives in the runs table only.
            for key in ["token_hash", "output", "error_log"] {
                object.remove(key);
            }
        }
        value
    }
}
