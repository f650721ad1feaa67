//! One bucket, one history: only the database that owns the bucket writes to it.
//!
//! A restore drill, a `--verify-only`, a scratch machine or a staging copy pointed at production's bucket
//! must never become what `latest` rebuilds, nor prune production's copies. So the bucket records who owns
//! it: each claim is an object `owner/<time>-<timeline>.json`, and the newest claim names the owner. Only
//! the owner uploads backups, ships changes and prunes; every writing call on the bucket needs an
//! [`Owned`], which only [`Offsite::owned_by`] hands out. A database claims the bucket by itself only when
//! nobody owns it yet (a new database, or one from before claims were recorded) or when it succeeds the
//! owner in place (a restore on the owner's own machine); any other database is promoted explicitly
//! (`atlas promote`, `atlas restore … --promote`). `latest` follows the owner's chain (`pitr::rebuild`).
//! A restored copy's lineage (`pitr_lineage`, [`mark_copy`]) is recorded when its timeline forks.

use super::error::BackupError;
use super::file::Manifest;
use super::offsite::Offsite;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Claims live here, under the prefix.
pub const FOLDER: &str = "owner/";
/// How long an owner check is trusted before the bucket is asked again (a superseded owner writes under
/// its own timeline at most this long; pruning always asks afresh).
const TRUSTED_FOR: Duration = Duration::from_secs(60);

/// A claim: from when the bucket stored it, the bucket's history is `timeline`'s, written by the Atlas
/// whose data directory is `instance` (a copied directory is another instance, `runner/instance.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub timeline: String,
    #[serde(default)]
    pub instance: Option<String>,
    /// The owner it took over from, if any.
    pub previous: Option<String>,
    /// The claimant's clock, for people; the order of claims is the bucket's (`recorded_at`).
    pub claimed_at: String,
    pub host: String,
    /// How: `first start`, `restore in place`, `atlas promote`.
    pub how: String,
    /// When the bucket stored the claim (its object's last-modified time): claims are ordered by the
    /// bucket's clock, never by what a claimant (with a skewed clock, or a forged text) wrote.
    #[serde(skip)]
    pub recorded_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Claim {
    /// When the claim took effect: the bucket's time, else (a claim not read back yet) the claimant's.
    pub fn since(&self) -> String {
        self.recorded_at.map_or_else(|| self.claimed_at.clone(), crate::domain::format_timestamp)
    }

    fn is_of(&self, db: &Standing) -> bool {
        self.timeline == db.timeline && self.instance.as_ref().is_none_or(|instance| *instance == db.instance)
    }
}

impl Claim {
    fn object_name(&self) -> String {
        let compact: String = self.claimed_at.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("{FOLDER}{compact}-{}.json", self.timeline)
    }

    /// One line for reports: whose history, since when, how.
    pub fn describe(&self) -> String {
        format!(
            "timeline {}, the bucket's owner since {} ({} on {})",
            self.timeline, self.claimed_at, self.how, self.host
        )
    }
}

/// What the live database says of itself (tables `pitr_timeline`, `pitr_lineage`) and which Atlas
/// serves it (its data directory's instance id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub timeline: String,
    pub instance: String,
    /// A copy put in place by a restore (or a golden copy), not a database made here.
    pub restored: bool,
    /// For a restore in place: the timeline of the database it replaced.
    pub succeeds: Option<String>,
}

/// The lineage table, as migration 0012 makes it (a restore of an older copy makes it before migrating).
pub const LINEAGE_SQL: &str = include_str!("../../../migrations/0012_pitr_lineage.sql");

/// The database's standing; `None` before migrations 0008 and 0012 (a database not migrated yet).
pub fn standing(conn: &Connection) -> rusqlite::Result<Option<Standing>> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('pitr_timeline', 'pitr_lineage')",
        [],
        |r| r.get(0),
    )?;
    if tables < 2 {
        return Ok(None);
    }
    conn.query_row(
        "SELECT t.timeline, l.restored, l.succeeds FROM pitr_timeline t JOIN pitr_lineage l ON l.id = t.id",
        [],
        |r| Ok(Standing { timeline: r.get(0)?, instance: String::new(), restored: r.get(1)?, succeeds: r.get(2)? }),
    )
    .optional()
}

