//! A point-in-time rebuild: the newest verified snapshot before the target, then the shipped changes
//! after it (`chain.rs`) replayed in one transaction, then the checks: `integrity_check`, every table's
//! row count against what the snapshot held plus what the changes inserted and deleted, and no event
//! after the target. Only a copy that passes them all is handed to the restore's swap (or, for a drill,
//! thrown away). The live database is never touched here.
//!
//! The chain followed is, for `latest`, the live database's own timeline when it has a snapshot, else the
//! bucket owner's; for a time, the bucket's owner then (or the one it took over from, while it had no
//! snapshot). On a live database of that timeline, its own unshipped outbox rows are replayed after the
//! chain's.

use super::chain::{End, Walker};
use super::segment::Record;
use super::{segment, PitrBase, Target};
use crate::backup::file::{self, Manifest};
use crate::backup::offsite::Offsite;
use crate::backup::owner::Claim;
use crate::backup::BackupError;
use crate::store::capture::{replay_onto, OUTBOX};
use rusqlite::Connection;
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
    /// The chain it followed (which timeline, and why that one).
    pub chain: String,
    /// The timelines it left aside, one line each.
    pub skipped: Vec<String>,
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

/// The snapshot a rebuild starts from, the chain it follows and what it left aside.
struct Chosen {
    manifest: Manifest,
    chain: String,
    skipped: Vec<String>,
}

/// The owner's claim, then the claim of the owner it took over from, and so on (oldest last).
fn lineage(claims: &[Claim]) -> Vec<&Claim> {
    let mut out: Vec<&Claim> = Vec::new();
    let mut next = claims.last();
    while let Some(claim) = next.filter(|c| !out.iter().any(|seen| seen.timeline == c.timeline)) {
        out.push(claim);
        next = claim.previous.as_deref().and_then(|previous| claims.iter().rev().find(|c| c.timeline == previous));
    }
    out
}

fn timeline_of(manifest: &Manifest) -> &str {
    manifest.pitr.as_ref().map_or("", |base| base.timeline.as_str())
}

/// The newest usable snapshot (by the time it reaches, then by id) of the chain the target follows:
/// for `latest`, the live database's own timeline when it has a snapshot, else the bucket owner's chain
/// (the owner's timeline, or the one it took over from while it has no snapshot of its own); for a time,
/// any timeline that ever owned the bucket (or the live one). A drill's or a scratch machine's snapshots
/// are never taken when the bucket names its owner. A bucket without claims (written before they were
/// recorded) falls back to the newest snapshot of any timeline, and the report says so.
fn choose(candidates: Vec<Manifest>, target: Target, live: Option<&str>, claims: &[Claim]) -> Result<Chosen, String> {
    let usable: Vec<Manifest> = candidates.into_iter().filter(|m| usable(m, target)).collect();
    let has = |timeline: &str| usable.iter().any(|m| timeline_of(m) == timeline);
    let (allowed, chain): (Option<Vec<String>>, String) = match (target, live) {
        (Target::Latest, Some(live)) if has(live) => {
            (Some(vec![live.to_owned()]), format!("timeline {live}, the live database's own"))
        }
        (_, _) if claims.is_empty() => (
            None,
            "the newest snapshot of any timeline: the bucket names no owner (written before owners were recorded)"
                .into(),
        ),
        (Target::Latest, _) => {
            let chain = lineage(claims);
            let owner = chain[0];
            match chain.iter().find(|claim| has(&claim.timeline)) {
                Some(claim) if claim.timeline == owner.timeline => {
                    (Some(vec![owner.timeline.clone()]), owner.describe())
                }
                Some(claim) => (
                    Some(vec![claim.timeline.clone()]),
                    format!(
                        "timeline {}, which the owner took over from ({}; it has no usable snapshot yet)",
                        claim.timeline,
                        owner.describe()
                    ),
                ),
                None => {
                    return Err(format!(
                        "the bucket's owner ({}) has no usable recovery snapshot, nor has any owner before it{}",
                        owner.describe(),
                        skipped_sentence(&usable, claims)
                    ))
                }
            }
        }
        (Target::At(at), _) => {
            // The owner at that moment (by the bucket's clock), or, while it had no snapshot yet, the
            // owner it took over from: never a timeline promoted later, nor one never promoted.
            let in_force = claims.iter().rposition(|c| c.recorded_at.is_some_and(|stored| stored <= at)).unwrap_or(0);
            let chain = lineage(&claims[..=in_force]);
            match chain.iter().find(|claim| has(&claim.timeline)) {
                Some(claim) => (
                    Some(vec![claim.timeline.clone()]),
                    format!("timeline {}, the bucket's owner at {target} (since {})", claim.timeline, claim.since()),
                ),
                None => {
                    return Err(format!(
                        "no recovery snapshot of the bucket's owner at {target} ({}) comes before it{}",
                        chain[0].describe(),
                        skipped_sentence(&usable, claims)
                    ))
                }
            }
        }
    };
    let in_chain = |m: &Manifest| allowed.as_ref().is_none_or(|allowed| allowed.iter().any(|t| t == timeline_of(m)));
    let (taken, left): (Vec<Manifest>, Vec<Manifest>) = usable.into_iter().partition(in_chain);
    let skipped = skipped_lines(&left, claims);
    let Some(manifest) = taken.into_iter().max_by_key(|m| (reach(m).map(str::to_owned), m.id.clone())) else {
        return Err(format!(
            "no recovery snapshot of {chain} comes before {target}{}",
            skipped_sentence(&left, claims)
        ));
    };
    Ok(Chosen { manifest, chain, skipped })
}

