//! The guards every data-browser query runs under, set on a pooled read-only connection for the length of
//! one query and taken off again (also when the query fails or panics):
//!
//! - SQLite's authorizer lets a statement read, select, recurse and call functions, nothing else, and
//!   reads the secret columns ([`SECRET_COLUMNS`]) as NULL wherever they appear (a result column, an
//!   expression, a WHERE clause: `substr(token_hash, 1, 1) = 'a'` probes nothing). Tables that copy index
//!   keys or raw pages (`sqlite_stat*`, `sqlite_dbpage`) are refused.
//! - A progress handler interrupts the statement at its deadline. It runs between VM steps, so one step
//!   that allocates a huge value (`randomblob(1e9)`, `printf('%.*c', 1e9, 'x')`) is cut by SQLite's
//!   length limit instead: no string or blob over [`MAX_VALUE_BYTES`] is made.
//!
//! The connection itself is opened read-only with `query_only` (`pragmas::for_reader`).

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Columns whose values never leave the database through the browser: `(table, column)`.
pub const SECRET_COLUMNS: &[(&str, &str)] = &[("api_tokens", "token_hash")];

/// Table-valued pragmas a browser query may read (schema facts, nothing stored in rows).
const READABLE_PRAGMAS: &[&str] =
    &["table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"];

/// SQLite VM steps between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1_000;

/// The largest string or blob a browser query may make (SQLite's own default is 1 GB, a whole small VM).
pub const MAX_VALUE_BYTES: i32 = 10 * 1024 * 1024;

fn is_secret(table: &str, column: &str) -> bool {
    SECRET_COLUMNS.iter().any(|(t, c)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
}

fn refused_table(table: &str) -> bool {
    let lower = table.to_ascii_lowercase();
    lower.starts_with("sqlite_stat") || lower == "sqlite_dbpage"
}

/// How a query may meet a table holding a secret column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// The table views: the secret column reads as NULL, and the query's own ORDER BY (rowid or an
    /// indexed, non-secret column) decides the order.
    Hide,
    /// The SQL box: the whole table is refused. Hiding the column is not enough there: a scan that the
    /// planner runs through the secret column's UNIQUE index returns rows in the secret's order (found by
    /// the attack on this guard: `SELECT rowid FROM api_tokens`).
    RefuseTable,
}

fn holds_a_secret(table: &str) -> bool {
    SECRET_COLUMNS.iter().any(|(t, _)| t.eq_ignore_ascii_case(table))
}

fn authorize(secrets: Secrets, context: AuthContext<'_>) -> Authorization {
    match context.action {
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => Authorization::Allow,
        AuthAction::Read { table_name, .. } if refused_table(table_name) => Authorization::Deny,
        AuthAction::Read { table_name, .. } if secrets == Secrets::RefuseTable && holds_a_secret(table_name) => {
            Authorization::Deny
        }
        AuthAction::Read { table_name, column_name } if is_secret(table_name, column_name) => Authorization::Ignore,
        AuthAction::Read { .. } => Authorization::Allow,
        AuthAction::Pragma { pragma_name, .. }
            if READABLE_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// The guards on `conn` until dropped. `timed_out` tells whether the deadline interrupted the query.
pub struct Guarded<'c> {
    conn: &'c Connection,
    timed_out: Arc<AtomicBool>,
    /// The connection's own length limit, put back on drop.
    length_limit: i32,
}

impl<'c> Guarded<'c> {
    pub fn new(conn: &'c Connection, time_limit: Duration, secrets: Secrets) -> rusqlite::Result<Self> {
        let timed_out = Arc::new(AtomicBool::new(false));
        let flag = timed_out.clone();
        let deadline = Instant::now() + time_limit;
        let length_limit = conn.limit(Limit::SQLITE_LIMIT_LENGTH)?;
        let guarded = Self { conn, timed_out, length_limit };
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)?;
        conn.authorizer(Some(move |context: AuthContext<'_>| authorize(secrets, context)))?;
        conn.progress_handler(
            STEPS_BETWEEN_CHECKS,
            Some(move || {
                let late = Instant::now() >= deadline;
                if late {
                    flag.store(true, Ordering::Relaxed);
                }
                late
            }),
        )?;
        Ok(guarded)
    }

    pub fn conn(&self) -> &'c Connection {
        self.conn
    }

    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }
}

impl Drop for Guarded<'_> {
    fn drop(&mut self) {
        // The connection goes back to the pool for ordinary reads: nothing of this query stays on it.
        let _ = self.conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        let _ = self.conn.progress_handler(0, None::<fn() -> bool>);
        let _ = self.conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, self.length_limit);
    }
}
