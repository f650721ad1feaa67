//! Project mutations.

use super::{check_version, snapshot, storage, Touched};
use crate::domain::{Applied, CommandError, NewProject, Project, ProjectId, ProjectPatch};
use crate::store::queries::{projects, tasks};
use rusqlite::{params, Connection};

fn live(conn: &Connection, id: &ProjectId) -> Result<Project, CommandError> {
    projects::get_live(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("project", id))
}

fn touched(conn: &Connection, id: &ProjectId, before: Option<&Project>) -> Result<Touched, CommandError> {
    let project = projects::get(conn, id).map_err(storage)?.ok_or_else(|| CommandError::not_found("project", id))?;
    Ok(Touched::new("project", id, before.and_then(snapshot), Applied::Project(project)))
}

pub(super) fn create(conn: &Connection, new: &NewProject, now: &str) -> Result<Touched, CommandError> {
    if projects::get(conn, &new.id).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("project {} already exists", new.id)));
    }
    conn.prepare_cached(
        "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![new.id.as_str(), new.name.trim(), new.description, now]))
    .map_err(storage)?;
    touched(conn, &new.id, None)
}

pub(super) fn update(
    conn: &Connection,
    id: &ProjectId,
    expected_version: Option<i64>,
    patch: &ProjectPatch,
    now: &str,
) -> Result<Touched, CommandError> {
    let current = live(conn, id)?;
    check_version("project", id.as_str(), current.version, expected_version)?;
    conn.prepare_cached(
        "UPDATE projects SET name = ?2, description = ?3, status = ?4, version = version + 1, updated_at = ?5 WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id.as_str(),
            patch.name.as_deref().map_or(current.name.as_str(), str::trim),
            patch.description.as_ref().map_or(current.description.clone(), |d| (!d.is_empty()).then(|| d.clone())),
            patch.status.unwrap_or(current.status).as_str(),
            now
        ])
    })
    .map_err(storage)?;
    touched(conn, id, Some(&current))
}

/// Soft delete. A project with live tasks is kept: deleting it would orphan them.
pub(super) fn delete(conn: &Connection, id: &ProjectId, now: &str) -> Result<Touched, CommandError> {
    let current = live(conn, id)?;
    let open_tasks = tasks::live_count_in_project(conn, id).map_err(storage)?;
    if open_tasks > 0 {
        return Err(CommandError::Conflict(format!(
            "project {id} still has {open_tasks} task(s); delete or move them first"
        )));
    }
    conn.prepare_cached("UPDATE projects SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![id.as_str(), now]))
        .map_err(storage)?;
    touched(conn, id, Some(&current))
}
