//! Read queries shared by the writer (to read back what it wrote) and the read pool's users.
//! They take any `&Connection`; none of them writes. `gauges.rs` holds the counts `/metrics` reads at
//! scrape time.
//!
//! Every list page is read from an index in page order, never sorted whole: each filter has an index
//! ending in the page order (migration 0006). `plans_tests.rs` plans every list query with every filter
//! combination the API offers and fails on `USE TEMP B-TREE`, so a new filter cannot arrive without its
//! index.

pub mod approvals;
pub mod charts;
pub mod db_info;
pub mod events;
pub mod gauges;
pub mod hotlist;
pub mod mirror;
pub mod names;
pub mod notes;
mod paging;
pub mod projects;
pub mod runs;
pub mod schedule;
pub mod search;
pub mod sheet_cells;
pub mod sync_state;
pub mod tasks;
pub mod tokens;

pub use paging::{Cursor, Listed, Order, PageRequest, MAX_PAGE};

use rusqlite::Connection;

/// Turns a stored enum or JSON that the CHECK constraints should have kept valid into a row error.
pub(crate) fn decode<T, E: std::fmt::Display>(column: usize, parsed: Result<T, E>) -> rusqlite::Result<T> {
    parsed.map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, err.to_string().into())
    })
}

/// An `env` column (NULL = none).
pub(crate) fn env_column(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<crate::domain::RunEnv> {
    match row.get::<_, Option<String>>(column)? {
        Some(json) => decode(column, serde_json::from_str(&json)),
        None => Ok(crate::domain::RunEnv::new()),
    }
}

/// Rows in a table, by name from a fixed list (never from user input).
pub fn count_rows(conn: &Connection, table: CountedTable) -> rusqlite::Result<i64> {
    conn.query_row(&format!("SELECT count(*) FROM {}", table.name()), [], |row| row.get(0))
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
    pub const ALL: [Self; 6] = [Self::Projects, Self::Tasks, Self::Approvals, Self::Runs, Self::Errors, Self::Events];

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

#[cfg(test)]
mod plans_tests;