/// One line per timeline left aside: how many snapshots, and why.
fn skipped_lines(left: &[Manifest], claims: &[Claim]) -> Vec<String> {
    let mut per_timeline: BTreeMap<&str, usize> = BTreeMap::new();
    for manifest in left {
        *per_timeline.entry(timeline_of(manifest)).or_default() += 1;
    }
    per_timeline
        .into_iter()
        .map(|(timeline, count)| {
            let why = if claims.iter().any(|c| c.timeline == timeline) {
                "an earlier owner's history"
            } else {
                "never the bucket's owner: a drill, a scratch machine or a copy"
            };
            format!("timeline {timeline}: {count} snapshot(s), {why}")
        })
        .collect()
}

fn skipped_sentence(left: &[Manifest], claims: &[Claim]) -> String {
    let lines = skipped_lines(left, claims);
    if lines.is_empty() {
        String::new()
    } else {
        format!("; left aside: {}", lines.join("; "))
    }
}

/// The position the snapshot file itself holds; a manifest that says otherwise is refused (replaying
/// another timeline's changes, or skipping some, would build a wrong database that passes every check).
fn position_in_file(staged: &Path, id: &str, claimed: &PitrBase) -> Result<(), String> {
    let conn = crate::store::open::read_only(staged).map_err(|e| format!("cannot open snapshot {id}: {e}"))?;
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
    pub async fn run(&self) -> Result<PointReport, BackupError> {
        let outcome = self.build().await;
        if outcome.is_err() {
            file::remove_with_sidecars(self.staged);
        }
        outcome
    }

    async fn build(&self) -> Result<PointReport, BackupError> {
        let (Chosen { manifest: base, chain: followed, skipped }, base_from) = self.choose_base().await?;
        let pitr = base.pitr.clone().ok_or("the chosen backup is not a recovery snapshot")?;
        let (dir, staged, id, now) = (self.backup_dir.to_owned(), self.staged.to_owned(), base.id.clone(), self.now);
        let claimed = pitr.clone();
        blocking(move || {
            let checked = file::verify(&dir, &id, now)?;
            if checked.verified_ok != Some(true) {
                return Err(BackupError::Refused(format!(
                    "snapshot {id} failed verification ({}); nothing was restored",
                    checked.verify_detail.unwrap_or_default()
                )));
            }
            file::materialize(&dir, &checked, &staged)?;
            Ok(position_in_file(&staged, &id, &claimed)?)
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
                    return Err(BackupError::Refused(format!(
                        "the target lies after a schema migration: change {seq}, committed at {committed_at}, is at \
                         schema version {schema_version}, which ends the chain that snapshot {} (version {}) starts, \
                         and no snapshot taken after the migration comes before the target; restore to a time \
                         before {committed_at}, or to one after the next backup",
                        base.id, pitr.schema_version
                    )));
                }
                format!("a schema migration (to version {schema_version}) at change {seq}, committed at {committed_at}")
            }
        };
        let (staged, target) = (self.staged.to_owned(), self.target);
        let through_at = chain.through_at.clone().or(pitr.through_at.clone());
        let (applied, row_counts) = blocking(move || Ok(replay_checked(&staged, chain.changes, target)?)).await?;
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
            chain: followed,
            skipped,
        })
    }

    fn live_timeline(&self) -> Option<&str> {
        self.live.as_ref().map(|(timeline, _)| timeline.as_str())
    }

    /// The newest snapshot before the target on the chain it follows: local ones first (unless told
    /// otherwise), then the bucket's, downloaded into the backup directory.
    async fn choose_base(&self) -> Result<(Chosen, &'static str), BackupError> {
        let claims = self.offsite.claims().await?;
        if !self.from_remote {
            let dir = self.backup_dir.to_owned();
            let local = blocking(move || file::list(&dir)).await?;
            if let Ok(found) = choose(local, self.target, self.live_timeline(), &claims) {
                return Ok((found, "local"));
            }
        }
        let remote = self.offsite.list().await?;
        let mut found = choose(remote, self.target, self.live_timeline(), &claims)?;
        found.manifest = self.offsite.download(&found.manifest.id, self.backup_dir).await?;
        Ok((found, "off-site"))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("the rebuild task failed: {e}"))?
}

