//! WAL checkpoints off the commit path.
//!
//! Left to itself, SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages, so the
//! callers of that batch wait for the copy and its fsync (measured: p99 at 64 submitters 9.2 ms with,
//! 6.8 ms without; BENCHMARKS.md). Instead a thread of its own runs `PRAGMA wal_checkpoint(PASSIVE)` every
//! `writer.checkpoint_every_ms` from a connection of its own: PASSIVE never waits for the writer or a
//! reader and never blocks them, so commits go on while pages are copied. The writer's own automatic
//! checkpoint stays at SQLite's 1,000 pages (`pragmas::CHECKPOINT_BACKSTOP_PAGES`): under steady writes a
//! PASSIVE checkpoint never completes, so only that one lets the WAL restart (measured: no tail gain is
//! left beside it; BENCHMARKS.md).
//!
//! Its connection writes no rows: it only moves committed WAL frames into the database file. It is
//! opened here, beside the writer, and lives inside a mutex the writer can take: [`Checkpointer::pause`]
//! (and [`Checkpointer::hold_still`])
//! waits for a checkpoint under way, closes the connection and keeps the next one from starting, for as
//! long as the file must hold still (a restore's swap, shutdown). A damaged database is never
//! checkpointed (nothing is written to it). The thread ends when the writer is gone.

use super::super::storage::StorageWatch;
use super::WriterStats;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

struct State {
    path: PathBuf,
    busy_timeout: Duration,
    conn: Option<Connection>,
    paused: bool,
}

/// The writer's hold on its checkpointer thread. Dropping it ends the thread.
pub(super) struct Checkpointer(Arc<Mutex<State>>);

impl Checkpointer {
    /// Starts the thread. `every` is the interval between checkpoints.
    /// `commits.wal_writes` counts what the writer wrote: an interval with nothing new checkpoints
    /// nothing (an idle Atlas does not touch its file).
    pub(super) fn start(
        path: PathBuf,
        busy_timeout: Duration,
        every: Duration,
        storage: StorageWatch,
        commits: Arc<WriterStats>,
    ) -> Self {
        let state = Arc::new(Mutex::new(State { path, busy_timeout, conn: None, paused: false }));
        let weak = Arc::downgrade(&state);
        let spawned = std::thread::Builder::new()
            .name("atlas-checkpointer".into())
            .spawn(move || run(weak, every, storage, commits));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "Cannot start the checkpointer thread; SQLite's automatic checkpoints stay.");
        }
        Self(state)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a checkpoint under way, closes the connection, and starts no other until `resume`.
    pub(super) fn pause(&self) {
        let mut state = self.lock();
        state.paused = true;
        state.conn = None;
    }

    pub(super) fn resume(&self) {
        self.lock().paused = false;
    }

    /// `pause` until the guard returned is dropped (on every path out of a restore).
    pub(super) fn hold_still(&self) -> HoldStill {
        self.pause();
        HoldStill(Checkpointer(self.0.clone()))
    }
}

/// Resumes the checkpointer when dropped. Holds the state, not the thread: the thread still ends when
/// the writer's own `Checkpointer` is dropped, as it outlives every restore.
pub(super) struct HoldStill(Checkpointer);

impl Drop for HoldStill {
    fn drop(&mut self) {
        self.0.resume();
    }
}

fn run(state: Weak<Mutex<State>>, every: Duration, storage: StorageWatch, commits: Arc<WriterStats>) {
    let mut failing = false;
    let mut checkpointed_after = None;
    loop {
        std::thread::sleep(every);
        let Some(state) = state.upgrade() else { return };
        let mut state = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.paused || storage.refusal().is_some() {
            state.conn = None;
            checkpointed_after = None;
            continue;
        }
        let batches = commits.wal_writes.load(Ordering::Relaxed);
        if checkpointed_after == Some(batches) {
            continue;
        }
        match checkpoint(&mut state) {
            Ok(complete) => {
                failing = false;
                // One a reader kept from finishing is tried again next interval, commits or not.
                checkpointed_after = complete.then_some(batches);
            }
            Err(e) => {
                // The next interval tries again with a fresh connection; the writer's backstop bounds the
                // WAL. Logged once per run of failures.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "A background WAL checkpoint failed; retrying every interval.");
                }
                state.conn = None;
            }
        }
    }
}

/// True when every frame in the WAL is in the database file now.
fn checkpoint(state: &mut State) -> rusqlite::Result<bool> {
    if state.conn.is_none() {
        // Never created here: a missing file (moved by a restore) is an error, not a new database.
        let conn = crate::store::open::read_write(&state.path, crate::store::open::ReadWrite::Checkpointer)?;
        conn.busy_timeout(state.busy_timeout)?;
        state.conn = Some(conn);
    }
    let Some(conn) = state.conn.as_ref() else { return Ok(false) };
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok(r.get::<_, i64>(1)? == r.get::<_, i64>(2)?))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests open a WAL database of their own
mod tests {
    use super::*;

    /// A WAL database with committed frames not yet in the file, and the connection that keeps them there.
    fn database_with_wal(dir: &std::path::Path) -> (PathBuf, Connection) {
        let path = dir.join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO t SELECT printf('%.500c', 'x') FROM n;",
        )
        .unwrap();
        (path, conn)
    }

    fn file_size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    fn start(path: &std::path::Path, storage: &StorageWatch, stats: &Arc<WriterStats>) -> Checkpointer {
        let every = Duration::from_millis(10);
        Checkpointer::start(path.to_owned(), Duration::from_secs(1), every, storage.clone(), stats.clone())
    }

    #[test]
    fn paused_it_leaves_the_file_alone_and_resumed_it_folds_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = database_with_wal(dir.path());
        let before = file_size(&path);
        let (storage, stats) = (StorageWatch::default(), Arc::new(WriterStats::default()));
        let checkpointer = start(&path, &storage, &stats);
        let still = checkpointer.hold_still();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(file_size(&path), before, "nothing is checkpointed while the file must hold still");
        drop(still);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while file_size(&path) == before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(file_size(&path) > before, "resumed, the WAL is folded into the file");
    }

    #[test]
    fn a_damaged_database_is_never_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = database_with_wal(dir.path());
        let before = file_size(&path);
        let (storage, stats) = (StorageWatch::default(), Arc::new(WriterStats::default()));
        storage.damaged("test damage".into(), "restore".into());
        let _checkpointer = start(&path, &storage, &stats);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(file_size(&path), before);
    }
}
