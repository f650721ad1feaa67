//! API token reads. The hash is looked up, never returned.

use super::decode;
use crate::domain::{ApiToken, Role};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str = "name, role, created_at, created_by, revoked_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        name: row.get(0)?,
        role: decode(1, row.get::<_, String>(1)?.parse::<Role>())?,
        created_at: row.get(2)?,
        created_by: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

/// Every live token by its hash (the HTTP layer's in-memory table).
pub fn live_by_hash(conn: &Connection) -> rusqlite::Result<Vec<(String, ApiToken)>> {
    let sql = format!("SELECT token_hash, {COLUMNS} FROM api_tokens WHERE revoked_at IS NULL");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |row| {
        let hash: String = row.get(0)?;
        let token = ApiToken {
            name: row.get(1)?,
            role: decode(2, row.get::<_, String>(2)?.parse::<Role>())?,
            created_at: row.get(3)?,
            created_by: row.get(4)?,
            revoked_at: row.get(5)?,
        };
        Ok((hash, token))
    })?;
    rows.collect()
}

pub fn get(conn: &Connection, name: &str) -> rusqlite::Result<Option<ApiToken>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens WHERE name = ?1"))?
        .query_row([name], from_row)
        .optional()
}

/// The hash of the live token named `name` (an approval link names its reviewer's token by name and
/// the start of this hash).
pub fn live_hash(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT token_hash FROM api_tokens WHERE name = ?1 AND revoked_at IS NULL")?
        .query_row([name], |r| r.get(0))
        .optional()
}

/// Every token, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ApiToken>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY created_at, name"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// How many tokens can still be used.
pub fn live_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL", [], |row| row.get(0))
}
