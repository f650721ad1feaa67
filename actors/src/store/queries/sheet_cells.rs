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
