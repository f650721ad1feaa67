//! Point-in-time recovery: the writer captures each committed batch's changes (`store/capture`), the
//! shipper (`ship.rs`) sends them off-site in segments (`segment.rs`) every few seconds, and a restore
//! (`rebuild.rs`) takes the newest snapshot before the target and replays the changes after it
//! (`chain.rs` decides which), checked before anything is swapped.
//!
//! A chain is named by the database's timeline (table `pitr_timeline`) and its schema version. A new
//! database gets its own (migration 0008), and every restore and `atlas init --golden` forks one
//! ([`fork_timeline`]), so two histories never write under one name; a schema migration ends a chain,
//! since a changeset applies only to the schema it was taken at. A snapshot is an ordinary backup: its
//! manifest says where in which chain it stands ([`PitrBase`]). A restore aims at a [`Target`].
//!
//! What replay assumes beyond capture's list (`store/capture`): a snapshot's position is its
//! `sqlite_sequence` for `pitr_outbox` ([`base_of`]). AUTOINCREMENT never reuses a number, and rows roll
//! back with their batch, so the rows after it are contiguous.

pub mod chain;
pub mod rebuild;
mod retention;
pub mod segment;
mod ship;
mod status;

pub use ship::{PitrHandle, ShipperParts};
pub use status::{OutboxFigures, PitrMonitor, PitrReport};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The scheduled drill: rebuild `latest` from the bucket into a scratch file and check it.
pub const PITR_DRILL: &str = "pitr_drill";

/// The `[pitr]` settings, for the shipper and the restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PitrConfig {
    pub ship_every: Duration,
    /// The outbox lagging longer than this is an alert.
    pub max_lag: Duration,
    /// Snapshots (and the segments after them) younger than this are kept off-site whatever
    /// `offsite.keep` says.
    pub keep_days: u32,
    /// A segment holds at most about this many bytes of changesets.
    pub segment_max_bytes: usize,
}

impl Default for PitrConfig {
    fn default() -> Self {
        Self {
            ship_every: Duration::from_secs(10),
            max_lag: Duration::from_secs(120),
            keep_days: 7,
            segment_max_bytes: 8 << 20,
        }
    }
}

/// Where a snapshot stands: the chain it starts (timeline and schema version) and the last outbox row
/// it already holds. Changes after `seq` in the same timeline replay onto it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrBase {
    pub timeline: String,
    pub seq: i64,
    pub schema_version: u32,
    /// The newest event in the snapshot: every change it holds was committed by then.
    pub through_at: Option<String>,
}

/// What a point-in-time restore aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Latest,
    At(DateTime<Utc>),
}

impl Target {
    /// `latest` or an RFC 3339 time.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        DateTime::parse_from_rfc3339(text).map(|at| Self::At(at.with_timezone(&Utc))).map_err(|_| {
            format!(
                "{} is neither `latest` nor an RFC 3339 time (2026-12-01T10:00:00Z)",
                crate::domain::text::clip(text)
            )
        })
    }

    /// Refuses a time ahead of `now` (a minute of clock skew allowed): nothing is known of it yet, and
    /// `latest` says what is meant.
    pub fn not_in_future(self, now: DateTime<Utc>) -> Result<Self, String> {
        match self {
            Self::At(at) if at > now + chrono::Duration::minutes(1) => {
                Err(format!("{self} is in the future; to restore everything there is, say `latest`"))
            }
            _ => Ok(self),
        }
    }

    /// Whether a change committed at `committed_at` lies at or before the target.
    pub fn covers(self, committed_at: &str) -> bool {
        match self {
            Self::Latest => true,
            Self::At(target) => crate::domain::parse_timestamp(committed_at).is_some_and(|at| at <= target),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::At(at) => f.write_str(&crate::domain::format_timestamp(*at)),
        }
    }
}

/// The timeline of the database on `conn`; `None` before migration 0008.
pub fn timeline(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'pitr_timeline'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT timeline FROM pitr_timeline WHERE id = 1", [], |r| r.get(0)).optional()
}

