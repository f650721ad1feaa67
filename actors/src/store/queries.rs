//! Read queries shared by the writer (to read back what it wrote) and the read pool's users.
//! They take any `&Connection`; none of them writes.

use crate::domain::{Project, ProjectId, Task, TaskId};
use rusqlite::{Connection, OptionalExtension, Row};

const PROJECT_COLUMNS: &str =
    "id, name, description, status, version, created_at, updated_at, deleted_at";
const TASK_COLUMNS: &str =
    "id, project_id, title, description, status, assignee, priority, command, cwd, \
                            timeout_s, version, created_at, updated_at, deleted_at";

/// Turns a stored enum or JSON that the CHECK constraints should have kept valid into a row error.
fn decode<T, E: std::fmt::Display>(column: usize, parsed: Result<T, E>) -> rusqlite::Result<T> {
    parsed.map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            err.to_string().into(),
        )
    })
}

fn project_from_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: decode(0, ProjectId::parse(&row.get::<_, String>(0)?))?,
        name: row.get(1)?,
        description: row.get(2)?,
        status: decode(3, row.get::<_, String>(3)?.parse())?,
        version: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        deleted_at: row.get(7)?,
    })
}

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    let command: Option<String> = row.get(7)?;
    Ok(Task {
        id: decode(0, TaskId::parse(&row.get::<_, String>(0)?))?,
        project_id: decode(1, ProjectId::parse(&row.get::<_, String>(1)?))?,
        title: row.get(2)?,
        description: row.get(3)?,
        status: decode(4, row.get::<_, String>(4)?.parse())?,
        assignee: row.get(5)?,
        priority: row.get(6)?,
        command: command
            .map(|json| decode(7, serde_json::from_str(&json)))
            .transpose()?,
        cwd: row.get(8)?,
        timeout_s: row.get(9)?,
        version: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
        deleted_at: row.get(13)?,
    })
}

/// A project by id, including soft-deleted ones (callers decide whether those count).
pub fn project(conn: &Connection, id: &ProjectId) -> rusqlite::Result<Option<Project>> {
    conn.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1"
    ))?
    .query_row([id.as_str()], project_from_row)
    .optional()
}

/// A task by id, including soft-deleted ones.
pub fn task(conn: &Connection, id: &TaskId) -> rusqlite::Result<Option<Task>> {
    conn.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?
        .query_row([id.as_str()], task_from_row)
        .optional()
}

/// Live (not deleted) projects, oldest first, at most `limit`.
pub fn live_projects(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<Project>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], project_from_row)?;
    rows.collect()
}

/// Live tasks that belong to a project.
pub fn live_tasks_of_project(
    conn: &Connection,
    project: &ProjectId,
) -> rusqlite::Result<Vec<Task>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([project.as_str()], task_from_row)?;
    rows.collect()
}

/// Rows in a table, by name from a fixed list (never from user input).
pub fn count_rows(conn: &Connection, table: CountedTable) -> rusqlite::Result<i64> {
    conn.query_row(
        &format!("SELECT count(*) FROM {}", table.name()),
        [],
        |row| row.get(0),
    )
}

/// The tables whose sizes are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountedTable {
    Projects,
    Tasks,
    Approvals,
    Runs,
    Errors,
    Events,
}

impl CountedTable {
    pub const ALL: [Self; 6] = [
        Self::Projects,
        Self::Tasks,
        Self::Approvals,
        Self::Runs,
        Self::Errors,
        Self::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Projects => "projects",
            Self::Tasks => "tasks",
            Self::Approvals => "approvals",
            Self::Runs => "runs",
            Self::Errors => "errors",
            Self::Events => "events",
        }
    }
}
