//! Task mutations.

use super::{check_version, snapshot, storage, Touched};
use crate::domain::{Applied, CommandError, NewTask, ProjectId, RunEnv, Task, TaskId, TaskPatch, TaskStatus};
use crate::store::queries::{projects, tasks};
use rusqlite::{params, Connection};

pub(super) fn live(conn: &Connection, id: &TaskId) -> Result<Task, CommandError> {
    tasks::get_live(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("task", id))
}

fn touched(conn: &Connection, id: &TaskId, before: Option<&Task>) -> Result<Touched, CommandError> {
    let task = tasks::get(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("task", id))?;
    Ok(Touched::new("task", id, before.and_then(snapshot), Applied::Task(task)))
}

fn require_live_project(conn: &Connection, id: &ProjectId) -> Result<(), CommandError> {
    match projects::get_live(conn, id).map_err(storage)? {
        Some(_) => Ok(()),
        // Not found (404), as the record a path names would be: the request is well formed.
        None => Err(CommandError::not_found("project_id: project", id)),
    }
}

/// Marks a task as created or changed through an approval.
pub(super) fn mark_approved(conn: &Connection, id: &TaskId, approver: &str, now: &str) -> Result<(), CommandError> {
    conn.prepare_cached("UPDATE tasks SET approved_at = ?2, approved_by = ?3 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id.as_str(), now, approver]))
        .map_err(storage)?;
    Ok(())
}

fn argv_json(argv: &[String]) -> Result<String, CommandError> {
    serde_json::to_string(argv).map_err(|err| CommandError::Storage(format!("encoding command: {err}")))
}

/// The `env` column: NULL for none.
pub(super) fn env_json(env: &RunEnv) -> Result<Option<String>, CommandError> {
    (!env.is_empty())
        .then(|| serde_json::to_string(env).map_err(|err| CommandError::Storage(format!("encoding env: {err}"))))
        .transpose()
}

pub(super) fn create(conn: &Connection, new: &NewTask, now: &str) -> Result<Touched, CommandError> {
    if tasks::get(conn, &new.id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("task {} already exists", new.id)));
    }
    require_live_project(conn, &new.project_id)?;
    let command = new.command.as_deref().map(argv_json).transpose()?;
    let env = env_json(&new.env)?;
    conn.prepare_cached(
        "INSERT INTO tasks (id, project_id, title, description, status, assignee, priority, command, cwd, timeout_s, \
         created_at, updated_at, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            new.id.as_str(),
            new.project_id.as_str(),
            new.title.trim(),
            new.description,
            new.status.unwrap_or(TaskStatus::Todo).as_str(),
            new.assignee.as_deref().map_or("User", str::trim),
            new.priority.unwrap_or(0),
            command,
            new.cwd,
            new.timeout_s,
            now,
            env
        ])
    })
    .map_err(storage)?;
    touched(conn, &new.id, None)
}

pub(super) fn update(
    conn: &Connection,
    id: &TaskId,
    expected_version: Option<i64>,
    patch: &TaskPatch,
    now: &str,
) -> Result<Touched, CommandError> {
    let current = live(conn, id)?;
    check_version("task", id.as_str(), current.version, expected_version)?;
    let command = match &patch.command {
        Some(argv) => Some(argv_json(argv)?),
        None => current.command.as_deref().map(argv_json).transpose()?,
    };
    let env = env_json(patch.env.as_ref().unwrap_or(&current.env))?;
    conn.prepare_cached(
        "UPDATE tasks SET title = ?2, description = ?3, status = ?4, assignee = ?5, priority = ?6, command = ?7, \
         cwd = ?8, timeout_s = ?9, version = version + 1, updated_at = ?10, env = ?11 WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id.as_str(),
            patch.title.as_deref().map_or(current.title.as_str(), str::trim),
            patch.description.as_ref().map_or(current.description.clone(), |d| (!d.is_empty()).then(|| d.clone())),
            patch.status.unwrap_or(current.status).as_str(),
            patch.assignee.as_deref().map_or(current.assignee.as_str(), str::trim),
            patch.priority.unwrap_or(current.priority),
            command,
            patch.cwd.clone().or_else(|| current.cwd.clone()),
            patch.timeout_s.or(current.timeout_s),
            now,
            env
        ])
    })
    .map_err(storage)?;
    touched(conn, id, Some(&current))
}

pub(super) fn delete(conn: &Connection, id: &TaskId, now: &str) -> Result<Touched, CommandError> {
    let current = live(conn, id)?;
    conn.prepare_cached("UPDATE tasks SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id.as_str(), now]))
        .map_err(storage)?;
    touched(conn, id, Some(&current))
}