/// The live database's standing, read from the pool; an error when it has none (not migrated yet).
pub async fn live_standing(readers: &crate::store::ReaderPool) -> Result<Standing, BackupError> {
    let mut standing = readers
        .read(standing)
        .await
        .map_err(|e| format!("cannot read the database's timeline: {e}"))?
        .ok_or_else(|| "the database has no timeline yet (not migrated)".to_owned())?;
    standing.instance = instance_of(readers.database())?;
    Ok(standing)
}

/// The instance id of the Atlas serving `database` (its data directory's, `runner/instance.rs`).
pub fn instance_of(database: &Path) -> Result<String, String> {
    let dir = crate::store::lock::data_dir(database);
    crate::runner::instance::of_data_dir(&dir)
        .map_err(|e| format!("cannot read this Atlas's instance id in {}: {e}", dir.display()))
}

/// What the database may do with the bucket, given the newest claim.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Owner,
    /// It may claim the bucket now (nobody owns it, or it succeeds the owner in place).
    MayClaim {
        previous: Option<String>,
        how: &'static str,
    },
    NotOwner(String),
}

pub fn judge(db: &Standing, owner: Option<&Claim>) -> Verdict {
    let same_instance = |owner: &Claim| owner.instance.as_ref().is_none_or(|instance| *instance == db.instance);
    match owner {
        Some(owner) if owner.is_of(db) => Verdict::Owner,
        Some(owner) if owner.timeline == db.timeline => Verdict::NotOwner(format!(
            "the bucket belongs to this database's timeline {} as served by another Atlas (instance {}; this data \
             directory is instance {}): a copied data directory writes nothing there. If this copy is now \
             production, promote it (`atlas promote --yes` with the service stopped)",
            owner.timeline,
            owner.instance.as_deref().unwrap_or("?"),
            db.instance
        )),
        Some(owner) if db.succeeds.as_deref() == Some(owner.timeline.as_str()) && same_instance(owner) => {
            Verdict::MayClaim { previous: Some(owner.timeline.clone()), how: "restore in place" }
        }
        None if db.succeeds.is_some() => Verdict::MayClaim { previous: None, how: "restore in place" },
        None if !db.restored => Verdict::MayClaim { previous: None, how: "first start" },
        None => Verdict::NotOwner(format!(
            "this database (timeline {}) is a restored copy and the bucket names no owner; it writes nothing \
             there until it is promoted (`atlas promote --yes` with the service stopped)",
            db.timeline
        )),
        Some(owner) => Verdict::NotOwner(format!(
            "the bucket belongs to another database ({}); this database (timeline {}) writes nothing there. \
             If this machine is now production, promote it (`atlas promote --yes` with the service stopped)",
            owner.describe(),
            db.timeline
        )),
    }
}

/// The right to write to the bucket, for the database that owns it.
pub struct Owned<'a> {
    offsite: &'a Offsite,
}

impl Owned<'_> {
    pub async fn upload(&self, dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
        self.offsite.upload(dir, manifest).await
    }

    pub async fn put_object(&self, name: &str, body: Vec<u8>) -> Result<(), BackupError> {
        self.offsite.put_object(name, body).await
    }

    pub async fn delete_object(&self, name: &str) -> Result<(), BackupError> {
        self.offsite.delete_object(name).await
    }

    /// Remote retention (see [`Offsite::prune`]).
    pub async fn prune(&self, also_keep: impl Fn(&Manifest) -> bool) -> Result<Vec<String>, BackupError> {
        self.offsite.prune(also_keep).await
    }
}

/// The owner last seen by this process, and when.
#[derive(Default)]
pub struct Seen(Mutex<Option<(Instant, String)>>);

fn host() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "an unnamed host".into())
}

impl Offsite {
    /// Every claim, oldest first.
    pub async fn claims(&self) -> Result<Vec<Claim>, BackupError> {
        let mut claims = Vec::new();
        for (name, stored) in self.list_folder(FOLDER).await? {
            if !name.ends_with(".json") {
                continue;
            }
            let bytes = self.get_object(&name).await?;
            match serde_json::from_slice::<Claim>(&bytes) {
                Ok(claim) => claims.push(Claim { recorded_at: Some(stored), ..claim }),
                Err(e) => tracing::warn!(object = %name, error = %e, "Skipping an unreadable ownership claim."),
            }
        }
        claims.sort_by(|a, b| {
            (a.recorded_at, &a.claimed_at, &a.timeline).cmp(&(b.recorded_at, &b.claimed_at, &b.timeline))
        });
        Ok(claims)
    }

