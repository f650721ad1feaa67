//! A point-in-time rebuild: the newest verified snapshot before the target, then the shipped changes
//! after it (`chain.rs`) replayed in one transaction, then the checks: `integrity_check`, every table's
//! row count against what the snapshot held plus what the changes inserted and deleted, and no event
//! after the target. Only a copy that passes them all is handed to the restore's swap (or, for a drill,
//! thrown away). The live database is never touched here.

use super::chain::{End, Walker};
use super::segment::Record;
use super::{segment, PitrBase, Target};
use crate::backup::file::{self, Manifest};
use crate::backup::offsite::Offsite;
use crate::store::capture::{replay_onto, OUTBOX};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use sqlite_session::Op;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a rebuild made and checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PointReport {
    pub target: String,
    /// The snapshot it started from, and where it came from (`local` or `off-site`).
    pub base: String,
    pub base_from: &'static str,
    pub timeline: String,
    pub changes_applied: u64,
    pub through_seq: i64,
    /// The commit time of the newest change in the result.
    pub restored_through: Option<String>,
    /// Of the changes applied, how many came from the live database's own outbox (committed, not yet
    /// shipped) rather than from the bucket.
    pub from_local_outbox: u64,
    /// Why replay stopped there.
    pub ended_by: String,
    pub integrity: String,
    pub row_counts: BTreeMap<String, i64>,
    pub verify_only: bool,
    /// Set once swapped in: the safety backup of the database it replaced.
    pub safety_backup: Option<String>,
}

/// Where the pieces come from and go.
pub struct Rebuild<'a> {
    pub offsite: &'a Offsite,
    pub backup_dir: &'a Path,
    /// The copy to build (it must not exist yet).
    pub staged: &'a Path,
    pub target: Target,
    /// Take the snapshot from the bucket even when a local one would do.
    pub from_remote: bool,
    pub now: chrono::DateTime<chrono::Utc>,
    /// The live database's timeline and its outbox (committed changes not shipped yet), when it can be
    /// read: `latest` keeps to that timeline, and its unshipped changes are replayed after the bucket's.
    pub live: Option<(String, Vec<Record>)>,
}

/// When a snapshot's contents were last changed: its newest event, else (no event yet) when it was made.
fn reach(manifest: &Manifest) -> Option<&str> {
    let base = manifest.pitr.as_ref()?;
    Some(base.through_at.as_deref().unwrap_or(&manifest.finished_at))
}

fn usable(manifest: &Manifest, target: Target) -> bool {
    manifest.verified_ok != Some(false) && reach(manifest).is_some_and(|at| target.covers(at))
}

/// The newest usable snapshot, by the time it reaches, then by id. For `latest`, one of the live
/// timeline's own when there is one: another timeline's newest snapshot (the safety copy a restore took of
/// the database it replaced) is a history the live database left.
fn newest(candidates: Vec<Manifest>, target: Target, live_timeline: Option<&str>) -> Option<Manifest> {
    let usable: Vec<Manifest> = candidates.into_iter().filter(|m| usable(m, target)).collect();
    let on_live = |m: &Manifest| m.pitr.as_ref().is_some_and(|b| Some(b.timeline.as_str()) == live_timeline);
    let pool: Vec<Manifest> = if target == Target::Latest && usable.iter().any(on_live) {
        usable.into_iter().filter(on_live).collect()
    } else {
        usable
    };
    pool.into_iter().max_by_key(|m| (reach(m).map(str::to_owned), m.id.clone()))
}

