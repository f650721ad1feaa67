//! Forward-only migrations embedded at compile time. Each runs in its own transaction and is recorded in
//! `schema_migrations` with its SHA-256, so an edited or unknown migration stops start-up instead of
//! silently diverging.
//!
//! [`schema_drift`] compares a copy's schema with what the migrations up to its version make: a backup or
//! staged copy with more or other objects (a trigger added, a table changed) fails verification and is
//! never swapped in.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use thiserror::Error;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

#[derive(Debug, Error)]
pub enum MigrationError {
    #[error("migration {name} was changed after it was applied (recorded sha256 {recorded}, file now {current}); restore the original file or the database from a backup")]
    ChecksumChanged { name: String, recorded: String, current: String },
    #[error("the database is at schema version {found}, newer than this binary knows ({known}); run a newer atlas")]
    DatabaseNewer { found: u32, known: u32 },
    #[error("migration {version} is recorded as {recorded:?} but this binary calls it {expected:?}")]
    NameMismatch { version: u32, recorded: String, expected: String },
    #[error("migration {name} failed: {source}")]
    Failed { name: String, source: rusqlite::Error },
    #[error("could not read the migration history: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One embedded migration.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Every migration this binary carries, in order.
pub fn embedded() -> Vec<Migration> {
    EMBEDDED.iter().map(|&(version, name, sql)| Migration { version, name, sql }).collect()
}

/// The schema version this binary expects.
pub fn latest_version() -> u32 {
    EMBEDDED.last().map_or(0, |m| m.0)
}

/// Where a database stands relative to this binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    pub current: u32,
    pub latest: u32,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.current == self.latest
    }
}

const HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Checks the recorded history against the embedded files; read-only, usable from any connection.
pub fn check(conn: &Connection) -> Result<SchemaStatus, MigrationError> {
    let has_history: bool = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", [], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    let known = embedded();
    let latest = latest_version();
    if !has_history {
        return Ok(SchemaStatus { current: 0, latest });
    }
    let mut stmt = conn.prepare("SELECT version, name, sha256 FROM schema_migrations ORDER BY version")?;
    let rows =
        stmt.query_map([], |row| Ok((row.get::<_, u32>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))?;
    let mut current = 0;
    for row in rows {
        let (version, name, recorded) = row?;
        let Some(migration) = known.iter().find(|m| m.version == version) else {
            return Err(MigrationError::DatabaseNewer { found: version, known: latest });
        };
        if migration.name != name {
            return Err(MigrationError::NameMismatch { version, recorded: name, expected: migration.name.to_owned() });
        }
        let checksum = migration.checksum();
        if checksum != recorded {
            return Err(MigrationError::ChecksumChanged { name, recorded, current: checksum });
        }
        current = current.max(version);
    }
    Ok(SchemaStatus { current, latest })
}

/// The schema objects (tables, indexes, triggers, views) `conn` holds beyond, or without, what the embedded
/// migrations up to its recorded version create: a copy from elsewhere (a backup, a golden copy) with a
/// trigger added would otherwise run it in the live database (rewriting every event's actor, say).
/// Each as `"added trigger evil"`, `"changed table tasks"`, `"missing trigger …"`; empty when it matches.
/// A database newer than this binary is not judged here: its migrations are unknown, and the writer refuses
/// to open it anyway.
pub fn schema_drift(conn: &Connection) -> Result<Vec<String>, MigrationError> {
    let version = match check(conn) {
        Ok(status) => status.current,
        Err(MigrationError::DatabaseNewer { .. }) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let expected = super::open::in_memory()?;
    expected.execute_batch(HISTORY_TABLE)?;
    for migration in embedded().into_iter().filter(|m| m.version <= version) {
        expected.execute_batch(migration.sql)?;
    }
    let objects = |conn: &Connection| -> rusqlite::Result<std::collections::BTreeMap<(String, String), String>> {
        let mut stmt = conn.prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        rows.collect()
    };
    let (want, have) = (objects(&expected)?, objects(conn)?);
    let mut drift: Vec<String> = have
        .iter()
        .filter_map(|((kind, name), sql)| match want.get(&(kind.clone(), name.clone())) {
            None => Some(format!("added {kind} {name}")),
            Some(expected) if expected != sql => Some(format!("changed {kind} {name}")),
            Some(_) => None,
        })
        .collect();
    drift.extend(
        want.keys().filter(|key| !have.contains_key(*key)).map(|(kind, name)| format!("missing {kind} {name}")),
    );
    Ok(drift)
}

/// Applies every pending migration, each in its own transaction. Returns the names applied.
/// Only the writer module calls this, on its read-write connection.
pub(crate) fn apply_pending(conn: &mut Connection, now: &str) -> Result<Vec<&'static str>, MigrationError> {
    conn.execute_batch(HISTORY_TABLE)?;
    let status = check(conn)?;
    let mut applied = Vec::new();
    for migration in embedded().into_iter().filter(|m| m.version > status.current) {
        let failed = |source| MigrationError::Failed { name: migration.name.to_owned(), source };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![migration.version, migration.name, migration.checksum(), now],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(migration = migration.name, "Migration applied.");
        applied.push(migration.name);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_beyond_the_migrations_is_named() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_pending(&mut conn, "now").unwrap();
        assert_eq!(schema_drift(&conn).unwrap(), Vec::<String>::new(), "a migrated database matches");
        conn.execute_batch("ANALYZE").unwrap();
        assert!(schema_drift(&conn).unwrap().is_empty(), "SQLite's own statistics are not Atlas's schema");
        conn.execute_batch(
            "CREATE TRIGGER evil AFTER INSERT ON events BEGIN UPDATE events SET actor = 'system' WHERE id = new.id; END;
             DROP TRIGGER notes_are_append_only_update;",
        )
        .unwrap();
        let drift = schema_drift(&conn).unwrap();
        assert_eq!(drift, ["added trigger evil", "missing trigger notes_are_append_only_update"]);
    }

    #[test]
    fn embedded_migrations_are_numbered_from_one() {
        let all = embedded();
        assert!(!all.is_empty());
        assert_eq!(all[0].name, "0001_initial");
        assert_eq!(latest_version() as usize, all.len());
    }

    #[test]
    fn applies_once_then_detects_edits_and_newer_databases() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(check(&conn).unwrap(), SchemaStatus { current: 0, latest: latest_version() });
        let applied = apply_pending(&mut conn, "2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(applied.len(), embedded().len());
        assert!(apply_pending(&mut conn, "later").unwrap().is_empty(), "second run applies nothing");
        assert!(check(&conn).unwrap().is_current());

        conn.execute("UPDATE schema_migrations SET sha256 = 'abc' WHERE version = 1", []).unwrap();
        let err = check(&conn).unwrap_err().to_string();
        assert!(err.contains("0001_initial was changed after it was applied"), "{err}");

        conn.execute("UPDATE schema_migrations SET sha256 = ?1 WHERE version = 1", [embedded()[0].checksum()]).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (999, '0999_future', 'x', 'now')", []).unwrap();
        let err = check(&conn).unwrap_err().to_string();
        assert!(err.contains("schema version 999, newer than this binary"), "{err}");
    }
}