    /// The bucket's owner: the newest claim.
    pub async fn owner(&self) -> Result<Option<Claim>, BackupError> {
        Ok(self.claims().await?.pop())
    }

    /// The right to write, when `db` owns the bucket (claiming it first when it may). `fresh` asks the
    /// bucket even when this process saw `db` own it a moment ago (before deleting anything).
    pub async fn owned_by(&self, db: &Standing, fresh: bool) -> Result<Owned<'_>, BackupError> {
        let trusted = self
            .seen
            .0
            .lock()
            .ok()
            .and_then(|seen| seen.clone())
            .is_some_and(|(at, timeline)| timeline == db.timeline && at.elapsed() < TRUSTED_FOR);
        if trusted && !fresh {
            return Ok(Owned { offsite: self });
        }
        let owner = self.owner().await?;
        match judge(db, owner.as_ref()) {
            Verdict::Owner => {}
            Verdict::MayClaim { previous: None, how } => {
                self.no_foreign_history(db).await?;
                self.write_claim(db, None, how).await?;
            }
            Verdict::MayClaim { previous, how } => {
                self.write_claim(db, previous, how).await?;
            }
            Verdict::NotOwner(why) => return Err(BackupError::Refused(why)),
        }
        if let Ok(mut seen) = self.seen.0.lock() {
            *seen = Some((Instant::now(), db.timeline.clone()));
        }
        Ok(Owned { offsite: self })
    }

    /// A bucket nobody owns is claimed by a database only when it holds no other database's history (a
    /// new bucket, or one from before claims that holds this database's own chain): a scratch machine
    /// must not take over a bucket whose claims were lost.
    async fn no_foreign_history(&self, db: &Standing) -> Result<(), BackupError> {
        let timelines: Vec<String> =
            self.list().await?.into_iter().filter_map(|m| m.pitr.map(|b| b.timeline)).collect();
        let foreign = timelines.iter().find(|t| **t != db.timeline);
        match foreign {
            Some(other) if !timelines.contains(&db.timeline) => Err(BackupError::Refused(format!(
                "the bucket holds another database's history (timeline {other}) but names no owner; this database \
                 (timeline {}) writes nothing there until it is promoted (`atlas promote --yes` with the service \
                 stopped)",
                db.timeline
            ))),
            _ => Ok(()),
        }
    }

    /// Makes `db` the bucket's owner whoever owned it: `latest` follows its chain from now on.
    pub async fn promote(&self, db: &Standing, how: &str) -> Result<(Claim, Option<Claim>), BackupError> {
        let before = self.owner().await?;
        if let Some(owner) = before.as_ref().filter(|owner| owner.is_of(db)) {
            return Ok((owner.clone(), before.clone()));
        }
        let previous = before.as_ref().map(|owner| owner.timeline.clone());
        let claim = self.write_claim(db, previous, how).await?;
        Ok((claim, before))
    }

    async fn write_claim(&self, db: &Standing, previous: Option<String>, how: &str) -> Result<Claim, BackupError> {
        let claim = Claim {
            timeline: db.timeline.clone(),
            instance: Some(db.instance.clone()),
            previous,
            claimed_at: crate::domain::format_timestamp(chrono::Utc::now()),
            host: host(),
            how: how.to_owned(),
            recorded_at: None,
        };
        let body = serde_json::to_vec_pretty(&claim).map_err(|e| format!("cannot write the claim: {e}"))?;
        self.put_object(&claim.object_name(), body).await?;
        // Read back: a claim stored at the same moment by another database may be the newer one.
        let claim = match self.owner().await? {
            Some(owner) if owner.is_of(db) => owner,
            Some(other) => {
                return Err(BackupError::Refused(format!(
                    "another database claimed the bucket at the same moment and owns it ({}); this one does not",
                    other.describe()
                )))
            }
            None => return Err(BackupError::Offsite("the claim just written is not in the bucket".into())),
        };
        tracing::warn!(timeline = %claim.timeline, previous = ?claim.previous, how = %claim.how,
            "This database now owns the bucket.");
        if let Ok(mut seen) = self.seen.0.lock() {
            *seen = Some((Instant::now(), db.timeline.clone()));
        }
        Ok(claim)
    }
}

