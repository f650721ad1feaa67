//! Request bodies and query parameters. Unknown fields are refused; query values arrive as text and are
//! parsed by the handlers so that every error names its parameter.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectBody {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProjectBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// active | archived
    pub status: Option<String>,
    /// Apply only if the project is still at this version.
    #[serde(default, deserialize_with = "whole_number")]
    pub expected_version: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskBody {
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    /// todo | in_progress | blocked | done
    pub status: Option<String>,
    pub assignee: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub priority: Option<i64>,
    /// argv: the program and its arguments (no shell).
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub timeout_s: Option<i64>,
    /// Variables the command gets at start: `{"PGHOST": "db1", "PGPASSWORD": {"secret": "pg"}}`. A secret
    /// is named, never given: its value is read when the run starts (`atlas secret set pg`).
    #[schema(value_type = Option<Object>)]
    pub env: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTaskBody {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub priority: Option<i64>,
    pub command: Option<Vec<String>>,
    pub cwd: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub timeout_s: Option<i64>,
    /// Replaces the variables the command gets (`{}` removes them all): `{"PGHOST": "db1", "PGPASSWORD": {"secret": "pg"}}`. A secret
    /// is named, never given: its value is read when the run starts (`atlas secret set pg`).
    #[schema(value_type = Option<Object>)]
    pub env: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "whole_number")]
    pub expected_version: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// Appended to the approval's notes with your name and the time.
    pub notes: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    pub resolution: String,
    pub notes: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseSqlBody {
    /// One SELECT, WITH or EXPLAIN statement.
    pub sql: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    pub name: String,
    /// viewer | agent | approver | admin
    pub role: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// active | archived
    pub status: Option<String>,
    /// 1 to 500, default 50
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub project_id: Option<String>,
    /// todo | in_progress | blocked | done
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// pending | approved | rejected | expired | superseded | all (no filter, as leaving it out)
    pub status: Option<String>,
    /// task | project | config | deployment
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub item_type: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    pub task_id: Option<String>,
    /// queued | running | success | failed | cancelled | timed_out | all (no filter, as leaving it out)
    pub status: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ErrorQuery {
    /// true | false
    pub resolved: Option<String>,
    /// low | medium | high | critical
    pub severity: Option<String>,
    /// newest (default) | severity: critical first, then newest
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// project | task | approval | run | error | token | http
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    pub actor: Option<String>,
    /// e.g. task.created, approval.approved, access.denied
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A whole number as JSON Schema's `integer` has it: `3`, or `3.0` (a number whose fraction is zero).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    let whole = number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64);
    number
        .as_i64()
        .or(whole)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a whole number, got {number}")))
}