/// Replays onto the staged copy and checks it; answers the changes applied and the counted tables' rows.
pub fn replay_checked(
    staged: &Path,
    changes: Vec<(i64, Vec<u8>)>,
    target: Target,
) -> Result<(u64, BTreeMap<String, i64>), String> {
    let conn = crate::store::open::read_write(staged, crate::store::open::ReadWrite::StagedCopy)
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
    Ok((applied, counted(&found)))
}

/// Rows per table (the outbox, timeline and lineage, which replay leaves alone, excepted).
fn counts(conn: &Connection) -> Result<BTreeMap<String, i64>, String> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
               AND name NOT IN (?1, 'pitr_timeline', 'pitr_lineage') AND substr(name, 1, length(?2)) != ?2",
        )
        // The search index is not captured but rebuilt by the replay: its rows are not counted.
        .and_then(|mut s| s.query_map([OUTBOX, crate::store::capture::SEARCH_PREFIX], |r| r.get(0))?.collect())
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
/// all or nothing, then `integrity_check` (a restore's catch-up, with writes held); answers the counted
/// tables' rows as they now are.
pub fn replay_more(staged: &Path, rows: Vec<Record>) -> Result<BTreeMap<String, i64>, String> {
    let conn = crate::store::open::read_write(staged, crate::store::open::ReadWrite::StagedCopy)
        .map_err(|e| format!("cannot open the rebuilt copy {}: {e}", staged.display()))?;
    crate::store::capture::replay_onto(&conn, rows.into_iter().map(|row| (row.seq, row.changeset)))
        .map_err(|err| err.to_string())?;
    Ok(counted(&counts(&conn)?))
}

