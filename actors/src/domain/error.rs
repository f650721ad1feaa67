//! What can go wrong with a command: the caller's fault (not found, conflict, invalid) is kept apart from
//! the store's (storage) and from the writer being unreachable.

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    /// The command names a record that does not exist (or was deleted).
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The command contradicts the current state (duplicate id, stale version, wrong state).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (for example, approve their own request).
    #[error("{0}")]
    Forbidden(String),
    /// A field's value is not acceptable.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// SQLite failed; the command was rolled back.
    #[error("storage error: {0}")]
    Storage(String),
    /// The disk holding the database is full; nothing was written (writing resumes once space is freed).
    #[error("{0}")]
    StorageFull(String),
    /// The database file or its device failed, or the database is damaged; nothing was written.
    #[error("{0}")]
    StorageFault(String),
    /// The writer could not take the command (restarting, shutting down or dead); nothing was written.
    #[error("writer unavailable: {0}")]
    Unavailable(String),
    /// A restore is replacing the database: nothing is acknowledged into the file about to be replaced;
    /// retry shortly (the restored database then takes it).
    #[error("{0}")]
    Restoring(String),
}

impl CommandError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    /// A short stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::Storage(_) => "storage",
            Self::StorageFull(_) => "storage_full",
            Self::StorageFault(_) => "storage_fault",
            Self::Unavailable(_) => "unavailable",
            Self::Restoring(_) => "restoring",
        }
    }
}
