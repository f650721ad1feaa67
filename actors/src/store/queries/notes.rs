//! The append-only note history of approvals, runs and errors.

use crate::domain::Note;
use rusqlite::Connection;

/// What a note is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteSubject {
    Approval,
    Run,
    Error,
}

impl NoteSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approval => "approval",
            Self::Run => "run",
            Self::Error => "error",
        }
    }
}

/// Every note on a subject, oldest first.
pub fn for_subject(conn: &Connection, subject: NoteSubject, id: &str) -> rusqlite::Result<Vec<Note>> {
    let mut stmt = conn.prepare_cached(
        "SELECT author, body, created_at FROM notes WHERE subject_type = ?1 AND subject_id = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map([subject.as_str(), id], |row| {
        Ok(Note { author: row.get(0)?, body: row.get(1)?, created_at: row.get(2)? })
    })?;
    rows.collect()
}