/// The rows of the tables a report shows.
fn counted(found: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    crate::store::queries::CountedTable::ALL
        .iter()
        .map(|table| (table.name().to_owned(), found.get(table.name()).copied().unwrap_or(0)))
        .collect()
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

    fn claim(timeline: &str, previous: Option<&str>, at: &str) -> Claim {
        Claim {
            timeline: timeline.into(),
            instance: None,
            previous: previous.map(str::to_owned),
            claimed_at: at.into(),
            host: "prod".into(),
            how: "first start".into(),
            recorded_at: crate::domain::parse_timestamp(at),
        }
    }

    fn chosen(all: &[Manifest], target: Target, live: Option<&str>, claims: &[Claim]) -> String {
        choose(all.to_vec(), target, live, claims).map(|c| c.manifest.id).unwrap_or_else(|why| why)
    }

    #[test]
    fn latest_keeps_to_the_live_timeline_and_a_time_takes_the_newest_before_it() {
        let old = snapshot("safety", "abandoned", "2026-12-01T10:00:05.000Z");
        let live = snapshot("live", "current", "2026-12-01T10:00:03.000Z");
        let all = vec![old.clone(), live.clone()];
        assert_eq!(chosen(&all, Target::Latest, Some("current"), &[]), "live", "the safety copy is another history");
        assert_eq!(chosen(&all, Target::Latest, Some("elsewhere"), &[]), "safety", "a bucket without claims");
        let at = Target::parse("2026-12-01T10:00:04Z").unwrap();
        assert_eq!(chosen(&all, at, Some("current"), &[]), "live");
        assert!(choose(all, Target::parse("2026-12-01T09:00:00Z").unwrap(), None, &[]).is_err());
    }

    #[test]
    fn latest_on_a_new_machine_follows_the_owner_never_a_newer_drill() {
        let prod = snapshot("prod", "prod", "2026-12-01T10:00:00.000Z");
        let drill = snapshot("drill", "drill", "2026-12-01T11:00:00.000Z");
        let all = vec![prod, drill];
        let claims = [claim("prod", None, "2026-12-01T09:00:00.000Z")];
        let found = choose(all.clone(), Target::Latest, None, &claims).unwrap();
        assert_eq!(found.manifest.id, "prod", "the drill's newer snapshot is not production's history");
        assert!(found.chain.contains("timeline prod, the bucket's owner"), "{}", found.chain);
        assert_eq!(
            found.skipped,
            ["timeline drill: 1 snapshot(s), never the bucket's owner: a drill, a scratch machine or a copy"]
        );
        let at = Target::parse("2026-12-01T12:00:00Z").unwrap();
        assert_eq!(chosen(&all, at, None, &claims), "prod", "a time follows the owners too");
        // Promoted: the drill's copy took over; `latest` follows it from then on.
        let promoted = [claims[0].clone(), claim("drill", Some("prod"), "2026-12-01T11:30:00.000Z")];
        assert_eq!(chosen(&all, Target::Latest, None, &promoted), "drill");
    }

    #[test]
    fn a_time_follows_the_owner_at_that_time_never_one_promoted_later() {
        // Production's snapshots; a drill's newer snapshot (made before its promotion at 11:30).
        let all = vec![
            snapshot("prod-9", "prod", "2026-12-01T09:00:00.000Z"),
            snapshot("prod-11", "prod", "2026-12-01T11:00:00.000Z"),
            snapshot("drill", "drill", "2026-12-01T11:10:00.000Z"),
        ];
        let claims =
            [claim("prod", None, "2026-12-01T08:00:00.000Z"), claim("drill", Some("prod"), "2026-12-01T11:30:00.000Z")];
        let at = |t: &str| Target::parse(t).unwrap();
        assert_eq!(chosen(&all, at("2026-12-01T11:20:00Z"), None, &claims), "prod-11", "prod owned the bucket then");
        assert_eq!(chosen(&all, at("2026-12-01T10:00:00Z"), None, &claims), "prod-9");
        assert_eq!(chosen(&all, at("2026-12-01T11:40:00Z"), None, &claims), "drill", "the promoted drill owns it then");
        let before_any = chosen(&all, at("2026-12-01T07:00:00Z"), None, &claims);
        assert!(before_any.contains("no recovery snapshot"), "{before_any}");
    }

    #[test]
    fn a_new_owner_without_a_snapshot_yet_falls_back_to_the_one_it_took_over_from() {
        let all =
            vec![snapshot("prod", "prod", "2026-12-01T10:00:00.000Z"), snapshot("x", "x", "2026-12-01T12:00:00.000Z")];
        let claims =
            [claim("prod", None, "2026-12-01T09:00:00.000Z"), claim("next", Some("prod"), "2026-12-01T11:00:00.000Z")];
        let found = choose(all, Target::Latest, None, &claims).unwrap();
        assert_eq!(found.manifest.id, "prod");
        assert!(found.chain.contains("took over from"), "{}", found.chain);
        let none = choose(vec![snapshot("x", "x", "2026-12-01T12:00:00.000Z")], Target::Latest, None, &claims);
        let why = none.err().unwrap();
        assert!(why.contains("no usable recovery snapshot") && why.contains("timeline x: 1 snapshot"), "{why}");
    }
}
