//! Task reads.

use super::decode;
use super::paging::{Cursor, Listed, PageRequest, Select};
use crate::domain::{ProjectId, Task, TaskId, TaskStatus};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, project_id, title, description, status, assignee, priority, command, cwd, timeout_s, \
                       version, created_at, updated_at, approved_at, approved_by, deleted_at, env";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    let command: Option<String> = row.get(7)?;
    Ok(Task {
        id: decode(0, TaskId::parse(&row.get::<_, String>(0)?))?,
        project_id: decode(1, ProjectId::parse(&row.get::<_, String>(1)?))?,
        title: row.get(2)?,
        description: row.get(3)?,
        status: decode(4, row.get::<_, String>(4)?.parse())?,
        assignee: row.get(5)?,
        priority: row.get(6)?,
        command: command.map(|json| decode(7, serde_json::from_str(&json))).transpose()?,
        cwd: row.get(8)?,
        timeout_s: row.get(9)?,
        version: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
        approved_at: row.get(13)?,
        approved_by: row.get(14)?,
        deleted_at: row.get(15)?,
        env: super::env_column(row, 16)?,
    })
}

/// A task by id, including soft-deleted ones.
pub fn get(conn: &Connection, id: &TaskId) -> rusqlite::Result<Option<Task>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"))?
        .query_row([id.as_str()], from_row)
        .optional()
}

/// A live (not deleted) task by id.
pub fn get_live(conn: &Connection, id: &TaskId) -> rusqlite::Result<Option<Task>> {
    Ok(get(conn, id)?.filter(|t| t.deleted_at.is_none()))
}

/// Filters for listing tasks.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub project_id: Option<ProjectId>,
    pub status: Option<TaskStatus>,
    pub assignee: Option<String>,
}

/// Live tasks, newest first.
pub fn list(conn: &Connection, filter: &TaskFilter, page: &PageRequest) -> rusqlite::Result<Listed<Task>> {
    Select::new(format!("SELECT {COLUMNS} FROM tasks WHERE deleted_at IS NULL"))
        .eq("project_id", filter.project_id.as_ref().map(ToString::to_string))
        .eq("status", filter.status.map(|s| s.as_str().to_owned()))
        .eq("assignee", filter.assignee.clone())
        .page(conn, "created_at", "id", false, page, from_row, |t| Cursor {
            at: t.created_at.clone(),
            id: t.id.to_string(),
        })
}

/// How many live tasks a project has.
pub fn live_count_in_project(conn: &Connection, project: &ProjectId) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM tasks WHERE project_id = ?1 AND deleted_at IS NULL")?
        .query_row([project.as_str()], |row| row.get(0))
}
