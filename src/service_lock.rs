//! One writer per database file: the data lock (`atlas_actors::store::lock`, an exclusive `flock` on the
//! database's directory) is held by `serve` for its whole life and by every CLI command that may write
//! for its duration; the writer itself takes it too, so nothing opens a writer without it. When a running
//! service holds it, a command hands its work to the service (tokens, over the admin socket) or refuses
//! with one sentence saying what to do instead; it never opens a second writer on a live file.

use std::path::Path;

pub use atlas_actors::store::lock::{DataLock, LockError};

/// For a CLI command that may write: the lock for its duration, or a sentence saying what to do instead
/// (`instead`: the API route, or "stop the service first").
pub fn for_cli(database: &Path, instead: &str) -> Result<DataLock, String> {
    DataLock::acquire(database).map_err(|err| match err {
        held if held.held_by_a_command() => format!("{held}; run this again once it has finished"),
        held @ LockError::Held { .. } => format!("{held}; a second writer on its database is refused: {instead}"),
        other => other.to_string(),
    })
}
