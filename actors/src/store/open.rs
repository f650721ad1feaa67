//! The only place a SQLite file is opened (clippy's `disallowed_methods`, `clippy.toml`, refuses
//! `Connection::open*` and `SqliteConnectionManager::file` everywhere else). Read-only opens are for anyone;
//! a read-write open names its purpose, one of a closed list, so a new one is a visible change here.
#![allow(clippy::disallowed_methods)]

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Why a connection may write, each its own case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadWrite {
    /// The single writer on the live database (`store::writer`); may create it on a first start.
    Writer { create: bool },
    /// The writer's checkpointer: moves committed WAL frames into the live file, writes no rows.
    Checkpointer,
    /// A backup copy or a golden copy's staging file in the backup directory, never the live database.
    BackupCopy { create: bool },
    /// The staged copy a restore builds (point-in-time replay, a timeline fork) before the swap.
    StagedCopy,
}

/// Opens `path` read-write for `purpose` (never creating it unless the purpose says so).
pub fn read_write(path: &Path, purpose: ReadWrite) -> rusqlite::Result<Connection> {
    let create = matches!(purpose, ReadWrite::Writer { create: true } | ReadWrite::BackupCopy { create: true });
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    Connection::open_with_flags(path, flags)
}

/// Opens `path` read-only (it must exist).
pub fn read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// The read pool's connection manager: read-only opens of `path`.
pub fn read_only_manager(path: &Path) -> r2d2_sqlite::SqliteConnectionManager {
    r2d2_sqlite::SqliteConnectionManager::file(path)
        .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
}

/// A scratch database of its own in memory (nothing on disk).
pub fn in_memory() -> rusqlite::Result<Connection> {
    Connection::open_in_memory()
}
