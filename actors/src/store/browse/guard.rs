//! The guards every data-browser query runs under, set on a pooled read-only connection for the length of
//! one query and taken off again (also when the query fails or panics):
//!
//! - SQLite's authorizer lets a statement read, select, recurse and call functions, nothing else, and reads
//!   only the tables of [`BROWSABLE`] (an allow-list: Atlas's internal tables, [`INTERNAL`], hold token
//!   hashes, changesets with whole rows, outboxes and Sheet bookkeeping; a view or a CTE over them is
//!   refused too, since SQLite asks about every table a statement reads). Secret columns
//!   ([`SECRET_COLUMNS`]) read as NULL wherever they appear. The schema itself (`sqlite_schema`) may be
//!   read: it holds table definitions, never their rows.
//! - A progress handler interrupts the statement at its deadline. It runs between VM steps, so one step
//!   that allocates a huge value (`randomblob(1e9)`, `printf('%.*c', 1e9, 'x')`) is cut by SQLite's
//!   length limit instead: no string or blob over [`MAX_VALUE_BYTES`] is made.
//!
//! The connection itself is opened read-only with `query_only` (`pragmas::for_reader`). A unit test
//! (`every_table_of_the_schema_is_either_browsable_or_internal`) fails on a table in neither list.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::Connection;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tables the data browser shows: the domain's records and their history (listing, pages, SQL box).
pub const BROWSABLE: &[&str] = &[
    "approval_reviews",
    "approvals",
    "errors",
    "events",
    "notes",
    "projects",
    "runs",
    "schedule_state",
    "sync_state",
    "tasks",
];

/// Atlas's own tables, never shown in any form: why each is kept out.
pub const INTERNAL: &[(&str, &str)] = &[
    ("api_tokens", "token hashes"),
    ("pitr_outbox", "changesets carrying whole rows, token hashes included"),
    ("pitr_timeline", "point-in-time recovery bookkeeping"),
    ("pitr_lineage", "point-in-time recovery bookkeeping"),
    ("sink_outbox", "event deliveries with their signing state"),
    ("sink_disabled", "event sinks' bookkeeping"),
    ("notify_cursor", "the Notifier's bookkeeping"),
    ("notify_sent", "the Notifier's bookkeeping"),
    ("sheet_cells", "the Sheet's cells as last seen, refused values included"),
    ("sheet_loose_columns", "Sheet protection bookkeeping"),
    ("schema_migrations", "the schema's own history"),
    // The search index: derived from the records (whose own pages show them), searched at /console/search.
    ("search_docs", "the search index"),
    ("search_text", "the search index"),
    ("search_text_data", "the search index"),
    ("search_text_idx", "the search index"),
    ("search_text_content", "the search index"),
    ("search_text_docsize", "the search index"),
    ("search_text_config", "the search index"),
];

/// Whether the browser may read `table` (names compare as SQLite does, without case).
pub fn browsable(table: &str) -> bool {
    BROWSABLE.iter().any(|t| t.eq_ignore_ascii_case(table))
}

/// Columns whose values never leave the database through the browser: `(table, column)`.
pub const SECRET_COLUMNS: &[(&str, &str)] = &[("api_tokens", "token_hash")];

/// Free-text columns, where a pasted credential would be (what was asked to run or change, what a run
/// printed, notes, descriptions): read as NULL for a viewer (`Guarded::new`'s `hide_payloads`), wherever
/// they appear in a query, so no expression (`hex`, `substr`, a `LIKE`) reads them. Short texts (titles,
/// names) stay, redacted in the answer (`http::browse`).
pub const PAYLOAD_COLUMNS: &[(&str, &str)] = &[
    ("approvals", "payload"),
    ("approvals", "summary"),
    ("errors", "error"),
    ("errors", "resolution"),
    ("events", "payload"),
    ("notes", "body"),
    ("projects", "description"),
    ("runs", "command"),
    ("runs", "env"),
    ("runs", "error_log"),
    ("runs", "output"),
    ("tasks", "command"),
    ("tasks", "description"),
    ("tasks", "env"),
    // Unsalted hashes of the payloads above: a guess at a secret in them can be checked offline.
    ("approvals", "payload_hash"),
    ("runs", "command_hash"),
];

