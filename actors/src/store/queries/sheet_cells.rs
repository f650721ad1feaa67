//! The Sheets baseline: editable cells as Atlas last saw or wrote them.

use rusqlite::Connection;
use std::collections::HashMap;

/// (tab, row ID, column) → value.
pub type Baseline = HashMap<(String, String, u8), String>;

pub fn all(conn: &Connection) -> rusqlite::Result<Baseline> {
    let mut stmt = conn.prepare_cached("SELECT tab, row_id, col, value FROM sheet_cells")?;
    let rows = stmt.query_map([], |row| Ok(((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?)))?;
    rows.collect()
}

/// A reviewer column found loose, and since when (`sheet_loose_columns`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseColumn {
    pub reviewer: String,
    pub since: String,
    pub reason: String,
}

/// The reviewer columns whose content does not count until Atlas has cleared them.
pub fn loose_columns(conn: &Connection) -> rusqlite::Result<Vec<LooseColumn>> {
    let mut stmt = conn.prepare_cached("SELECT reviewer, since, reason FROM sheet_loose_columns ORDER BY reviewer")?;
    let rows =
        stmt.query_map([], |row| Ok(LooseColumn { reviewer: row.get(0)?, since: row.get(1)?, reason: row.get(2)? }))?;
    rows.collect()
}
