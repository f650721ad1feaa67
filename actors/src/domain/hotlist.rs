//! The Errors_Hotlist: things that went wrong and wait for a human to resolve them.

use super::approval::Note;
use super::ids::{ErrorId, TaskId};
use serde::Serialize;

string_enum!(
    /// How bad it is.
    Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
);

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HotlistError {
    pub id: ErrorId,
    pub task_id: Option<TaskId>,
    pub error: String,
    pub occurred_at: String,
    pub severity: Severity,
    pub resolved: bool,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// What reported it: `runner`, `sheets`, `backup`, `health`, …
    pub source: String,
    pub notes: Vec<Note>,
}
