//! Project reads.

use super::decode;
use super::paging::{Cursor, Listed, PageRequest, Select};
use crate::domain::{Project, ProjectId, ProjectStatus};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, name, description, status, version, created_at, updated_at, deleted_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Project> {
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

/// A project by id, including soft-deleted ones (callers decide whether those count).
pub fn get(conn: &Connection, id: &ProjectId) -> rusqlite::Result<Option<Project>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM projects WHERE id = ?1"))?
        .query_row([id.as_str()], from_row)
        .optional()
}

/// A live (not deleted) project by id.
pub fn get_live(conn: &Connection, id: &ProjectId) -> rusqlite::Result<Option<Project>> {
    Ok(get(conn, id)?.filter(|p| p.deleted_at.is_none()))
}

/// Live projects, newest first.
pub fn list(conn: &Connection, status: Option<ProjectStatus>, page: &PageRequest) -> rusqlite::Result<Listed<Project>> {
    Select::new(format!("SELECT {COLUMNS} FROM projects WHERE deleted_at IS NULL"))
        .eq("status", status.map(|s| s.as_str().to_owned()))
        .page(conn, "created_at", "id", false, page, from_row, |p| Cursor {
            at: p.created_at.clone(),
            id: p.id.to_string(),
        })
}