/// The outbox rows on `conn`, oldest first (committed, not yet shipped): at most `max_rows`, and closed
/// once their changesets reach `max_bytes` (one segment's worth for the shipper; all for a restore).
pub fn outbox_rows(conn: &Connection, max_rows: usize, max_bytes: usize) -> rusqlite::Result<Vec<segment::Record>> {
    let mut query = conn
        .prepare_cached("SELECT seq, schema_version, committed_at, changeset FROM pitr_outbox ORDER BY seq LIMIT ?1")?;
    let mut rows = query.query([i64::try_from(max_rows).unwrap_or(i64::MAX)])?;
    let (mut records, mut bytes) = (Vec::new(), 0);
    while let Some(row) = rows.next()? {
        let record = segment::Record {
            seq: row.get(0)?,
            schema_version: row.get(1)?,
            committed_at: row.get(2)?,
            changeset: row.get(3)?,
        };
        bytes += record.changeset.len();
        records.push(record);
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(records)
}

/// Where the snapshot on `conn` stands; `None` for a database without a timeline (before 0008).
pub fn base_of(conn: &Connection, schema_version: u32) -> rusqlite::Result<Option<PitrBase>> {
    let Some(timeline) = timeline(conn)? else { return Ok(None) };
    let seq: i64 = conn
        .query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [crate::store::capture::OUTBOX], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let through_at: Option<String> = conn.query_row("SELECT max(created_at) FROM events", [], |r| r.get(0))?;
    Ok(Some(PitrBase { timeline, seq, schema_version, through_at }))
}

/// Prepares a staged copy to become the live database: it starts a timeline of its own, the outbox rows
/// it carries (changes of the history it came from) are dropped, and its lineage is recorded (which
/// decides whether it may write to the bucket: `backup/owner.rs`). Every restore does this.
pub fn fork_timeline(staged: &Path, lineage: &crate::backup::owner::Lineage) -> Result<(), String> {
    let mut conn = crate::store::open::read_write(staged, crate::store::open::ReadWrite::StagedCopy)
        .map_err(|e| format!("cannot open the restored copy: {e}"))?;
    let outbox: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [crate::store::capture::OUTBOX],
            |r| r.get(0),
        )
        .map_err(|e| format!("cannot read the restored copy: {e}"))?;
    let forked = timeline(&conn).map_err(|e| format!("cannot read the restored copy's timeline: {e}"))?.is_some();
    let mut forking = || -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        if outbox {
            tx.execute_batch("DELETE FROM pitr_outbox;")?;
        }
        if forked {
            tx.execute_batch("UPDATE pitr_timeline SET timeline = lower(hex(randomblob(8))) WHERE id = 1;")?;
        }
        // Also on a copy older than the timeline (its migration makes one later): it is a restored copy.
        crate::backup::owner::mark_copy(&tx, lineage)?;
        tx.commit()
    };
    forking().map_err(|e| format!("cannot give the restored copy its own timeline: {e}"))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests open scratch databases of their own
mod tests {
    use super::*;
    use crate::backup::owner::{Lineage, LINEAGE_SQL};

    #[test]
    fn a_copy_older_than_the_timeline_is_still_marked_a_restored_copy() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        Connection::open(&old).unwrap().execute_batch("CREATE TABLE projects (id TEXT PRIMARY KEY);").unwrap();
        fork_timeline(&old, &Lineage::Restored { succeeds: Some("prod".into()) }).unwrap();
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(LINEAGE_SQL).unwrap(); // its migration, later: a no-op
        let lineage: (bool, Option<String>) =
            conn.query_row("SELECT restored, succeeds FROM pitr_lineage", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(lineage, (true, Some("prod".into())), "restored in place of prod, not a database made here");
    }

    #[test]
    fn a_target_is_latest_or_an_rfc3339_time() {
        assert_eq!(Target::parse("latest").unwrap(), Target::Latest);
        let at = Target::parse("2026-12-01T10:00:00+01:00").unwrap();
        assert_eq!(at.to_string(), "2026-12-01T09:00:00.000Z");
        assert!(at.covers("2026-12-01T09:00:00.000Z"));
        assert!(!at.covers("2026-12-01T09:00:00.001Z"));
        assert!(!at.covers("not a time"), "a row with an unreadable time is never taken as before the target");
        let refused = Target::parse("yesterday").unwrap_err();
        assert!(refused.contains("RFC 3339"), "{refused}");
    }
}
