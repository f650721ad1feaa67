//! A point-in-time restore through the Backup actor (its turn, its restore path): `pitr::rebuild` builds and
//! checks the copy, then it is swapped in like any restore; a drill (`verify_only`) throws it away.

use super::restore::{self, restore, Source};
use super::{audit, file, BackupAnswer, Work};
use crate::pitr::rebuild::{drill_path, Rebuild};
use crate::pitr::Target;

impl Work {
    /// A point-in-time restore (or, with `verify_only`, a drill): rebuild, check, then swap.
    pub(super) async fn restore_to_point(
        &self,
        to: Target,
        from_remote: bool,
        verify_only: bool,
    ) -> Result<BackupAnswer, String> {
        if self.config.pitr.is_none() && !from_remote {
            return Err(
                "point-in-time recovery is off (pitr.enabled = false); nothing was shipped to restore from".into()
            );
        }
        to.not_in_future(self.now)?;
        let offsite = self.offsite()?.clone();
        if !verify_only {
            // From here until the swap, writes are refused (503 `restoring`): the outbox read next is then
            // every acknowledged write, and nothing is acknowledged into the file being replaced.
            self.writer.hold_writes("a point-in-time restore is replacing the database; retry in a moment").await?;
        }
        let outcome = self.rebuild_and_swap(to, offsite, from_remote, verify_only).await;
        if let Err(why) = &outcome {
            if !verify_only {
                self.writer.release_writes().await; // before the audit, which the hold would refuse
            }
            let action = if verify_only { "pitr_drilled" } else { "pitr_restored" };
            audit(&self.writer, "pitr", action, false, &format!("to {to}: {why}")).await;
        }
        outcome
    }

    async fn rebuild_and_swap(
        &self,
        to: Target,
        offsite: crate::backup::offsite::Offsite,
        from_remote: bool,
        verify_only: bool,
    ) -> Result<BackupAnswer, String> {
        // The live database's own history: its timeline, and (for a restore, not a drill, which tests the
        // bucket alone) the changes it committed and has not shipped yet, replayed after the bucket's.
        let live = self
            .readers
            .read(move |conn| {
                let rows = if verify_only { Vec::new() } else { crate::pitr::outbox_rows(conn, usize::MAX, usize::MAX)? };
                Ok(crate::pitr::timeline(conn)?.map(|timeline| (timeline, rows)))
            })
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "The live database's outbox cannot be read; rebuilding from the bucket alone.");
                None
            });
        let staged =
            if verify_only { drill_path(&self.config.dir, self.now) } else { restore::staging_path(&self.config) };
        let rebuild = Rebuild {
            offsite: &offsite,
            backup_dir: &self.config.dir,
            staged: &staged,
            target: to,
            from_remote,
            now: self.now,
            live,
        };
        let built = rebuild.run().await;
        let mut report = built?;
        let detail = format!(
            "to {to}: snapshot {} ({}) + {} changes, through {}; integrity ok, row counts match",
            report.base,
            report.base_from,
            report.changes_applied,
            report.restored_through.as_deref().unwrap_or("the snapshot")
        );
        if verify_only {
            let _ = std::fs::remove_file(&staged);
            report.verify_only = true;
            audit(&self.writer, "pitr", "pitr_drilled", true, &detail).await;
            return Ok(BackupAnswer::Point(report));
        }
        let base = file::load(&self.config.dir, &report.base)?;
        let (_, safety) = restore(
            self.config.clone(),
            self.writer.clone(),
            self.readers.clone(),
            self.now,
            Source::Rebuilt(Box::new(base)),
        )
        .await?;
        report.safety_backup = Some(safety);
        audit(&self.writer, "pitr", "pitr_restored", true, &detail).await;
        self.start_chain().await;
        Ok(BackupAnswer::Point(report))
    }

    /// After a restore, a snapshot of the restored database starts its new timeline's chain at once, in
    /// this turn: until one exists nothing after the restore is restorable, and a `latest` restore queued
    /// behind this one would otherwise pick another timeline's snapshot.
    pub(super) async fn start_chain(&self) {
        if self.config.pitr.is_none() {
            return;
        }
        match self.create().await {
            Ok(manifest) if manifest.upload_error.is_none() => {
                tracing::info!(backup = %manifest.id, "A snapshot starts the restored database's recovery chain.");
            }
            Ok(manifest) => {
                tracing::warn!(backup = %manifest.id, "The new chain's snapshot was not uploaded; the shipper retries.")
            }
            Err(why) => tracing::warn!(error = %why, "No snapshot could start the new chain yet; the shipper retries."),
        }
    }
}
