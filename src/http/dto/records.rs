//! Response bodies.

use atlas_actors::domain::{ApiToken, Approval, HotlistError, Note, Project, Run, Task};
use atlas_actors::store::queries::events::Event;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ProjectDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// active | archived
    pub status: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<Project> for ProjectDto {
    fn from(p: Project) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            description: p.description,
            status: p.status.to_string(),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
            deleted_at: p.deleted_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    /// todo | in_progress | blocked | done
    pub status: String,
    pub assignee: String,
    pub priority: i64,
    /// argv run by `POST /tasks/{id}/run`
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// Variables the command gets: texts, and secrets by name (`{"secret": "pg"}`), never their values.
    #[schema(value_type = Object)]
    pub env: serde_json::Value,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
    pub deleted_at: Option<String>,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.to_string(),
            project_id: t.project_id.to_string(),
            title: t.title,
            description: t.description,
            status: t.status.to_string(),
            assignee: t.assignee,
            priority: t.priority,
            command: t.command,
            cwd: t.cwd,
            timeout_s: t.timeout_s,
            env: serde_json::to_value(&t.env).unwrap_or_default(),
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            approved_at: t.approved_at,
            approved_by: t.approved_by,
            deleted_at: t.deleted_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NoteDto {
    pub author: String,
    pub body: String,
    pub created_at: String,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        Self { author: n.author, body: n.body, created_at: n.created_at }
    }
}

fn notes(notes: Vec<Note>) -> Vec<NoteDto> {
    notes.into_iter().map(Into::into).collect()
}

#[derive(Serialize, ToSchema)]
pub struct ApprovalDto {
    pub id: String,
    /// task | project | config | deployment
    pub item_type: String,
    pub item_id: String,
    /// create | update | delete | execute
    pub action: String,
    pub summary: String,
    /// The change approving applies.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub payload_hash: String,
    pub target_version: Option<i64>,
    /// pending | approved | rejected | expired | superseded
    pub status: String,
    pub requested_at: String,
    pub requested_by: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    /// Why a superseded approval can never apply.
    pub closed_reason: Option<String>,
    pub notes: Vec<NoteDto>,
    /// Distinct approvals the change needs (`[approvals] quorum`).
    pub required_reviews: u32,
    /// Who approved so far; the change applies with the last one needed.
    pub approved_by: Vec<String>,
    /// "1 of 2": approvals given of those needed.
    pub reviews: String,
}

impl From<Approval> for ApprovalDto {
    fn from(a: Approval) -> Self {
        Self {
            id: a.id.to_string(),
            item_type: a.item_type.to_string(),
            item_id: a.item_id,
            action: a.action.to_string(),
            summary: a.summary,
            payload: a.payload,
            payload_hash: a.payload_hash,
            target_version: a.target_version,
            status: a.status.to_string(),
            requested_at: a.requested_at,
            requested_by: a.requested_by,
            reviewed_at: a.reviewed_at,
            reviewed_by: a.reviewed_by,
            closed_reason: a.closed_reason,
            notes: notes(a.notes),
            reviews: format!("{} of {}", a.approved_by.len(), a.required_reviews),
            required_reviews: a.required_reviews,
            approved_by: a.approved_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunDto {
    pub id: String,
    pub task_id: String,
    pub approval_id: Option<String>,
    pub command: Vec<String>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// Variables the command gets: texts, and secrets by name (`{"secret": "pg"}`), never their values.
    #[schema(value_type = Object)]
    pub env: serde_json::Value,
    /// queued | running | success | failed | cancelled | timed_out
    pub status: String,
    pub exit_code: Option<i64>,
    pub output: Option<String>,
    pub error_log: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub notes: Vec<NoteDto>,
}

impl From<Run> for RunDto {
    fn from(r: Run) -> Self {
        Self {
            id: r.id.to_string(),
            task_id: r.task_id.to_string(),
            approval_id: r.approval_id.map(|a| a.to_string()),
            command: r.command,
            cwd: r.cwd,
            timeout_s: r.timeout_s,
            env: serde_json::to_value(&r.env).unwrap_or_default(),
            status: r.status.to_string(),
            exit_code: r.exit_code,
            output: r.output,
            error_log: r.error_log,
            created_at: r.created_at,
            started_at: r.started_at,
            completed_at: r.completed_at,
            notes: notes(r.notes),
        }
    }
}

/// Characters of output (and of the error log) a run list shows per run: the end, where results are.
pub const RUN_EXCERPT_CHARS: usize = 1000;

fn excerpt(text: &mut Option<String>, id: &str) {
    let Some(full) = text.as_ref() else { return };
    let chars = full.chars().count();
    if chars > RUN_EXCERPT_CHARS {
        let tail: String = full.chars().skip(chars - RUN_EXCERPT_CHARS).collect();
        *text =
            Some(format!("[…{} characters before; GET /api/v1/runs/{id} has all] {tail}", chars - RUN_EXCERPT_CHARS));
    }
}

impl RunDto {
    /// For lists: a short excerpt of output and error log, never the whole (`GET /runs/{id}` and the log
    /// endpoint give the rest), so a page of 500 runs stays small.
    pub fn excerpted(mut self) -> Self {
        excerpt(&mut self.output, &self.id);
        excerpt(&mut self.error_log, &self.id);
        self
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDto {
    pub id: String,
    pub task_id: Option<String>,
    pub error: String,
    pub occurred_at: String,
    /// low | medium | high | critical
    pub severity: String,
    pub resolved: bool,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub source: String,
    pub notes: Vec<NoteDto>,
}

impl From<HotlistError> for ErrorDto {
    fn from(e: HotlistError) -> Self {
        Self {
            id: e.id.to_string(),
            task_id: e.task_id.map(|t| t.to_string()),
            error: e.error,
            occurred_at: e.occurred_at,
            severity: e.severity.to_string(),
            resolved: e.resolved,
            resolution: e.resolution,
            resolved_at: e.resolved_at,
            resolved_by: e.resolved_by,
            source: e.source,
            notes: notes(e.notes),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub actor: String,
    /// `command`, and `before`/`after` where they apply.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: String,
}

impl From<Event> for EventDto {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type,
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            actor: e.actor,
            payload: e.payload,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub name: String,
    /// viewer | agent | approver | admin
    pub role: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenDto {
    fn from(t: ApiToken) -> Self {
        Self {
            name: t.name,
            role: t.role.to_string(),
            created_at: t.created_at,
            created_by: t.created_by,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new token: the secret is shown here once and never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedTokenDto {
    pub token: String,
    #[serde(flatten)]
    pub record: TokenDto,
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenDto>,
}
