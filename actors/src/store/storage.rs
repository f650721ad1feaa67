//! The state of the storage under the database: fine, full, failing, or damaged. The writer keeps it (it
//! sees every write's outcome); readiness, the health report and the HTTP errors read it.
//!
//! A full disk or an I/O error is transient: the next write that commits clears it, so writing resumes by
//! itself once space is freed. A database that failed its start-up check stays damaged until a restore
//! replaces it; the writer refuses every write meanwhile, and reads go on.
//!
//! [`classify`] maps a SQLite error to `StorageFull` (HTTP 507), `StorageFault` (503) or neither (500).
//! The start-up [`quick_check`] is time-bounded (`database.start_check_s`) and runs before migrations;
//! readiness shows the state as `checks.storage`. While the file is damaged, start-up skips what would
//! write (run recovery, the first admin token).

use crate::domain::CommandError;
use rusqlite::{Connection, ErrorCode};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to do about a damaged database (the supervisor names the newest verified backup when it has one).
pub const RESTORE_ADVICE: &str = "restore a verified backup: list them with `GET /api/v1/admin/backups`, then \
     `POST /api/v1/admin/backups/{id}/restore` with {\"confirm\": true} (or stop Atlas and run \
     `atlas backup restore {id} --yes`)";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StorageState {
    Ok,
    /// The disk holding the database is full (`SQLITE_FULL`).
    Full {
        since: String,
        detail: String,
    },
    /// The file or device failed a write (`SQLITE_IOERR` and kin).
    Failing {
        since: String,
        detail: String,
    },
    /// The database failed its start-up integrity check: reads only until a restore.
    Damaged {
        detail: String,
        restore: String,
    },
}

/// Shared by the writer (which sets it) and everything that reports it. Cheap to clone.
#[derive(Clone)]
pub struct StorageWatch(Arc<Mutex<StorageState>>);

impl Default for StorageWatch {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(StorageState::Ok)))
    }
}

impl StorageWatch {
    pub fn get(&self) -> StorageState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, state: StorageState) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// `Err(sentence)` while writes cannot succeed; what readiness shows.
    pub fn check(&self) -> Result<(), String> {
        match self.get() {
            StorageState::Ok => Ok(()),
            StorageState::Full { since, detail } => Err(format!("the disk is full since {since}: {detail}")),
            StorageState::Failing { since, detail } => Err(format!("writes fail since {since}: {detail}")),
            StorageState::Damaged { detail, restore } => Err(format!("{detail}; {restore}")),
        }
    }

    /// The writer refuses every write while the database is damaged.
    pub fn refusal(&self) -> Option<CommandError> {
        match self.get() {
            StorageState::Damaged { detail, restore } => Some(CommandError::StorageFault(format!(
                "{detail}; Atlas serves reads and refuses every write until the database is restored: {restore}"
            ))),
            _ => None,
        }
    }

    /// After a batch: a storage error marks the state, a commit with no storage error clears it.
    pub(crate) fn observe<'a>(&self, errors: impl IntoIterator<Item = &'a CommandError>, committed: bool) {
        let now = || crate::domain::format_timestamp(chrono::Utc::now());
        let current = self.get();
        if matches!(current, StorageState::Damaged { .. }) {
            return;
        }
        for error in errors {
            let since = match &current {
                StorageState::Full { since, .. } | StorageState::Failing { since, .. } => since.clone(),
                _ => now(),
            };
            match error {
                CommandError::StorageFull(detail) => {
                    if !matches!(current, StorageState::Full { .. }) {
                        tracing::error!(%detail, "The disk holding the database is full; writes are refused.");
                    }
                    return self.set(StorageState::Full { since, detail: detail.clone() });
                }
                CommandError::StorageFault(detail) => {
                    return self.set(StorageState::Failing { since, detail: detail.clone() });
                }
                _ => {}
            }
        }
        if committed && current != StorageState::Ok {
            tracing::warn!("Writes succeed again; the storage fault is over.");
            self.set(StorageState::Ok);
        }
    }

    /// The start-up check failed: reads only, and how to get out of it.
    pub fn damaged(&self, detail: String, restore: String) {
        tracing::error!(%detail, %restore, "The database is damaged; serving reads only.");
        self.set(StorageState::Damaged { detail, restore });
    }

    /// A restore put a good database in place.
    pub(crate) fn restored(&self) {
        self.set(StorageState::Ok);
    }

    /// Fills in the restore advice once the newest verified backup is known.
    pub fn advise(&self, restore: String) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let StorageState::Damaged { restore: advice, .. } = &mut *state {
            *advice = restore;
        }
    }
}

/// A SQLite failure as the caller should see it: a full disk (507) and a failing or damaged file (503)
/// apart from any other storage error (500).
pub fn classify(err: &rusqlite::Error) -> CommandError {
    let text = err.to_string();
    match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => {
            CommandError::StorageFull(format!("the disk holding the database is full, nothing was written ({text})"))
        }
        Some(
            ErrorCode::SystemIoFailure | ErrorCode::CannotOpen | ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase,
        ) => CommandError::StorageFault(format!("the database file or its disk failed, nothing was written ({text})")),
        _ => CommandError::Storage(text),
    }
}

/// `PRAGMA quick_check`, stopped after `budget` (a huge database must not hold the start for minutes):
/// `Ok(None)` when it passed, `Ok(Some(problems))` when it failed, `Err` when it ran out of time.
pub fn quick_check(conn: &Connection, budget: Duration) -> Result<Option<String>, String> {
    let deadline = Instant::now() + budget;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline)).map_err(|e| e.to_string())?;
    let rows: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA quick_check(20)")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get::<_, String>(0))?.collect());
    if let Err(err) = conn.progress_handler(0, None::<fn() -> bool>) {
        tracing::warn!(error = %err, "Could not remove the quick_check's progress handler.");
    }
    match rows {
        Ok(rows) if rows == ["ok"] => Ok(None),
        Ok(rows) => Ok(Some(rows.join("; "))),
        Err(err) if err.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => {
            Err(format!("quick_check did not finish within {budget:?}"))
        }
        Err(err) => Ok(Some(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_clears_a_full_disk_but_never_damage() {
        let watch = StorageWatch::default();
        watch.observe([&CommandError::StorageFull("full".into())], false);
        assert!(matches!(watch.get(), StorageState::Full { .. }));
        watch.observe([&CommandError::Conflict("not storage".into())], true);
        assert_eq!(watch.get(), StorageState::Ok);
        watch.damaged("quick_check failed".into(), "restore".into());
        watch.observe([], true);
        assert!(watch.refusal().is_some(), "damage stays until a restore");
        watch.restored();
        assert_eq!(watch.check(), Ok(()));
    }

    #[test]
    fn sqlite_codes_are_classified() {
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        assert!(matches!(classify(&full), CommandError::StorageFull(_)));
        let io = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_WRITE), None);
        assert!(matches!(classify(&io), CommandError::StorageFault(_)));
        assert!(matches!(classify(&rusqlite::Error::QueryReturnedNoRows), CommandError::Storage(_)));
    }
}