/// Whether `(table, column)` holds payload text (hidden from viewers).
pub fn is_payload(table: &str, column: &str) -> bool {
    PAYLOAD_COLUMNS.iter().any(|(t, c)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
}

/// Table-valued pragmas a browser query may read (schema facts, nothing stored in rows).
const READABLE_PRAGMAS: &[&str] =
    &["table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"];

/// SQLite VM steps between two looks at the clock (a look is a few nanoseconds; one step may cost a
/// long string's comparison, so they come often).
const STEPS_BETWEEN_CHECKS: i32 = 100;

/// The largest string or blob a browser query may make (SQLite's own default is 1 GB, a whole small VM).
pub const MAX_VALUE_BYTES: i32 = 10 * 1024 * 1024;

fn is_secret(table: &str, column: &str) -> bool {
    SECRET_COLUMNS.iter().any(|(t, c)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
}

/// Whether `table` is one of Atlas's own.
fn internal(table: &str) -> bool {
    INTERNAL.iter().any(|(t, _)| t.eq_ignore_ascii_case(table))
}

/// Tables a browser query may not read: Atlas's own, and any other table of the schema but the browsable
/// ones and the schema itself (a table added later is hidden until it is listed in one of the two). A
/// name that is no table (a CTE's, a view's: SQLite asks again for each table a view reads) is not
/// refused for its name. `tables` holds the schema's tables, lowercased.
fn refused_table(table: &str, tables: &HashSet<String>) -> bool {
    let schema = ["sqlite_schema", "sqlite_master", "sqlite_temp_schema", "sqlite_temp_master"];
    let lower = table.to_ascii_lowercase();
    let stored = tables.contains(&lower) || lower.starts_with("sqlite_");
    // `dbstat` tells every table's size and page layout, Atlas's own included.
    internal(table) || lower == "dbstat" || (stored && !browsable(table) && !schema.contains(&lower.as_str()))
}

/// The schema's tables, lowercased (what the authorizer tells from a CTE's name).
fn stored_tables(conn: &Connection) -> rusqlite::Result<HashSet<String>> {
    let mut statement = conn.prepare("SELECT lower(name) FROM sqlite_schema WHERE type = 'table'")?;
    let names = statement.query_map([], |row| row.get(0))?.collect();
    names
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

fn authorize(
    secrets: Secrets,
    hide_payloads: bool,
    tables: &HashSet<String>,
    context: AuthContext<'_>,
) -> Authorization {
    match context.action {
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => Authorization::Allow,
        AuthAction::Read { table_name, .. } if refused_table(table_name, tables) => Authorization::Deny,
        AuthAction::Read { table_name, .. } if secrets == Secrets::RefuseTable && holds_a_secret(table_name) => {
            Authorization::Deny
        }
        AuthAction::Read { table_name, column_name } if is_secret(table_name, column_name) => Authorization::Ignore,
        AuthAction::Read { table_name, column_name } if hide_payloads && is_payload(table_name, column_name) => {
            Authorization::Ignore
        }
        AuthAction::Read { .. } => Authorization::Allow,
        AuthAction::Pragma { pragma_name, .. }
            if READABLE_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// The name of the SQL function a viewer's table views filter, sort and count through: a text as the
/// viewer sees it (`sheets::sanitize::redact`), so no filter, order or count finds what redaction hides.
pub const REDACT_FUNCTION: &str = "atlas_redact";

fn redaction(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::{Value, ValueRef};
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(REDACT_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(text) => Value::Text(crate::sheets::sanitize::redact(&String::from_utf8_lossy(text))),
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    })
}

/// The guards on `conn` until dropped. `timed_out` tells whether the deadline interrupted the query.
pub struct Guarded<'c> {
    conn: &'c Connection,
    timed_out: Arc<AtomicBool>,
    /// The connection's own length limit, put back on drop.
    length_limit: i32,
}

impl<'c> Guarded<'c> {
    /// `hide_payloads`: the reader is a viewer ([`PAYLOAD_COLUMNS`] read as NULL).
    pub fn new(
        conn: &'c Connection,
        time_limit: Duration,
        secrets: Secrets,
        hide_payloads: bool,
    ) -> rusqlite::Result<Self> {
        let timed_out = Arc::new(AtomicBool::new(false));
        let flag = timed_out.clone();
        let deadline = Instant::now() + time_limit;
        let length_limit = conn.limit(Limit::SQLITE_LIMIT_LENGTH)?;
        let guarded = Self { conn, timed_out, length_limit };
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)?;
        let tables = stored_tables(conn)?;
        conn.authorizer(Some(move |context: AuthContext<'_>| authorize(secrets, hide_payloads, &tables, context)))?;
        if hide_payloads {
            redaction(conn)?;
        }
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
