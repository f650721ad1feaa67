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
        let offsite = self.offsite()?.clone();
        let staged =
            if verify_only { drill_path(&self.config.dir, self.now) } else { restore::staging_path(&self.config) };
        let rebuild = Rebuild {
            offsite: &offsite,
            backup_dir: &self.config.dir,
            staged: &staged,
            target: to,
            from_remote,
            now: self.now,
        };
        let built = rebuild.run().await;
        let mut report = match built {
            Ok(report) => report,
            Err(why) => {
                let action = if verify_only { "pitr_drilled" } else { "pitr_restored" };
                audit(&self.writer, "pitr", action, false, &format!("to {to}: {why}")).await;
                return Err(why);
            }
        };
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
        Ok(BackupAnswer::Point(report))
    }
}
