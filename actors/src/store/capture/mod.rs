//! Change capture for point-in-time recovery: what each committed write batch changed, recorded by an
//! SQLite session on the writer's connection and stored, as one changeset, in `pitr_outbox` inside the
//! same transaction. A batch that commits has its changeset; one that rolls back leaves none. The
//! session leaves out `pitr_outbox`, `pitr_timeline` (the chain's name) and `pitr_lineage`: only a
//! migration or a restore sets those.
//!
//! What replay assumes (checked by [`assert_capturable`] at start-up; ARCHITECTURE names the invariant
//! and its test):
//! - every captured table has an explicit PRIMARY KEY (the session ignores tables without one, and rows
//!   with a NULL key);
//! - the schema's persistent triggers only refuse (the two on `notes`, migration 0002, raise on
//!   UPDATE/DELETE), so a trigger never makes a change replay would make a second time. The check reads
//!   `sqlite_schema`, so the writer's TEMP trigger `sink_route_events` (`store/sinks.rs`) is not in it:
//!   that one writes `sink_outbox` rows, which the session captures like any other change, and a replay
//!   runs on a connection without the trigger, so they are applied once;
//! - schema changes are not captured: a changeset applies only to the schema version it was taken at.

mod replay;

pub use replay::{replay_onto, ReplayError};
use rusqlite::Connection;
use sqlite_session::Session;

/// The outbox table, which the session itself leaves out.
pub const OUTBOX: &str = "pitr_outbox";
/// The chain's name (`pitr/`): set by a migration and by restores, never by a captured batch.
pub const TIMELINE: &str = "pitr_timeline";
/// Where the file came from (`backup/owner.rs`): set by a migration and by restores, never captured.
pub const LINEAGE: &str = "pitr_lineage";

/// The search index's tables (`search_docs`, and `search_text` with its FTS5 shadow tables): derived
/// from the records, so not captured; a replay rebuilds them from what it replayed (`search::rebuild`).
pub const SEARCH_PREFIX: &str = "search_";

/// The tables a session records: all but the outbox, the timeline, the lineage, the search index and
/// SQLite's own.
fn captured(table: &str) -> bool {
    table != OUTBOX
        && table != TIMELINE
        && table != LINEAGE
        && !table.starts_with(SEARCH_PREFIX)
        && !table.starts_with("sqlite_")
}

/// Starts recording every table but the outbox (and SQLite's own).
pub fn begin(conn: &Connection) -> rusqlite::Result<Session<'_>> {
    Session::new(conn, captured)
}

/// Stores what the session recorded as one outbox row, in the transaction still open; answers whether
/// there was anything (a batch whose commands all failed, or changed nothing, stores nothing).
pub fn store(
    conn: &Connection,
    session: &mut Session<'_>,
    committed_at: &str,
    schema_version: u32,
) -> rusqlite::Result<bool> {
    if session.is_empty() {
        return Ok(false);
    }
    let changeset = session.changeset()?;
    if changeset.is_empty() {
        return Ok(false);
    }
    conn.prepare_cached("INSERT INTO pitr_outbox (committed_at, schema_version, changeset) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![committed_at, schema_version, changeset])?;
    Ok(true)
}

/// Refuses a schema the session cannot capture whole: a table without a PRIMARY KEY, or a trigger that
/// writes (replay would apply its change twice).
pub fn assert_capturable(conn: &Connection) -> Result<(), String> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| e.to_string())?;
    for table in tables.into_iter().filter(|t: &String| captured(t)) {
        let keyed: bool = conn
            .query_row("SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE pk > 0", [&table], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if !keyed {
            return Err(format!("table {table} has no PRIMARY KEY: its changes could not be captured for recovery"));
        }
    }
    let writing_triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND sql NOT LIKE '%RAISE(%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| e.to_string())?;
    if let Some(trigger) = writing_triggers.first() {
        return Err(format!("trigger {trigger} may write: replaying a changeset would apply its change twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
