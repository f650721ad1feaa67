//! A restore: verify, safety backup, swap through the writer, reopen the readers. The original database
//! stays in place when any step fails.
//!
//! Nothing is restored unverified: a local or remote backup passes `file::verify` (checksum,
//! `integrity_check`, row counts), a golden copy its `integrity_check` and migration check, a point-in-time
//! copy its rebuild's checks; every source then passes `schema_drift` (nothing beyond the migrations'
//! schema). Every restore, of any source, forks the staged copy's timeline first (`pitr::fork_timeline`).
//! Then the read pool is released, the writer (`WriterHandle::replace_database`) folds the WAL, makes the
//! safety backup, swaps the file and reopens it (migrating) in one handler, so no command comes between,
//! and the pool is reopened.

use super::error::BackupError;
use super::file::{self, Manifest};
use super::owner::{self, Lineage};
use super::{BackupConfig, Work};
use crate::domain::Restored;
use crate::store::ReaderPool;
use std::path::PathBuf;

/// What a restore puts in place.
pub(super) enum Source {
    Backup(String),
    Golden(PathBuf),
    /// A copy already built and checked at the staging path (a point-in-time rebuild), with the
    /// snapshot it started from.
    Rebuilt(Box<Manifest>),
}

/// What the restored database's first event says beyond the source (see `Restored`).
pub(super) struct Restoring {
    pub(super) to: Option<String>,
    pub(super) from_remote: bool,
    pub(super) detail: String,
}

/// Where a restore stages the copy it swaps in.
pub(super) fn staging_path(config: &BackupConfig) -> PathBuf {
    config.database.with_extension("db.restore-tmp")
}

/// Verify, safety backup, swap through the writer, reopen the readers. The original stays on failure.
/// Answers what was restored and the safety backup's id. The restored database's first event records
/// the restore in the caller's name (`Restored`), written before it takes any other command.
pub(super) async fn restore(
    work: &Work,
    source: Source,
    restoring: Restoring,
) -> Result<(Manifest, String), BackupError> {
    let (config, writer, readers, now) = (work.config.clone(), &work.writer, &work.readers, work.now);
    let golden = match &source {
        Source::Golden(path) => Some(format!("the golden copy {}", path.display())),
        _ => None,
    };
    let lineage = Lineage::Restored { succeeds: replaced_timeline(readers).await };
    let blocking = config.clone();
    let prepared = tokio::task::spawn_blocking(move || -> Result<(Manifest, PathBuf), BackupError> {
        let config = blocking;
        let staged = staging_path(&config);
        let chosen = match source {
            Source::Backup(id) => {
                let chosen = file::verify(&config.dir, &id, now)?;
                if chosen.verified_ok != Some(true) {
                    return Err(BackupError::Refused(format!(
                        "backup {id} failed verification ({}); nothing was restored",
                        chosen.verify_detail.clone().unwrap_or_default()
                    )));
                }
                file::materialize(&config.dir, &chosen, &staged)?;
                chosen
            }
            Source::Golden(path) => file::stage_golden(&path, &staged)?,
            Source::Rebuilt(base) => *base,
        };
        // Whatever its source, nothing beyond the migrations' schema comes in (a trigger would run here).
        let staged_conn =
            crate::store::open::read_only(&staged).map_err(|e| format!("cannot open the copy to restore: {e}"))?;
        let drift = crate::store::migrate::schema_drift(&staged_conn).map_err(|e| format!("schema: {e}"))?;
        drop(staged_conn);
        if !drift.is_empty() {
            return Err(BackupError::Refused(format!(
                "the copy holds schema objects Atlas's migrations do not make it so ({}); nothing was restored",
                drift.join(", ")
            )));
        }
        // The restored copy's history forks here: it ships its changes under a timeline of its own, and
        // may write to the bucket only as the successor of the database it replaces (`owner.rs`).
        crate::pitr::fork_timeline(&staged, &lineage)?;
        Ok((chosen, staged))
    })
    .await
    .map_err(|err| format!("the restore task failed: {err}"))?;
    let (chosen, staged) = match prepared {
        Ok(prepared) => prepared,
        Err(why) => {
            file::remove_with_sidecars(&staging_path(&config));
            return Err(why);
        }
    };
    // The writer makes the safety backup itself, of the closed file holding every acknowledged write: a
    // complete, fsynced, listed backup before anything is swapped.
    let (dir, options) = (config.dir.clone(), config.options.clone());
    let safety: crate::store::SafetyBackup =
        Box::new(move |db| file::create(db, &dir, &options, now).map(|m| m.id).map_err(String::from));
    let record = Restored {
        from: golden.unwrap_or_else(|| chosen.id.clone()),
        to: restoring.to,
        from_remote: restoring.from_remote,
        safety_backup: String::new(), // the writer knows it once the safety backup is made
        detail: restoring.detail,
    };
    readers.release();
    let swapped = writer.replace_database(staged.clone(), safety, (work.by.clone(), record)).await;
    let reopened = readers.reopen();
    file::remove_with_sidecars(&staged);
    let safety_id = swapped?;
    reopened?;
    tracing::warn!(backup = %chosen.id, safety = %safety_id, "Database restored from a backup.");
    Ok((chosen, safety_id))
}

/// The timeline of the database a restore replaces, when there is one worth succeeding: a database
/// holding events (the empty one a CLI makes on a bare machine to work beside is not).
async fn replaced_timeline(readers: &ReaderPool) -> Option<String> {
    readers
        .read(|conn| {
            let held: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?;
            Ok(owner::standing(conn)?.filter(|_| held).map(|standing| standing.timeline))
        })
        .await
        .ok()
        .flatten()
}
