//! A point-in-time restore through the Backup actor (its turn, its restore path): `pitr::rebuild` builds and
//! checks the copy, writes are held while it catches up with the live outbox, then it is swapped in like
//! any restore; a drill (`verify_only`) throws it away. The copy is built while writes go on; only the
//! catch-up (`catch_up`, or a rebuild if the outbox was trimmed past the copy) runs with writes held, so a
//! hanging bucket refuses no write.

use super::error::BackupError;
use super::offsite::Offsite;
use super::restore::{self, restore, Restoring, Source};
use super::{file, BackupAnswer, Work};
use crate::pitr::rebuild::{drill_path, PointReport, Rebuild};
use crate::pitr::Target;

/// What the audit records of a point-in-time restore or drill.
fn detail(to: Target, report: &PointReport) -> String {
    format!(
        "to {to}: snapshot {} ({}) + {} changes, through {}; integrity ok, row counts match",
        report.base,
        report.base_from,
        report.changes_applied,
        report.restored_through.as_deref().unwrap_or("the snapshot")
    )
}

impl Work {
    /// A point-in-time restore (or, with `verify_only`, a drill): rebuild and check the copy while the live
    /// database goes on taking writes; then hold writes (503 `restoring`), replay onto the copy what was
    /// committed meanwhile (for `latest`), and swap. A restore commits to replacing the database once its
    /// copy is built: a bucket that hangs or fails costs no refused write, and no acknowledged write is
    /// dropped by `latest`. Should the outbox have been trimmed meanwhile (those changes shipped, so no
    /// longer local), the copy is rebuilt again with writes held.
    pub(super) async fn restore_to_point(
        &self,
        to: Target,
        from_remote: bool,
        verify_only: bool,
    ) -> Result<BackupAnswer, BackupError> {
        if self.config.pitr.is_none() && !from_remote {
            return Err(BackupError::Refused(
                "point-in-time recovery is off (pitr.enabled = false); nothing was shipped to restore from".into(),
            ));
        }
        to.not_in_future(self.now)?;
        let offsite = self.offsite()?.clone();
        // Whatever stops it short of the bucket leaves the database as it was: a refusal, not an outage.
        let outcome = self.restore_or_drill(to, &offsite, from_remote, verify_only).await.map_err(BackupError::refusal);
        if let Err(why) = &outcome {
            if !verify_only {
                self.writer.release_writes().await; // before the audit, which a hold would refuse
            }
            let action = if verify_only { "pitr_drilled" } else { "pitr_restored" };
            self.audit("pitr", action, false, &format!("to {to}: {why}")).await;
        }
        outcome
    }

    async fn restore_or_drill(
        &self,
        to: Target,
        offsite: &Offsite,
        from_remote: bool,
        verify_only: bool,
    ) -> Result<BackupAnswer, BackupError> {
        let staged =
            if verify_only { drill_path(&self.config.dir, self.now) } else { restore::staging_path(&self.config) };
        let mut report = self.rebuild(to, offsite, from_remote, verify_only, &staged).await?;
        if verify_only {
            file::remove_with_sidecars(&staged);
            report.verify_only = true;
            self.audit("pitr", "pitr_drilled", true, &detail(to, &report)).await;
            return Ok(BackupAnswer::Point(report));
        }
        self.writer.hold_writes("a point-in-time restore is replacing the database; retry in a moment").await?;
        if to == Target::Latest && !self.catch_up(&staged, &mut report).await? {
            report = self.rebuild(to, offsite, from_remote, false, &staged).await?;
        }
        let base = file::load(&self.config.dir, &report.base)?;
        let source = Source::Rebuilt(Box::new(base));
        let restoring = Restoring { to: Some(to.to_string()), from_remote, detail: detail(to, &report) };
        let (_, safety) = restore(self, source, restoring).await?;
        report.safety_backup = Some(safety);
        self.start_chain().await;
        Ok(BackupAnswer::Point(report))
    }

    /// Builds and checks the copy at `staged` from the bucket and, for a restore (not a drill, which tests
    /// the bucket alone), the live database's own outbox: what it committed and has not shipped yet.
    async fn rebuild(
        &self,
        to: Target,
        offsite: &Offsite,
        from_remote: bool,
        verify_only: bool,
        staged: &std::path::Path,
    ) -> Result<PointReport, BackupError> {
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
        let rebuild =
            Rebuild { offsite, backup_dir: &self.config.dir, staged, target: to, from_remote, now: self.now, live };
        rebuild.run().await
    }

    /// With writes held: replays onto the copy what the live database committed after the copy's last
    /// change. `false` when that cannot be done from the outbox alone (it was trimmed past the copy, or the
    /// copy follows another timeline), so the copy must be rebuilt.
    async fn catch_up(&self, staged: &std::path::Path, report: &mut PointReport) -> Result<bool, BackupError> {
        let (through, timeline) = (report.through_seq, report.timeline.clone());
        let since = self
            .readers
            .read(move |conn| {
                let live_timeline = crate::pitr::timeline(conn)?;
                let last: i64 = conn
                    .query_row(
                        "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'pitr_outbox'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap_or(0);
                let rows: Vec<_> = crate::pitr::outbox_rows(conn, usize::MAX, usize::MAX)?
                    .into_iter()
                    .filter(|row| row.seq > through)
                    .collect();
                Ok((live_timeline, last, rows))
            })
            .await
            .map_err(|err| format!("the live outbox cannot be read: {err}"))?;
        let (live_timeline, last, rows) = since;
        let contiguous = rows.iter().enumerate().all(|(i, row)| row.seq == through + 1 + i as i64)
            && rows.last().map_or(through, |row| row.seq) == last.max(through);
        if live_timeline.as_deref() != Some(timeline.as_str()) || !contiguous {
            tracing::info!(through, last, "The outbox moved past the rebuilt copy; rebuilding it with writes held.");
            return Ok(false);
        }
        if rows.is_empty() {
            return Ok(true);
        }
        let (count, newest) = (rows.len() as u64, rows.last().map(|row| (row.seq, row.committed_at.clone())));
        let staged = staged.to_owned();
        report.row_counts = tokio::task::spawn_blocking(move || crate::pitr::rebuild::replay_more(&staged, rows))
            .await
            .map_err(|err| format!("the catch-up task failed: {err}"))??;
        report.changes_applied += count;
        report.from_local_outbox += count;
        if let Some((seq, at)) = newest {
            report.through_seq = seq;
            report.restored_through = Some(at);
            report.ended_by = "the newest change committed".into();
        }
        Ok(true)
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