/// The position the snapshot file itself holds; a manifest that says otherwise is refused (replaying
/// another timeline's changes, or skipping some, would build a wrong database that passes every check).
fn position_in_file(staged: &Path, id: &str, claimed: &PitrBase) -> Result<(), String> {
    let conn = Connection::open_with_flags(staged, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open snapshot {id}: {e}"))?;
    let schema = crate::store::migrate::check(&conn).map_err(|e| format!("snapshot {id}: {e}"))?.current;
    let held = super::base_of(&conn, schema).map_err(|e| format!("cannot read snapshot {id}'s position: {e}"))?;
    match held {
        Some(held)
            if held.timeline == claimed.timeline
                && held.seq == claimed.seq
                && held.schema_version == claimed.schema_version =>
        {
            Ok(())
        }
        held => Err(format!(
            "snapshot {id}'s manifest places it at timeline {} change {} (schema {}), but the file holds {}; \
             the manifest was altered or belongs to another file, so nothing was restored",
            claimed.timeline,
            claimed.seq,
            claimed.schema_version,
            held.map_or("no recovery position".to_owned(), |h| format!(
                "timeline {} change {} (schema {})",
                h.timeline, h.seq, h.schema_version
            ))
        )),
    }
}

impl Rebuild<'_> {
    /// Builds and checks the copy at `staged`; on any failure nothing is left there.
    pub async fn run(&self) -> Result<PointReport, String> {
        let outcome = self.build().await;
        if outcome.is_err() {
            let _ = std::fs::remove_file(self.staged);
        }
        outcome
    }

    async fn build(&self) -> Result<PointReport, String> {
        let (base, base_from) = self.choose_base().await?;
        let pitr = base.pitr.clone().ok_or("the chosen backup is not a recovery snapshot")?;
        let (dir, staged, id, now) = (self.backup_dir.to_owned(), self.staged.to_owned(), base.id.clone(), self.now);
        let claimed = pitr.clone();
        blocking(move || {
            let checked = file::verify(&dir, &id, now)?;
            if checked.verified_ok != Some(true) {
                return Err(format!(
                    "snapshot {id} failed verification ({}); nothing was restored",
                    checked.verify_detail.unwrap_or_default()
                ));
            }
            file::materialize(&dir, &checked, &staged)?;
            position_in_file(&staged, &id, &claimed)
        })
        .await?;
        let mut walker = Walker::new(&pitr, self.target);
        let folder = segment::folder(&pitr.timeline);
        let mut spans: Vec<(i64, i64, String)> = self
            .offsite
            .list_folder(&folder)
            .await?
            .into_iter()
            .filter_map(|(name, _)| segment::span(&name).map(|(first, last)| (first, last, name)))
            .collect();
        spans.sort();
        for (_, last, name) in spans {
            if !walker.wants(last) {
                continue;
            }
            let bytes = self.offsite.get_object(&name).await?;
            let records = segment::decode(&bytes).map_err(|why| format!("segment {name} cannot be used: {why}"))?;
            walker.feed(records)?;
        }
        let shipped_through = walker.through_seq();
        if let Some((_, rows)) = self.live.as_ref().filter(|(timeline, _)| *timeline == pitr.timeline) {
            walker.feed(rows.clone())?;
        }
        let chain = walker.finish();
        let from_local_outbox = (chain.through_seq - shipped_through).max(0) as u64;
        let ended_by = match &chain.end {
            End::Shipped if from_local_outbox > 0 => "the newest change committed".to_owned(),
            End::Shipped => "the newest change off-site".to_owned(),
            End::Target => "the target time".to_owned(),
            End::Migration { seq, schema_version, committed_at } => {
                if matches!(self.target, Target::At(_)) {
                    return Err(format!(
                        "the target lies after a schema migration: change {seq}, committed at {committed_at}, is at \
                         schema version {schema_version}, which ends the chain that snapshot {} (version {}) starts, \
                         and no snapshot taken after the migration comes before the target; restore to a time \
                         before {committed_at}, or to one after the next backup",
                        base.id, pitr.schema_version
                    ));
                }
                format!("a schema migration (to version {schema_version}) at change {seq}, committed at {committed_at}")
            }
        };
        let (staged, target) = (self.staged.to_owned(), self.target);
        let through_at = chain.through_at.clone().or(pitr.through_at.clone());
        let (applied, row_counts) = blocking(move || replay_checked(&staged, chain.changes, target)).await?;
        Ok(PointReport {
            target: self.target.to_string(),
            base: base.id,
            base_from,
            timeline: pitr.timeline,
            changes_applied: applied,
            through_seq: chain.through_seq,
            restored_through: through_at,
            from_local_outbox,
            ended_by,
            integrity: "ok".into(),
            row_counts,
            verify_only: false,
            safety_backup: None,
        })
    }

    fn live_timeline(&self) -> Option<&str> {
        self.live.as_ref().map(|(timeline, _)| timeline.as_str())
    }

    /// The newest snapshot before the target: local ones first (unless told otherwise), then the bucket's,
    /// downloaded into the backup directory.
    async fn choose_base(&self) -> Result<(Manifest, &'static str), String> {
        if !self.from_remote {
            let dir = self.backup_dir.to_owned();
            let local = blocking(move || file::list(&dir)).await?;
            if let Some(found) = newest(local, self.target, self.live_timeline()) {
                return Ok((found, "local"));
            }
        }
        let remote = self.offsite.list().await?;
        let Some(found) = newest(remote, self.target, self.live_timeline()) else {
            return Err(format!(
                "no recovery snapshot in the bucket comes before {}: nothing to restore from",
                self.target
            ));
        };
        let downloaded = self.offsite.download(&found.id, self.backup_dir).await?;
        Ok((downloaded, "off-site"))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("the rebuild task failed: {e}"))?
}

