//! Damage done to a database file on disk, Atlas stopped (for the damaged-mode tests).

use std::path::Path;

/// Overwrites one b-tree page of `object` (its root page) with garbage, Atlas stopped.
pub fn damage_object(db: &Path, object: &str) {
    use std::io::{Seek, SeekFrom, Write};
    let conn = rusqlite::Connection::open(db).unwrap();
    let root: i64 =
        conn.query_row("SELECT rootpage FROM sqlite_master WHERE name = ?1", [object], |r| r.get(0)).unwrap();
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    file.seek(SeekFrom::Start(((root - 1) * page) as u64)).unwrap();
    file.write_all(&vec![0xa5; page as usize]).unwrap();
    file.sync_all().unwrap();
}
