//! One writer per database file. `serve` holds an exclusive lock (`flock`) on `atlas.lock` beside the
//! database for its whole life; a CLI command that writes takes the same lock for its duration. When a
//! running service holds it, the command hands its work to the service (tokens, over the admin socket)
//! or refuses with one sentence saying what to do instead; it never opens a second writer on a live file.

use nix::fcntl::{Flock, FlockArg};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file beside the database file itself (a path reaching it through a symlink finds the same lock).
pub fn lock_path(database: &Path) -> PathBuf {
    let real = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_path_buf());
    real.parent().unwrap_or(Path::new(".")).join("atlas.lock")
}

/// Held for as long as it lives (the lock goes with the open file).
pub struct DataLock {
    _lock: Flock<std::fs::File>,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it: a running service (or another CLI command).
    Held {
        path: PathBuf,
        pid: Option<u32>,
    },
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Held { path, pid: Some(pid) } => {
                write!(f, "Atlas is running (process {pid} holds {})", path.display())
            }
            Self::Held { path, pid: None } => write!(f, "Atlas is running (another process holds {})", path.display()),
            Self::Io(why) => write!(f, "{why}"),
        }
    }
}

impl DataLock {
    /// Takes the lock without waiting and records this process's id in the file.
    pub fn acquire(database: &Path) -> Result<Self, LockError> {
        let path = lock_path(database);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| LockError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(format!("cannot open {}: {e}", path.display())))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let pid = std::fs::read_to_string(&path).ok().and_then(|text| text.trim().parse().ok());
                return Err(LockError::Held { path, pid });
            }
            Err((_, errno)) => return Err(LockError::Io(format!("cannot lock {}: {errno}", path.display()))),
        };
        lock.set_len(0).and_then(|()| write!(lock, "{}", std::process::id())).and_then(|()| lock.flush()).ok();
        Ok(Self { _lock: lock })
    }
}

/// For a CLI command that writes: the lock for its duration, or a sentence saying what to do instead
/// (`instead`: the API route, or "stop the service first").
pub fn for_cli(database: &Path, instead: &str) -> Result<DataLock, String> {
    DataLock::acquire(database).map_err(|err| match err {
        held @ LockError::Held { .. } => format!("{held}; a second writer on its database is refused: {instead}"),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_one_s_pid() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("data/atlas.db");
        let first = DataLock::acquire(&database).unwrap();
        let err = DataLock::acquire(&database).err().expect("held");
        assert!(err.to_string().contains(&format!("process {}", std::process::id())), "{err}");
        drop(first);
        DataLock::acquire(&database).expect("free again once the holder is gone");
    }
}
