//! The names people read beside ids (a task's title, a project's name), for a page of rows at once.
//! Deleted records keep their names: history still names them.

use rusqlite::Connection;
use std::collections::HashMap;

/// Titles of the tasks among `ids` (any that do not exist are left out).
pub fn task_titles(conn: &Connection, ids: &[String]) -> rusqlite::Result<HashMap<String, String>> {
    names(conn, "SELECT id, title FROM tasks WHERE id IN (SELECT value FROM json_each(?1))", ids)
}

/// Names of the projects among `ids`.
pub fn project_names(conn: &Connection, ids: &[String]) -> rusqlite::Result<HashMap<String, String>> {
    names(conn, "SELECT id, name FROM projects WHERE id IN (SELECT value FROM json_each(?1))", ids)
}

fn names(conn: &Connection, sql: &str, ids: &[String]) -> rusqlite::Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([list], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}
