//! The records Atlas keeps, as the rest of the program sees them. Plain data: no storage, no transport.

use super::ids::{ProjectId, TaskId};
use serde::Serialize;

string_enum!(
    /// Whether a project is in use.
    ProjectStatus { Active => "active", Archived => "archived" }
);

string_enum!(
    /// Where a task stands.
    TaskStatus { Todo => "todo", InProgress => "in_progress", Blocked => "blocked", Done => "done" }
);

/// A project: a named group of tasks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub description: Option<String>,
    pub status: ProjectStatus,
    /// Bumped on every change; approvals pin it to detect stale requests.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

/// A task, optionally carrying the command a run of it executes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    pub assignee: String,
    pub priority: i64,
    /// argv: the program and its arguments; never passed through a shell unless the task says so.
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// Variables the command gets; secrets by name only.
    pub env: super::env::RunEnv,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Set when the task was created or changed through an approval.
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
    pub deleted_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_list_their_spellings_on_error() {
        for raw in TaskStatus::ALL {
            assert_eq!(raw.parse::<TaskStatus>().unwrap().as_str(), *raw);
        }
        let err = "finished".parse::<TaskStatus>().unwrap_err();
        assert_eq!(err, "must be one of todo|in_progress|blocked|done, got \"finished\"");
    }
}
