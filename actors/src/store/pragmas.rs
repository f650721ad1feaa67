//! Connection settings, in one place so writer and readers cannot drift apart.

use super::config::StoreConfig;
use rusqlite::Connection;

/// Settings every connection gets. The page cache is per connection (the writer and each reader), so it
/// is what bounds Atlas's memory: `cache_size_kib` × (1 + `read_pool_size`) at most.
fn common(conn: &Connection, config: &StoreConfig) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(config.busy_timeout_ms.into()))?;
    conn.execute_batch(&format!("PRAGMA foreign_keys = ON; PRAGMA cache_size = -{};", config.cache_size_kib))
}

/// The read-write connection: WAL, durability level, WAL size cap.
pub(crate) fn for_writer(conn: &Connection, config: &StoreConfig) -> rusqlite::Result<()> {
    common(conn, config)?;
    // The writer's temporary data is its statement journals: small, and on the commit path.
    conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!("could not switch the database to WAL (journal mode is {mode})")),
        ));
    }
    // With the background checkpointer, SQLite's own checkpoint in the commit path is only a backstop.
    let autocheckpoint = if config.checkpoint_every.is_zero() { 1_000 } else { CHECKPOINT_BACKSTOP_PAGES };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA journal_size_limit = {}; PRAGMA wal_autocheckpoint = {autocheckpoint};",
        config.synchronous.pragma_value(),
        config.journal_size_limit_bytes
    ))
}

/// The writer's automatic checkpoint while the background checkpointer runs: SQLite's own 1,000 pages.
/// Under steady writes a PASSIVE checkpoint never quite completes (frames arrive while it copies), so the
/// WAL never restarts; this bounds it (4 MB) at a cheap price, as the background checkpoints have copied
/// nearly every frame already. At 10,000 pages the WAL grew to 40 MB and filled a 24 MB disk in a test.
pub(crate) const CHECKPOINT_BACKSTOP_PAGES: u32 = 1_000;

/// A pooled read-only connection: `query_only` on top of the read-only open flag.
pub(crate) fn for_reader(conn: &Connection, config: &StoreConfig) -> rusqlite::Result<()> {
    common(conn, config)?;
    // A read that must sort or materialize (no list query does: see queries::plans_tests) spills to a
    // temporary file, never to memory held by one of several concurrent readers.
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = FILE;")
}
