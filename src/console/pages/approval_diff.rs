//! What an approval's change does, shown three ways: while it waits, against the target as it is now;
//! once approved, as it was decided (the `before` of the audit event the change wrote, never today's row);
//! otherwise (rejected, expired, superseded), only what it proposed. Fields the change leaves as they are
//! are named apart, never drawn as changes.

use crate::http::dto::{EventDto, Payload, ProjectDto, TaskDto};
use crate::http::gate::read;
use crate::http::{ApiError, AppState};
use atlas_actors::domain::{ApprovalId, ItemType, ProjectId, Role, TaskId};
use atlas_actors::store::queries::{approvals, projects, tasks};
use serde_json::{Map, Value};

/// One changed field.
pub struct Change {
    pub field: String,
    /// What the target held (now, or when decided); `None` when only the proposal is shown.
    pub before: Option<String>,
    pub after: String,
}

/// The table the approval page draws, with its headings.
pub struct Diff {
    pub title: &'static str,
    /// The heading of the "before" column, when there is one.
    pub before: Option<&'static str>,
    pub changes: Vec<Change>,
    /// Fields the patch names with the value they already held.
    pub unchanged: Vec<String>,
    /// What the approved change made or touched (kind, id), when it applied: the run it queued, the task.
    pub applied_to: Option<(String, String)>,
}

/// The patch inside a stored update command, wherever the command's shape put it.
fn find_patch(payload: &Value) -> Option<&Map<String, Value>> {
    let object = payload.as_object()?;
    if let Some(patch) = object.get("patch").and_then(Value::as_object) {
        return Some(patch);
    }
    object.values().find_map(find_patch)
}

pub fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The patch's fields against `base` (no base: the proposal alone).
fn compare(patch: &Map<String, Value>, base: Option<&Value>) -> (Vec<Change>, Vec<String>) {
    let (mut changes, mut unchanged) = (Vec::new(), Vec::new());
    for (field, after) in patch.iter().filter(|(_, v)| !v.is_null()) {
        let before = base.map(|b| b.get(field));
        if before == Some(Some(after)) {
            unchanged.push(field.clone());
        } else {
            changes.push(Change { field: field.clone(), before: before.map(shown), after: shown(Some(after)) });
        }
    }
    (changes, unchanged)
}

async fn current_target(state: &AppState, item_type: &str, id: &str, role: Role) -> Result<Option<Value>, ApiError> {
    let id = id.to_owned();
    let target = match item_type.parse::<ItemType>() {
        Ok(ItemType::Task) => match TaskId::parse(&id) {
            Ok(id) => read(state, move |conn| tasks::get(conn, &id))
                .await?
                .map(|t| serde_json::to_value(TaskDto::from(t).shown_to(role))),
            Err(_) => None,
        },
        Ok(ItemType::Project) => match ProjectId::parse(&id) {
            Ok(id) => read(state, move |conn| projects::get(conn, &id))
                .await?
                .map(|p| serde_json::to_value(ProjectDto::from(p).shown_to(role))),
            Err(_) => None,
        },
        _ => None,
    };
    Ok(target.and_then(Result::ok))
}

/// The diff of an approval as `role` may see it (`payload` already shown to that role).
pub async fn of(state: &AppState, approval: &crate::http::dto::ApprovalDto, role: Role) -> Result<Diff, ApiError> {
    let id = ApprovalId::parse(&approval.id).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let event = read(state, move |conn| approvals::applied_event(conn, &id)).await?;
    let event = event.map(|e| EventDto::from(e).shown_to(role));
    let applied_to = event.as_ref().map(|e| (e.aggregate_type.clone(), e.aggregate_id.clone()));
    let empty = Map::new();
    let patch = find_patch(&approval.payload).unwrap_or(&empty);
    let (title, before, base) = match (approval.status.as_str(), &event) {
        ("pending", _) => {
            let now = current_target(state, &approval.item_type, &approval.item_id, role).await?;
            ("What approving changes", Some("Now"), Some(now.unwrap_or(Value::Null)))
        }
        ("approved", Some(event)) => {
            ("What approving changed, as decided", Some("Before"), Some(event.payload["before"].clone()))
        }
        _ => ("What it proposed", None, None),
    };
    let (changes, unchanged) = compare(patch, base.as_ref());
    Ok(Diff { title, before, changes, unchanged, applied_to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_given_the_value_it_holds_is_unchanged_not_a_change() {
        let patch = json!({"status": "in_progress", "title": "new", "assignee": null});
        let base = json!({"status": "in_progress", "title": "old"});
        let (changes, unchanged) = compare(patch.as_object().unwrap(), Some(&base));
        assert_eq!(unchanged, ["status"]);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].before.as_deref(), changes[0].after.as_str()), (Some("old"), "new"));
        let (changes, unchanged) = compare(patch.as_object().unwrap(), None);
        assert!(unchanged.is_empty() && changes.iter().all(|c| c.before.is_none()));
    }
}
