//! Swapping the database file for a restore, crash-safe at every instant. The writer calls it with
//! everything acknowledged already in the file (WAL folded, connection closed):
//! 1. the safety backup is made (a complete, fsynced, listed backup of the current file);
//! 2. a marker (`atlas.db.restore-marker`) records the operation, fsynced;
//! 3. the original gets a second name (`atlas.db.pre-restore`, a hard link), the staged copy is renamed
//!    over the database (one atomic rename) and the directory is fsynced;
//! 4. the caller reopens; on success the second name and the marker go, on failure the original is
//!    renamed back. Nothing here creates a database.
//!
//! At start-up a leftover marker means a restore died midway: the original is put back (it is complete,
//! and its copy is the listed safety backup), the temporary files are removed, and the writer reports it.

use std::path::{Path, PathBuf};

fn marker(db: &Path) -> PathBuf {
    db.with_extension("db.restore-marker")
}

fn aside(db: &Path) -> PathBuf {
    db.with_extension("db.pre-restore")
}

fn sync_dir(db: &Path) -> Result<(), String> {
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("cannot sync {}: {e}", dir.display()))
}

fn sidecars(db: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
}

/// Steps 2 and 3: marker, second name, atomic rename of `staged` over `db`.
pub(super) fn swap_in(db: &Path, staged: &Path, safety_id: &str) -> Result<(), String> {
    let record = serde_json::json!({ "staged": staged, "safety_backup": safety_id }).to_string();
    std::fs::write(marker(db), record).map_err(|e| format!("cannot write the restore marker: {e}"))?;
    std::fs::File::open(marker(db)).and_then(|f| f.sync_all()).map_err(|e| format!("cannot sync the marker: {e}"))?;
    sync_dir(db)?;
    for sidecar in sidecars(db) {
        match std::fs::remove_file(&sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", sidecar.display())),
        }
    }
    let _ = std::fs::remove_file(aside(db));
    std::fs::hard_link(db, aside(db)).map_err(|e| format!("cannot keep the original aside: {e}"))?;
    std::fs::rename(staged, db).map_err(|e| format!("cannot put the restored file in place: {e}"))?;
    sync_dir(db)
}

/// Step 4, success: the original's second name and the marker go.
pub(super) fn finish(db: &Path) -> Result<(), String> {
    std::fs::remove_file(aside(db)).map_err(|e| format!("cannot remove {}: {e}", aside(db).display()))?;
    std::fs::remove_file(marker(db)).map_err(|e| format!("cannot remove the restore marker: {e}"))?;
    sync_dir(db)
}

/// Step 4, failure (or a leftover at start-up): the original back under its name, temporary files gone.
/// Returns what was done. Fails only when the original cannot be put back (then nothing may be opened).
pub(super) fn roll_back(db: &Path) -> Result<String, String> {
    let staged = std::fs::read_to_string(marker(db))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|record| record["staged"].as_str().map(PathBuf::from));
    let mut done = String::from("the original database was kept");
    if aside(db).exists() {
        use std::os::unix::fs::MetadataExt;
        let same = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if same(&aside(db), db) {
            // Stopped before the rename: the database is the original already; drop its second name
            // (renaming one link over another of the same file would do nothing).
            std::fs::remove_file(aside(db)).map_err(|e| format!("cannot remove {}: {e}", aside(db).display()))?;
        } else {
            for sidecar in sidecars(db) {
                let _ = std::fs::remove_file(sidecar); // belonged to the restored file, if it was opened
            }
            std::fs::rename(aside(db), db).map_err(|e| format!("cannot put the original database back: {e}"))?;
            done = "the original database was put back".into();
        }
    }
    // Only the staged name a restore uses is removed, whatever the marker says.
    if staged.is_some_and(|staged| staged == db.with_extension("db.restore-tmp")) {
        let _ = std::fs::remove_file(db.with_extension("db.restore-tmp"));
    }
    let _ = std::fs::remove_file(marker(db));
    sync_dir(db)?;
    Ok(done)
}

/// At start-up: a restore that died midway is rolled back. `Some(report)` when there was one.
pub(super) fn recover_leftover(db: &Path) -> Result<Option<String>, String> {
    // A restore that died before its marker leaves only its staged copy behind (the fixed name the
    // backup module stages into): the live file was never touched.
    let _ = std::fs::remove_file(db.with_extension("db.restore-tmp"));
    if !marker(db).exists() {
        return Ok(None);
    }
    let safety = std::fs::read_to_string(marker(db))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|record| record["safety_backup"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let done = roll_back(db)?;
    Ok(Some(format!(
        "a restore was interrupted (Atlas stopped during it); {done}; safety backup {safety} holds the same data"
    )))
}
