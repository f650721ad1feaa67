//! Why a backup operation did not happen, by kind. The kind is chosen where the failure is known (a bad
//! id in `file::load`, a verification in `restore.rs`, a full disk in `file.rs`, the bucket in
//! `offsite.rs`); HTTP picks its status from the kind in one place (`http/error.rs`), never from the
//! words, so rewording a message never changes what a client is told.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupError {
    /// What was named cannot be a backup id (a path, `..`).
    BadId(String),
    /// No such backup (local or remote).
    NotFound(String),
    /// Refused in the present state: a backup that failed verification, off-site storage not configured,
    /// point-in-time recovery off, a copy that cannot be rebuilt to the target. The database is unchanged.
    Refused(String),
    /// The disk holding the backups or the database is full.
    StorageFull(String),
    /// Off-site storage could not be reached or answered an error.
    Offsite(String),
    /// Anything else (I/O, the writer, a stopped actor): the operation failed and may be retried.
    Failed(String),
}

impl BackupError {
    /// The kind (as its constructor) and the message: the one place that takes an error apart.
    fn into_parts(self) -> (fn(String) -> Self, String) {
        match self {
            Self::BadId(m) => (Self::BadId, m),
            Self::NotFound(m) => (Self::NotFound, m),
            Self::Refused(m) => (Self::Refused, m),
            Self::StorageFull(m) => (Self::StorageFull, m),
            Self::Offsite(m) => (Self::Offsite, m),
            Self::Failed(m) => (Self::Failed, m),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::BadId(m) | Self::NotFound(m) | Self::Refused(m) | Self::StorageFull(m) | Self::Offsite(m) => m,
            Self::Failed(m) => m,
        }
    }

    /// A failure that means the thing asked for cannot be done as things stand (its other kinds kept).
    pub fn refusal(self) -> Self {
        match self {
            Self::Failed(m) => Self::Refused(m),
            kept => kept,
        }
    }

    /// The same kind, its message prefixed with what was being done.
    pub fn context(self, what: &str) -> Self {
        let (kind, message) = self.into_parts();
        kind(format!("{what}: {message}"))
    }
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BackupError {}

/// Code that only reports (the scheduler's summary, a log line) takes the message.
impl From<BackupError> for String {
    fn from(error: BackupError) -> Self {
        error.into_parts().1
    }
}

/// A failure from code that does not classify its errors is a plain failure.
impl From<String> for BackupError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

impl From<&str> for BackupError {
    fn from(message: &str) -> Self {
        Self::Failed(message.to_owned())
    }
}

/// An underlying error that may say the disk is full: the kind is read from the error's code, not its text.
pub trait Cause: fmt::Display {
    fn is_storage_full(&self) -> bool {
        false
    }
}

impl Cause for std::io::Error {
    fn is_storage_full(&self) -> bool {
        matches!(self.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
    }
}

impl Cause for rusqlite::Error {
    fn is_storage_full(&self) -> bool {
        self.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
    }
}

impl Cause for serde_json::Error {
    fn is_storage_full(&self) -> bool {
        self.io_error_kind() == Some(std::io::ErrorKind::StorageFull)
    }
}

impl Cause for crate::store::migrate::MigrationError {}
impl Cause for String {}
impl Cause for &str {}

/// `context: cause`, a full disk as `StorageFull`, anything else as `Failed`.
pub fn failed(context: &str, cause: impl Cause) -> BackupError {
    let message = format!("{context}: {cause}");
    if cause.is_storage_full() {
        BackupError::StorageFull(message)
    } else {
        BackupError::Failed(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_by_its_code_not_its_words() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(matches!(failed("cannot write the copy", full), BackupError::StorageFull(_)));
        let worded = std::io::Error::other("No space left on device");
        assert!(matches!(failed("cannot write the copy", worded), BackupError::Failed(_)));
        let sqlite = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        assert!(matches!(failed("the backup failed", sqlite), BackupError::StorageFull(_)));
    }
}