/// Replays onto the staged copy and checks it; answers the changes applied and the counted tables' rows.
pub fn replay_checked(
    staged: &Path,
    changes: Vec<(i64, Vec<u8>)>,
    target: Target,
) -> Result<(u64, BTreeMap<String, i64>), String> {
    let conn = Connection::open_with_flags(staged, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open the rebuilt copy: {e}"))?;
    let mut expected = counts(&conn)?;
    for (table, delta) in deltas(&changes)? {
        *expected.entry(table).or_default() += delta;
    }
    let applied = replay_onto(&conn, changes).map_err(|e| e.to_string())?;
    let found = counts(&conn)?;
    for (table, rows) in &found {
        let wanted = expected.get(table).copied().unwrap_or(0);
        if *rows != wanted {
            return Err(format!(
                "the rebuilt copy's table {table} has {rows} rows, but the snapshot and the changes replayed say \
                 {wanted}; nothing was restored"
            ));
        }
    }
    if let Target::At(at) = target {
        let cutoff = crate::domain::format_timestamp(at);
        let later: i64 = conn
            .query_row("SELECT count(*) FROM events WHERE created_at > ?1", [&cutoff], |r| r.get(0))
            .map_err(|e| format!("cannot read the rebuilt copy's events: {e}"))?;
        if later > 0 {
            return Err(format!(
                "the rebuilt copy holds {later} events after the target {cutoff}; nothing was restored"
            ));
        }
    }
    let counted = crate::store::queries::CountedTable::ALL
        .iter()
        .map(|table| (table.name().to_owned(), found.get(table.name()).copied().unwrap_or(0)))
        .collect();
    Ok((applied, counted))
}

/// Rows per table (the outbox and timeline, which replay leaves alone, excepted).
fn counts(conn: &Connection) -> Result<BTreeMap<String, i64>, String> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
               AND name NOT IN (?1, 'pitr_timeline')",
        )
        .and_then(|mut s| s.query_map([OUTBOX], |r| r.get(0))?.collect())
        .map_err(|e| format!("cannot list the rebuilt copy's tables: {e}"))?;
    let mut out = BTreeMap::new();
    for table in tables {
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\"")), [], |r| r.get(0))
            .map_err(|e| format!("cannot count {table}: {e}"))?;
        out.insert(table, rows);
    }
    Ok(out)
}

/// What the changes insert minus what they delete, per table.
fn deltas(changes: &[(i64, Vec<u8>)]) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for (seq, changeset) in changes {
        let unreadable = |e: rusqlite::Error| format!("change {seq} cannot be read: {e}");
        for (table, op) in sqlite_session::operations(changeset).map_err(unreadable)? {
            let delta = match op {
                Op::Insert => 1,
                Op::Delete => -1,
                Op::Update => 0,
            };
            *out.entry(table).or_default() += delta;
        }
    }
    Ok(out)
}

/// Replays `rows` (changes the live database committed after the copy was built) onto the staged copy,
/// all or nothing, then `integrity_check` (a restore's catch-up, with writes held).
pub fn replay_more(staged: &Path, rows: Vec<Record>) -> Result<(), String> {
    let conn = Connection::open_with_flags(staged, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open the rebuilt copy {}: {e}", staged.display()))?;
    crate::store::capture::replay_onto(&conn, rows.into_iter().map(|row| (row.seq, row.changeset)))
        .map(|_| ())
        .map_err(|err| err.to_string())
}

/// A scratch path for a drill's copy, swept with the other leftovers if a crash leaves it.
pub fn drill_path(backup_dir: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    backup_dir.join(format!(".verify-pitr-{}.db", now.format("%Y%m%d_%H%M%S_%f")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: &str, timeline: &str, through_at: &str) -> Manifest {
        let json = serde_json::json!({
            "id": id, "file": format!("{id}.db.gz"), "compressed": true, "size_bytes": 1, "checksum": "x",
            "page_count": 1, "schema_version": 8, "row_counts": {}, "started_at": through_at,
            "finished_at": through_at, "verified_at": null, "verified_ok": null, "verify_detail": null,
            "pitr": { "timeline": timeline, "seq": 1, "schema_version": 8, "through_at": through_at }
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn latest_keeps_to_the_live_timeline_and_a_time_takes_the_newest_before_it() {
        let old = snapshot("safety", "abandoned", "2026-12-01T10:00:05.000Z");
        let live = snapshot("live", "current", "2026-12-01T10:00:03.000Z");
        let all = vec![old.clone(), live.clone()];
        let chosen = newest(all.clone(), Target::Latest, Some("current")).unwrap();
        assert_eq!(chosen.id, "live", "the safety copy of the replaced database is another history");
        assert_eq!(newest(all.clone(), Target::Latest, Some("elsewhere")).unwrap().id, "safety", "a fresh machine");
        let at = Target::parse("2026-12-01T10:00:04Z").unwrap();
        assert_eq!(newest(all.clone(), at, Some("current")).unwrap().id, "live");
        assert!(newest(all, Target::parse("2026-12-01T09:00:00Z").unwrap(), None).is_none());
    }
}
