//! A restore: verify, safety backup, swap through the writer, reopen the readers. The original database
//! stays in place when any step fails.

use super::file::{self, Manifest};
use super::{audit, BackupAnswer, BackupConfig};
use crate::store::{ReaderPool, WriterHandle};
use std::path::PathBuf;
use std::sync::Arc;

/// What a restore puts in place.
pub(super) enum Source {
    Backup(String),
    Golden(PathBuf),
}

/// Verify, safety backup, swap through the writer, reopen the readers. The original stays on failure.
pub(super) async fn restore(
    config: Arc<BackupConfig>,
    writer: WriterHandle,
    readers: ReaderPool,
    now: chrono::DateTime<chrono::Utc>,
    source: Source,
) -> Result<BackupAnswer, String> {
    let blocking = config.clone();
    let prepared = tokio::task::spawn_blocking(move || -> Result<(Manifest, PathBuf), String> {
        let config = blocking;
        let staged = config.database.with_extension("db.restore-tmp");
        match source {
            Source::Backup(id) => {
                let chosen = file::verify(&config.dir, &id, now)?;
                if chosen.verified_ok != Some(true) {
                    return Err(format!(
                        "backup {id} failed verification ({}); nothing was restored",
                        chosen.verify_detail.clone().unwrap_or_default()
                    ));
                }
                file::materialize(&config.dir, &chosen, &staged)?;
                Ok((chosen, staged))
            }
            Source::Golden(path) => Ok((file::stage_golden(&path, &staged)?, staged)),
        }
    })
    .await
    .map_err(|err| format!("the restore task failed: {err}"))??;
    let (chosen, staged) = prepared;
    let safety_copy = config.database.with_extension("db.safety-tmp");
    readers.release();
    let swapped = writer.replace_database(staged.clone(), safety_copy.clone()).await;
    let reopened = readers.reopen();
    let _ = std::fs::remove_file(&staged);
    if let Err(why) = swapped {
        let _ = std::fs::remove_file(&safety_copy);
        return Err(why);
    }
    reopened?;
    // The copy the writer took (with every acknowledged write) becomes a proper, verified-able backup.
    let blocking = config.clone();
    let copy = safety_copy.clone();
    let safety = tokio::task::spawn_blocking(move || file::create(&copy, &blocking.dir, &blocking.options, now))
        .await
        .map_err(|err| format!("the safety backup task failed: {err}"))?;
    let _ = std::fs::remove_file(&safety_copy);
    let safety =
        safety.map_err(|err| format!("restored, but the safety copy could not be stored as a backup: {err}"))?;
    // Audited in the restored database (the old one, with its events, is the safety backup).
    audit(&writer, &safety.id, "created", true, &format!("safety backup before restoring {}", chosen.id)).await;
    audit(&writer, &chosen.id, "restored", true, &format!("safety backup {}", safety.id)).await;
    tracing::warn!(backup = %chosen.id, safety = %safety.id, "Database restored from a backup.");
    Ok(BackupAnswer::One(chosen))
}
