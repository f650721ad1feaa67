//! The data browser's reads (Datasette parity inside the binary): the SQL box (`sql.rs`) and, on the
//! same guards (`guard.rs`: read-only actions, secret columns read as NULL, a deadline), whatever the
//! console and `/api/v1/browse` show. Only ever run on the read-only pool.

pub mod complexity;
pub mod filter;
mod guard;
pub mod rows;
pub mod sql;
pub mod summary;
pub mod tables;
mod value;

pub use guard::SECRET_COLUMNS;

/// The most one answer carries (rows beyond it are cut, with `truncated`): a row cap alone lets 1,000
/// rows of 10 MB each through.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
pub use rows::{RowsPage, RowsRefusal, RowsRequest};
pub use sql::{SqlAnswer, SqlLimits, SqlRefusal};
pub use summary::{Facet, Summary};
pub use tables::{ColumnInfo, TableInfo, COUNT_CAP};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod views_tests;
