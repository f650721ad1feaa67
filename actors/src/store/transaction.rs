//! The writer's transactions: a batch of commands with a savepoint each (group commit), and one command
//! alone. Only the writer calls these, on its connection.

use super::apply;
use crate::domain::{Actor, Command, CommandError, CommandOutcome};
use rusqlite::Connection;

/// One transaction: a savepoint per command, replies decided only once COMMIT succeeded. With `capture`,
/// what the batch changed is stored as one changeset in the same transaction (`capture/`).
pub(super) fn apply_batch(
    conn: &Connection,
    batch: &[(&Command, &Actor)],
    now: &str,
    panic_midway: bool,
    capture: bool,
) -> rusqlite::Result<Vec<Result<CommandOutcome, CommandError>>> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let body = || -> rusqlite::Result<Vec<Result<CommandOutcome, CommandError>>> {
        let mut session = if capture { Some(super::capture::begin(conn)?) } else { None };
        let mut results = Vec::with_capacity(batch.len());
        for (index, (command, actor)) in batch.iter().enumerate() {
            if panic_midway && index == batch.len() / 2 {
                panic!("injected fault: panic in the middle of a write batch");
            }
            conn.prepare_cached("SAVEPOINT command")?.execute([])?;
            let result = apply::apply(conn, command, actor, now);
            if result.is_err() {
                conn.prepare_cached("ROLLBACK TO command")?.execute([])?;
            }
            conn.prepare_cached("RELEASE command")?.execute([])?;
            results.push(result);
        }
        if let Some(session) = session.as_mut() {
            let version: u32 =
                conn.prepare_cached("SELECT max(version) FROM schema_migrations")?.query_row([], |r| r.get(0))?;
            super::capture::store(conn, session, now, version)?;
        }
        drop(session);
        conn.execute_batch("COMMIT")?;
        Ok(results)
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    match outcome {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(err)) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
        Err(panic) => {
            let _ = conn.execute_batch("ROLLBACK");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Applies one command in its own transaction on `conn` (the writer's own bookkeeping while it holds
/// everything else: after a restore, at start-up).
pub(super) fn apply_alone(conn: &Connection, command: &Command, now: &str) -> Result<(), String> {
    apply_together(conn, &[(command, &Actor::system())], now)
}

/// Applies these commands, each by its actor, in one transaction on `conn`: all or none.
pub(super) fn apply_together(conn: &Connection, commands: &[(&Command, &Actor)], now: &str) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    for (command, actor) in commands {
        if let Err(err) = apply::apply(conn, command, actor, now) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(err.to_string());
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())
}
