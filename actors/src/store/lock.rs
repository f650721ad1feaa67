//! One writer per database: the data lock. Whoever opens the read-write connection holds an exclusive
//! `flock` on the database's directory itself, for as long as the connection may be used. A lock on a
//! file beside the database could be unlinked away (`rm data/atlas.lock`, a tmp cleaner), and the next
//! process would lock a new file of the same name; a directory that holds the database cannot be removed,
//! and a new one of the same name is another directory. `atlas.lock` is still written, with the holder's
//! pid and what it is (`serve`, `backup restore`), so a refusal can say who holds the lock; nothing
//! relies on it.
//!
//! The writer takes the lock itself when it starts (`WriterHandle::start`, `migrate_database`), so no
//! code path can open a writer without it. Within one process the lock is shared: a second `acquire` for
//! the same directory while the first is held returns the same lock (the service takes it before its
//! actors, the writer again; flock would otherwise refuse a process its own lock).

use nix::fcntl::{Flock, FlockArg};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The pid file beside the database (informational).
pub fn pid_path(database: &Path) -> PathBuf {
    data_dir(database).join("atlas.lock")
}

/// The directory the database really lives in (a path through a symlink finds the same one): where the
/// lock, the instance id and the admin socket are.
pub fn data_dir(database: &Path) -> PathBuf {
    let real = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_path_buf());
    match real.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

struct Held {
    _lock: Flock<std::fs::File>,
}

/// The locks this process holds, by the directory's device and inode.
type HeldTable = Mutex<HashMap<(u64, u64), Weak<Held>>>;

fn held() -> &'static HeldTable {
    static HELD: OnceLock<HeldTable> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Held for as long as any clone of it lives.
#[derive(Clone)]
pub struct DataLock {
    _held: Arc<Held>,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it: a running service, or another CLI command (`role`, from `atlas.lock`).
    Held {
        path: PathBuf,
        pid: Option<u32>,
        role: Option<String>,
    },
    Io(String),
}

impl LockError {
    /// Whether the holder is a CLI command (which finishes by itself) rather than the service.
    pub fn held_by_a_command(&self) -> bool {
        matches!(self, Self::Held { role: Some(role), .. } if role != SERVICE)
    }
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            held @ Self::Held { path, pid, role: Some(role) } if held.held_by_a_command() => {
                let pid = pid.map_or(String::new(), |pid| format!(", process {pid}"));
                write!(f, "another Atlas command holds {} (`atlas {role}`{pid})", path.display())
            }
            Self::Held { path, pid: Some(pid), .. } => {
                write!(f, "Atlas is running (process {pid} holds {})", path.display())
            }
            Self::Held { path, pid: None, .. } => {
                write!(f, "Atlas is running (another process holds {})", path.display())
            }
            Self::Io(why) => write!(f, "{why}"),
        }
    }
}

/// The role `atlas serve` announces.
pub const SERVICE: &str = "serve";

fn role() -> &'static OnceLock<String> {
    static ROLE: OnceLock<String> = OnceLock::new();
    &ROLE
}

/// Names what this process is (`serve`, `backup restore`), written beside its pid so that a refusal can
/// tell a running service from a command that will finish. Only the subcommand's words: never its
/// arguments, which may carry secrets.
pub fn announce(what: &str) {
    let _ = role().set(what.to_owned());
}

/// The pid and role a holder wrote in `atlas.lock`.
fn holder(database: &Path) -> (Option<u32>, Option<String>) {
    let text = std::fs::read_to_string(pid_path(database)).unwrap_or_default();
    let mut words = text.trim().splitn(2, ' ');
    let pid = words.next().and_then(|pid| pid.parse().ok());
    let role = words.next().map(str::trim).filter(|role| !role.is_empty()).map(str::to_owned);
    (pid, role)
}