/// Where a copy put in place comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lineage {
    /// A new machine's database (a golden copy): it may claim a bucket nobody owns.
    Created,
    /// A restore; `succeeds` names the database it replaces in place (its timeline), if any.
    Restored { succeeds: Option<String> },
}

/// Records a copy's lineage before it is swapped in (inside the caller's transaction).
pub fn mark_copy(conn: &Connection, lineage: &Lineage) -> rusqlite::Result<()> {
    conn.execute_batch(LINEAGE_SQL)?;
    let (restored, succeeds) = match lineage {
        Lineage::Created => (false, None),
        Lineage::Restored { succeeds } => (true, succeeds.as_deref()),
    };
    conn.execute(
        "UPDATE pitr_lineage SET restored = ?1, succeeds = ?2 WHERE id = 1",
        rusqlite::params![restored, succeeds],
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(timeline: &str, restored: bool, succeeds: Option<&str>) -> Standing {
        Standing { timeline: timeline.into(), instance: "here".into(), restored, succeeds: succeeds.map(str::to_owned) }
    }

    fn claim(timeline: &str) -> Claim {
        Claim {
            timeline: timeline.into(),
            instance: Some("here".into()),
            previous: None,
            claimed_at: "2026-12-06T10:00:00.000Z".into(),
            host: "prod".into(),
            how: "first start".into(),
            recorded_at: None,
        }
    }

    #[test]
    fn only_the_owner_writes_and_a_copy_never_claims_by_itself() {
        let prod = claim("prod");
        assert_eq!(judge(&db("prod", false, None), Some(&prod)), Verdict::Owner);
        assert_eq!(judge(&db("prod", true, None), Some(&prod)), Verdict::Owner, "a promoted copy");
        let in_place = judge(&db("next", true, Some("prod")), Some(&prod));
        assert_eq!(in_place, Verdict::MayClaim { previous: Some("prod".into()), how: "restore in place" });
        let drill = judge(&db("drill", true, None), Some(&prod));
        assert!(matches!(&drill, Verdict::NotOwner(why) if why.contains("timeline prod") && why.contains("promote")));
        let scratch = judge(&db("scratch", false, None), Some(&prod));
        assert!(matches!(scratch, Verdict::NotOwner(_)), "a new database beside an owned bucket writes nothing");
        let copy_of_copy = judge(&db("again", true, Some("drill")), Some(&prod));
        assert!(matches!(copy_of_copy, Verdict::NotOwner(_)), "a restore in place of a non-owner is no owner");
        assert_eq!(
            judge(&db("new", false, None), None),
            Verdict::MayClaim { previous: None, how: "first start" },
            "a bucket nobody owns (a new one, or one from before claims) is claimed by a database made here"
        );
        assert!(matches!(judge(&db("copy", true, None), None), Verdict::NotOwner(_)));
        // A copied data directory: the same timeline, another instance.
        let clone = Standing { instance: "copy".into(), ..db("prod", false, None) };
        assert!(matches!(judge(&clone, Some(&prod)), Verdict::NotOwner(why) if why.contains("copied data directory")));
        let clone_restored = Standing { instance: "copy".into(), ..db("next", true, Some("prod")) };
        assert!(matches!(judge(&clone_restored, Some(&prod)), Verdict::NotOwner(_)), "no succession on a copy");
    }

    #[test]
    fn claims_are_named_by_time_then_timeline() {
        let mut a = claim("bbbb");
        a.claimed_at = "2026-12-06T10:00:00.000Z".into();
        let mut b = claim("aaaa");
        b.claimed_at = "2026-12-06T10:00:01.000Z".into();
        assert_eq!(a.object_name(), "owner/20261206T100000000Z-bbbb.json");
        assert!(a.object_name() < b.object_name());
    }
}
