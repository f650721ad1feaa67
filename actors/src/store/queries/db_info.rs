//! What the database looks like from the outside: integrity, pages, file sizes, rows per table.

use super::{count_rows, CountedTable};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DbHealth {
    /// `PRAGMA quick_check`: "ok" or the first problems found.
    pub quick_check: String,
    pub page_size: i64,
    pub page_count: i64,
    pub freelist_count: i64,
    pub wal_bytes: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DbStats {
    pub rows: BTreeMap<String, i64>,
    pub database_bytes: u64,
    pub wal_bytes: u64,
}

fn size(path: &Path, suffix: &str) -> u64 {
    std::fs::metadata(format!("{}{suffix}", path.display())).map(|m| m.len()).unwrap_or(0)
}

pub fn health(conn: &Connection, path: &Path) -> rusqlite::Result<DbHealth> {
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let problems: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(DbHealth {
        quick_check: problems.join("; "),
        page_size: pragma("page_size")?,
        page_count: pragma("page_count")?,
        freelist_count: pragma("freelist_count")?,
        wal_bytes: size(path, "-wal"),
    })
}

pub fn stats(conn: &Connection, path: &Path) -> rusqlite::Result<DbStats> {
    let mut rows = BTreeMap::new();
    for table in CountedTable::ALL {
        rows.insert(table.name().to_owned(), count_rows(conn, table)?);
    }
    Ok(DbStats { rows, database_bytes: size(path, ""), wal_bytes: size(path, "-wal") })
}