impl DataLock {
    /// Takes the lock on `database`'s directory without waiting (creating the directory if needed), and
    /// records this process's id in `atlas.lock`.
    pub fn acquire(database: &Path) -> Result<Self, LockError> {
        let dir = data_dir(database);
        std::fs::create_dir_all(&dir).map_err(|e| LockError::Io(format!("cannot create {}: {e}", dir.display())))?;
        let handle =
            std::fs::File::open(&dir).map_err(|e| LockError::Io(format!("cannot open {}: {e}", dir.display())))?;
        let meta = handle.metadata().map_err(|e| LockError::Io(format!("cannot read {}: {e}", dir.display())))?;
        let key = (meta.dev(), meta.ino());
        let mut table = held().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mine) = table.get(&key).and_then(Weak::upgrade) {
            return Ok(Self { _held: mine });
        }
        let lock = match Flock::lock(handle, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let (pid, role) = holder(database);
                return Err(LockError::Held { path: dir, pid, role });
            }
            Err((_, errno)) => return Err(LockError::Io(format!("cannot lock {}: {errno}", dir.display()))),
        };
        let mine = Arc::new(Held { _lock: lock });
        table.retain(|_, weak| weak.strong_count() > 0);
        table.insert(key, Arc::downgrade(&mine));
        if let Ok(mut file) = std::fs::File::create(pid_path(database)) {
            let _ = match role().get() {
                Some(role) => write!(file, "{} {role}", std::process::id()),
                None => write!(file, "{}", std::process::id()),
            };
        }
        Ok(Self { _held: mine })
    }
}

/// Refuses a database file with more than one name (hard links): the lock is on the directory of the
/// name given, and another name in another directory would reach the same file past it (`cp -al`,
/// `rsync --link-dest` snapshots make such names). Checked when a writer starts, after a crashed restore's
/// own second name is rolled back.
pub fn refuse_other_names(database: &Path) -> Result<(), String> {
    match std::fs::metadata(database) {
        Ok(meta) if meta.nlink() > 1 => Err(format!(
            "the database {} has {} names (hard links): a writer through another name would pass the data lock, \
             so none is opened; remove the other links (find / -samefile {} -xdev) and start again",
            database.display(),
            meta.nlink(),
            database.display()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another process trying the lock, as a second Atlas would (flock is per open file, so a child
    /// process is the honest test).
    fn other_process_can_lock(dir: &Path) -> bool {
        let status = std::process::Command::new("flock")
            .args(["--nonblock", "--exclusive", dir.to_str().unwrap(), "true"])
            .status()
            .expect("flock(1) runs");
        status.success()
    }

    #[test]
    fn the_lock_holds_when_its_pid_file_is_deleted_and_is_shared_within_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("data/atlas.db");
        let first = DataLock::acquire(&database).unwrap();
        let data = dir.path().join("data");
        assert!(!other_process_can_lock(&data), "held");
        std::fs::remove_file(pid_path(&database)).unwrap();
        assert!(!other_process_can_lock(&data), "deleting atlas.lock does not free the database");
        let again = DataLock::acquire(&database).expect("the same process shares its lock");
        drop(first);
        assert!(!other_process_can_lock(&data), "still held by the second handle");
        drop(again);
        assert!(other_process_can_lock(&data), "free once every holder is gone");
    }

    #[test]
    fn a_refusal_tells_a_running_command_from_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("data/atlas.db");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut holder = std::process::Command::new("flock")
            .args(["--exclusive", data.to_str().unwrap(), "sleep", "30"])
            .spawn()
            .expect("flock(1) runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while other_process_can_lock(&data) {
            assert!(std::time::Instant::now() < deadline, "flock(1) took the lock");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::write(pid_path(&database), format!("{} backup create", holder.id())).unwrap();
        let refused = DataLock::acquire(&database).err().unwrap();
        assert!(refused.held_by_a_command());
        let said = refused.to_string();
        assert!(said.contains("another Atlas command") && said.contains("`atlas backup create`"), "{said}");
        std::fs::write(pid_path(&database), format!("{} serve", holder.id())).unwrap();
        let refused = DataLock::acquire(&database).err().unwrap();
        assert!(!refused.held_by_a_command() && refused.to_string().starts_with("Atlas is running"), "{refused}");
        let _ = holder.kill();
        let _ = holder.wait();
    }
}
