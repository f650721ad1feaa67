//! The operational checks an operator cares about beyond "is the process up": database quick check, free
//! disk, WAL size, Sheets sync freshness per direction, the newest backup's age and verification, the
//! oldest pending approval, unacknowledged critical errors and the import validation failure rate.
//! Each check says ok / warn / critical with a sentence; critical ones become alerts.

use crate::backup::file;
use crate::domain::{format_timestamp, parse_timestamp};
use crate::store::ReaderPool;
use chrono::{DateTime, Duration as Span, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Limits, from `[health]`.
#[derive(Clone, Debug, PartialEq)]
pub struct OpsLimits {
    pub database: PathBuf,
    pub backup_dir: PathBuf,
    pub sheets_enabled: bool,
    /// Set in `approval_mode = "shared"`: the token every sheet decision is recorded as (health warns
    /// that such decisions name no person).
    pub sheets_shared_reviewer: Option<String>,
    pub disk_min_free_mib: u64,
    pub wal_max_mib: u64,
    pub sync_stale_after: Span,
    pub backup_max_age: Span,
    pub approval_max_age: Span,
    pub critical_unacked_after: Span,
    /// Percent of Sheets edits refused (24 h window) above which imports are unhealthy.
    pub validation_failure_pct: f64,
    /// Fewer edits than this in the window are too few to judge a rate.
    pub validation_min_sample: i64,
    /// With point-in-time recovery on: how long a change may wait in the outbox before it is an alert.
    pub pitr_max_lag: Option<Span>,
    /// The mirror contract's goals (`outcomes.rs`).
    pub outcomes: super::outcomes::OutcomeLimits,
    /// Approvals pending longer than this are reminded of, each by name (`reminders.rs`); `None`: never.
    pub remind_after: Option<Span>,
    /// The configured `[[sinks]]`: their dead letters are a warning, and so are deliveries waiting for a
    /// sink no longer configured.
    pub sinks: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Critical,
}

/// One check: its level, a sentence, and the number behind it (for metrics).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpsCheck {
    pub level: Level,
    pub detail: String,
    pub value: Option<f64>,
}

impl OpsCheck {
    fn new(level: Level, detail: impl Into<String>, value: Option<f64>) -> Self {
        Self { level, detail: detail.into(), value }
    }

    fn judged(bad: bool, level_if_bad: Level, detail: impl Into<String>, value: f64) -> Self {
        Self::new(if bad { level_if_bad } else { Level::Ok }, detail, Some(value))
    }
}

pub type OpsReport = BTreeMap<&'static str, OpsCheck>;

fn age_of(text: &str, now: DateTime<Utc>) -> Option<Span> {
    parse_timestamp(text).map(|at| now - at)
}

fn hours(span: Span) -> f64 {
    span.num_seconds() as f64 / 3600.0
}

/// Runs every check; a check that cannot run is itself critical, never a panic.
pub async fn run(readers: &ReaderPool, limits: &OpsLimits, now: DateTime<Utc>) -> OpsReport {
    let mut report = OpsReport::new();
    let query_limits = limits.clone();
    let from_db = readers.read(move |conn| Ok((database_checks(conn, &query_limits, now), created_at(conn)))).await;
    let created = match from_db {
        Ok((checks, created)) => {
            report.extend(checks);
            created
        }
        Err(err) => {
            report.insert("database", OpsCheck::new(Level::Critical, format!("cannot read: {err}"), None));
            None
        }
    };
    let database = readers.database().to_owned();
    let check = match tokio::task::spawn_blocking(move || quick_check(&database)).await {
        Ok(check) => check,
        Err(err) => OpsCheck::new(Level::Critical, err.to_string(), None),
    };
    report.insert("database_quick_check", check);
    let files = limits.clone();
    let from_files = tokio::task::spawn_blocking(move || file_checks(&files, now, created)).await;
    match from_files {
        Ok(checks) => report.extend(checks),
        Err(err) => {
            report.insert("files", OpsCheck::new(Level::Critical, format!("file checks failed: {err}"), None));
        }
    }
    report
}

/// `PRAGMA quick_check` on a connection of its own, opened for it: a pooled reader that has read the
/// search index before caches FTS5 state the check then misreads as a checksum mismatch (seen: every
/// check after the first reported `fts5: checksum mismatch` while a fresh connection found the file ok).
fn quick_check(database: &std::path::Path) -> OpsCheck {
    let verdict = crate::store::open::read_only(database)
        .and_then(|conn| conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)))
        .unwrap_or_else(|err| format!("quick_check failed: {err}"));
    OpsCheck::judged(verdict != "ok", Level::Critical, verdict, 0.0)
}

/// When this database was created (its first migration), to tell a new install from missing backups.
fn created_at(conn: &Connection) -> Option<DateTime<Utc>> {
    let first: Option<String> =
        conn.query_row("SELECT min(applied_at) FROM schema_migrations", [], |r| r.get(0)).ok().flatten();
    parse_timestamp(&first?)
}

fn database_checks(conn: &Connection, limits: &OpsLimits, now: DateTime<Utc>) -> Vec<(&'static str, OpsCheck)> {
    let mut out = Vec::new();
    out.push(("oldest_pending_approval", oldest_pending(conn, limits, now)));
    out.push(("unacknowledged_critical_errors", critical_unacked(conn, limits, now)));
    if let Some(max_lag) = limits.pitr_max_lag {
        out.push(("pitr_lag", pitr_lag(conn, max_lag, now)));
    }
    if !limits.sinks.is_empty() {
        out.push(("sink_dead_letters", dead_letters(conn, &limits.sinks)));
        out.push(("sinks_disabled", disabled_sinks(conn)));
    }
    match super::outcomes::Outcomes::read(conn, now) {
        Ok(outcomes) => out.extend(outcomes.checks(&limits.outcomes, limits.sheets_enabled)),
        Err(err) => {
            out.push(("outcomes", OpsCheck::new(Level::Warn, format!("cannot read the outcomes: {err}"), None)))
        }
    }
    if limits.sheets_enabled {
        for direction in ["import", "export"] {
            let name = if direction == "import" { "sheets_import" } else { "sheets_export" };
            out.push((name, sync_freshness(conn, direction, limits, now)));
        }
        out.push(("import_validation_failures", validation_rate(conn, limits, now)));
        if let Some(reviewer) = &limits.sheets_shared_reviewer {
            let detail = format!(
                "approval_mode = \"shared\": every sheet decision is recorded as {reviewer}; whoever can edit the \
                 spreadsheet decides, and no person can be named (use [sheets.reviewers])"
            );
            out.push(("sheets_decisions_attributable", OpsCheck::new(Level::Warn, detail, None)));
        }
    }
    out
}

fn oldest_pending(conn: &Connection, limits: &OpsLimits, now: DateTime<Utc>) -> OpsCheck {
    let oldest: rusqlite::Result<Option<(String, String)>> = conn
        .query_row(
            "SELECT id, requested_at FROM approvals WHERE status = 'pending' ORDER BY requested_at LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional();
    match oldest {
        Ok(None) => OpsCheck::new(Level::Ok, "no pending approvals", Some(0.0)),
        Ok(Some((id, at))) => {
            let age = age_of(&at, now).unwrap_or_else(Span::zero);
            let too_old = age > limits.approval_max_age;
            let detail =
                format!("approval {id} has waited {:.1} h (limit {:.0} h)", hours(age), hours(limits.approval_max_age));
            OpsCheck::judged(too_old, Level::Critical, detail, hours(age))
        }
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read approvals: {err}"), None),
    }
}

/// The oldest change not yet off-site: past the limit, a lost machine would lose it (the restorable
/// point has fallen behind).
fn pitr_lag(conn: &Connection, max_lag: Span, now: DateTime<Utc>) -> OpsCheck {
    match crate::pitr::OutboxFigures::read(conn) {
        Ok(outbox) => {
            let lag = outbox.lag_seconds(now);
            let detail = match &outbox.oldest_committed_at {
                None => "every committed change is off-site".to_owned(),
                Some(oldest) => format!(
                    "{} changes ({} bytes) wait to be shipped, the oldest committed at {oldest} ({lag:.0} s ago, \
                     limit {} s)",
                    outbox.rows,
                    outbox.bytes,
                    max_lag.num_seconds()
                ),
            };
            OpsCheck::judged(lag > max_lag.num_seconds() as f64, Level::Critical, detail, lag)
        }
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read the recovery outbox: {err}"), None),
    }
}

/// Deliveries that gave up: each waits for an operator's retry (`GET /api/v1/admin/sinks`).
fn dead_letters(conn: &Connection, configured: &[String]) -> OpsCheck {
    let names = serde_json::to_string(configured).unwrap_or_default();
    let counted = conn.query_row(
        "SELECT count(*) FILTER (WHERE dead_at IS NOT NULL),
                group_concat(DISTINCT sink) FILTER (WHERE dead_at IS NOT NULL),
                count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL
                                   AND sink NOT IN (SELECT value FROM json_each(?1))),
                group_concat(DISTINCT sink) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL
                                   AND sink NOT IN (SELECT value FROM json_each(?1)))
           FROM sink_outbox",
        [&names],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
    );
    match counted {
        Ok((0, _, 0, _)) => OpsCheck::new(Level::Ok, "no dead deliveries", Some(0.0)),
        Ok((dead, dead_sinks, orphans, gone)) => {
            let mut detail = Vec::new();
            if dead > 0 {
                detail.push(format!(
                    "{dead} deliveries dead-lettered (sinks: {}); retry them from GET /api/v1/admin/sinks",
                    dead_sinks.unwrap_or_default()
                ));
            }
            if orphans > 0 {
                detail.push(format!(
                    "{orphans} deliveries wait for sinks no longer configured ({}); they are not sent",
                    gone.unwrap_or_default()
                ));
            }
            OpsCheck::new(Level::Warn, detail.join("; "), Some(dead as f64))
        }
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read the sink deliveries: {err}"), None),
    }
}

/// Sinks whose receiver answered 410 Gone: nothing goes to them until an admin enables them.
fn disabled_sinks(conn: &Connection) -> OpsCheck {
    let listed = conn.query_row("SELECT count(*), group_concat(sink, ', ') FROM sink_disabled", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
    });
    match listed {
        Ok((0, _)) => OpsCheck::new(Level::Ok, "every sink delivers", Some(0.0)),
        Ok((n, names)) => OpsCheck::new(
            Level::Warn,
            format!(
                "{n} sinks disabled after their receiver answered 410 Gone ({}); their deliveries wait; enable \
                 one with POST /api/v1/admin/sinks/<name>/enable",
                names.unwrap_or_default()
            ),
            Some(n as f64),
        ),
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read the sinks' state: {err}"), None),
    }
}

/// Named: the alert says which errors (the oldest five, clipped), not only how many.
fn critical_unacked(conn: &Connection, limits: &OpsLimits, now: DateTime<Utc>) -> OpsCheck {
    let cutoff = format_timestamp(now - limits.critical_unacked_after);
    let found = conn
        .query_row(
            "SELECT count(*) FROM errors WHERE severity = 'critical' AND resolved = 0 AND occurred_at <= ?1",
            [&cutoff],
            |r| r.get::<_, i64>(0),
        )
        .and_then(|n| {
            let mut oldest = conn.prepare_cached(
                "SELECT id, error FROM errors WHERE severity = 'critical' AND resolved = 0 AND occurred_at <= ?1
                  ORDER BY occurred_at, id LIMIT 5",
            )?;
            let named: Vec<String> = oldest
                .query_map([&cutoff], |r| {
                    Ok(format!("{} {}", r.get::<_, String>(0)?, crate::domain::text::clip(&r.get::<_, String>(1)?)))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok((n, named))
        });
    match found {
        Ok((n, named)) => {
            let mut detail =
                format!("{n} critical errors unresolved for over {:.0} h", hours(limits.critical_unacked_after));
            if !named.is_empty() {
                detail.push_str(&format!(": {}", named.join("; ")));
                if n > named.len() as i64 {
                    detail.push_str(&format!("; and {} more", n - named.len() as i64));
                }
            }
            OpsCheck::judged(n > 0, Level::Critical, detail, n as f64)
        }
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read errors: {err}"), None),
    }
}

fn sync_freshness(conn: &Connection, direction: &str, limits: &OpsLimits, now: DateTime<Utc>) -> OpsCheck {
    let states = match crate::store::queries::sync_state::all(conn) {
        Ok(states) => states,
        Err(err) => return OpsCheck::new(Level::Critical, format!("cannot read sync state: {err}"), None),
    };
    let Some(state) = states.into_iter().find(|s| s.direction == direction) else {
        return OpsCheck::new(Level::Warn, "no sync yet", None);
    };
    let Some(at) = state.last_success_at else {
        // Never succeeded: critical once it has been failing (or deferred) for longer than the contract's hour.
        let failing_for =
            state.failing_since.as_deref().and_then(|since| age_of(since, now)).unwrap_or_else(Span::zero);
        let level = if failing_for > limits.sync_stale_after { Level::Critical } else { Level::Warn };
        let why = state.last_error.unwrap_or_default();
        let failures = state.consecutive_failures;
        let minutes = failing_for.num_minutes();
        return OpsCheck::new(
            level,
            format!("never succeeded ({failures} failures over {minutes} min); last error: {why}"),
            None,
        );
    };
    let age = age_of(&at, now).unwrap_or_else(Span::zero);
    let mut detail = format!("last success {:.0} min ago", age.num_seconds() as f64 / 60.0);
    if state.consecutive_failures > 0 {
        let why = state.last_error.unwrap_or_default();
        detail.push_str(&format!("; {} failures since: {why}", state.consecutive_failures));
    }
    OpsCheck::judged(age > limits.sync_stale_after, Level::Critical, detail, age.num_seconds() as f64)
}

/// Sheet edits refused and accepted since `since`, from the event stream.
pub(super) fn sheet_edits_since(conn: &Connection, since: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT
           count(*) FILTER (WHERE type = 'sheets.edit_rejected'),
           count(*) FILTER (WHERE (actor = 'sheets' AND type NOT LIKE 'sheets.%')
             OR json_extract(payload, '$.command.via') LIKE 'sheet%')
         FROM events WHERE created_at >= ?1",
        [since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn validation_rate(conn: &Connection, limits: &OpsLimits, now: DateTime<Utc>) -> OpsCheck {
    let since = format_timestamp(now - Span::hours(24));
    let counted = sheet_edits_since(conn, &since);
    match counted {
        Ok((rejected, accepted)) => {
            let total = rejected + accepted;
            let pct = if total == 0 { 0.0 } else { 100.0 * rejected as f64 / total as f64 };
            let judged = total >= limits.validation_min_sample;
            let detail = format!("{rejected} of {total} sheet edits refused in 24 h ({pct:.1}%)");
            OpsCheck::judged(judged && pct > limits.validation_failure_pct, Level::Critical, detail, pct)
        }
        Err(err) => OpsCheck::new(Level::Critical, format!("cannot read events: {err}"), None),
    }
}

fn free_mib(path: &Path) -> Result<u64, String> {
    let probe = std::iter::successors(Some(path), |p| p.parent()).find(|p| p.exists()).unwrap_or(Path::new("."));
    let stats = nix::sys::statvfs::statvfs(probe).map_err(|e| format!("statvfs {}: {e}", probe.display()))?;
    Ok(stats.blocks_available() as u64 * stats.fragment_size() as u64 / (1024 * 1024))
}

fn file_checks(
    limits: &OpsLimits,
    now: DateTime<Utc>,
    created: Option<DateTime<Utc>>,
) -> Vec<(&'static str, OpsCheck)> {
    let mut out = Vec::new();
    let data_dir = limits.database.parent().unwrap_or(Path::new("."));
    for (name, dir) in [("disk_data", data_dir), ("disk_backups", limits.backup_dir.as_path())] {
        let check = match free_mib(dir) {
            Ok(free) => OpsCheck::judged(
                free < limits.disk_min_free_mib,
                Level::Critical,
                format!("{free} MiB free under {} (minimum {} MiB)", dir.display(), limits.disk_min_free_mib),
                free as f64,
            ),
            Err(err) => OpsCheck::new(Level::Warn, err, None),
        };
        out.push((name, check));
    }
    let wal = limits.database.with_extension("db-wal");
    let wal_mib = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let detail = format!("WAL is {wal_mib:.1} MiB (limit {} MiB)", limits.wal_max_mib);
    out.push(("wal_size", OpsCheck::judged(wal_mib > limits.wal_max_mib as f64, Level::Warn, detail, wal_mib)));
    out.push(("newest_backup", newest_backup(limits, now, created)));
    out
}

fn newest_backup(limits: &OpsLimits, now: DateTime<Utc>, created: Option<DateTime<Utc>>) -> OpsCheck {
    let newest = match file::list(&limits.backup_dir) {
        Ok(all) => all.into_iter().next(),
        Err(err) => return OpsCheck::new(Level::Critical, format!("cannot list backups: {err}"), None),
    };
    let Some(newest) = newest else {
        // A new install has had no time to make one: that is not yet an emergency.
        let young = created.is_some_and(|at| now - at <= limits.backup_max_age);
        let level = if young { Level::Warn } else { Level::Critical };
        return OpsCheck::new(level, "no backup exists yet", None);
    };
    let age = age_of(&newest.finished_at, now).unwrap_or_else(Span::zero);
    let mut problems = Vec::new();
    if age > limits.backup_max_age {
        problems.push(format!("older than {:.0} h", hours(limits.backup_max_age)));
    }
    match newest.verified_ok {
        Some(false) => problems.push(format!("FAILED verification: {}", newest.verify_detail.unwrap_or_default())),
        None => {}
        Some(true) => {}
    }
    if let Some(why) = &newest.upload_error {
        problems.push(format!("off-site upload failed: {why}"));
    }
    let verified = match newest.verified_ok {
        Some(true) => "verified",
        Some(false) => "verification failed",
        None => "not verified yet",
    };
    let detail = format!("{} is {:.1} h old, {} bytes, {verified}", newest.id, hours(age), newest.size_bytes);
    if problems.is_empty() {
        OpsCheck::new(Level::Ok, detail, Some(hours(age)))
    } else {
        OpsCheck::new(Level::Critical, format!("{detail}: {}", problems.join("; ")), Some(hours(age)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&Utc) + Span::minutes(minutes)
    }

    fn limits() -> OpsLimits {
        OpsLimits {
            database: PathBuf::from("unused.db"),
            backup_dir: PathBuf::from("unused"),
            sheets_enabled: true,
            sheets_shared_reviewer: None,
            disk_min_free_mib: 1,
            wal_max_mib: 1,
            sync_stale_after: Span::minutes(60),
            backup_max_age: Span::hours(26),
            approval_max_age: Span::hours(24),
            critical_unacked_after: Span::minutes(120),
            validation_failure_pct: 5.0,
            validation_min_sample: 10,
            pitr_max_lag: None,
            outcomes: Default::default(),
            remind_after: None,
            sinks: Vec::new(),
        }
    }

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::apply_pending(&mut conn, "2026-11-23T00:00:00.000Z").unwrap();
        conn
    }

    fn sync(conn: &Connection, direction: &str, success: Option<&str>, failures: i64) {
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (direction, last_attempt_at, last_success_at, consecutive_failures, last_error,
             failing_since) VALUES (?1, ?2, ?3, ?4, 'HTTP 503', ?5)",
            rusqlite::params![direction, format_timestamp(at(0)), success, failures, format_timestamp(at(-30))],
        )
        .unwrap();
    }

    fn edit_events(conn: &Connection, rejected: usize, accepted: usize) {
        for (kind, n) in [("sheets.edit_rejected", rejected), ("approval.approved", accepted)] {
            for _ in 0..n {
                conn.execute(
                    "INSERT INTO events (type, aggregate_type, aggregate_id, actor, payload, created_at)
                     VALUES (?1, 'approval', 'a', 'sheets', '{}', ?2)",
                    rusqlite::params![kind, format_timestamp(at(-30))],
                )
                .unwrap();
            }
        }
    }

    #[test]
    fn a_sync_is_critical_after_an_hour_without_success_or_an_hour_of_failures_without_any() {
        let conn = database();
        assert_eq!(sync_freshness(&conn, "import", &limits(), at(0)).level, Level::Warn, "no sync yet");
        sync(&conn, "import", Some(&format_timestamp(at(-59))), 2);
        let fresh = sync_freshness(&conn, "import", &limits(), at(0));
        assert_eq!(fresh.level, Level::Ok);
        assert!(fresh.detail.contains("2 failures since: HTTP 503"), "{}", fresh.detail);
        assert_eq!(sync_freshness(&conn, "import", &limits(), at(2)).level, Level::Critical, "61 minutes");
        sync(&conn, "export", None, 12);
        assert_eq!(
            sync_freshness(&conn, "export", &limits(), at(0)).level,
            Level::Warn,
            "failing for 30 minutes: not yet an alert, however many cycles failed"
        );
        assert_eq!(sync_freshness(&conn, "export", &limits(), at(31)).level, Level::Critical, "61 minutes");
    }

    #[test]
    fn shared_mode_is_a_standing_warning_that_sheet_decisions_name_no_person() {
        let conn = database();
        let named = |limits: &OpsLimits| {
            database_checks(&conn, limits, at(0)).into_iter().find(|(name, _)| *name == "sheets_decisions_attributable")
        };
        assert!(named(&limits()).is_none(), "reviewer columns name the person");
        let shared = OpsLimits { sheets_shared_reviewer: Some("ops-desk".into()), ..limits() };
        let (_, check) = named(&shared).expect("shared mode is reported");
        assert_eq!(check.level, Level::Warn);
        assert!(check.detail.contains("recorded as ops-desk"), "{}", check.detail);
    }

    #[test]
    fn no_backup_is_a_warning_for_a_new_database_and_critical_once_one_was_due() {
        let dir = tempfile::tempdir().unwrap();
        let limits = OpsLimits { backup_dir: dir.path().to_path_buf(), ..limits() };
        assert_eq!(newest_backup(&limits, at(0), Some(at(-60))).level, Level::Warn);
        assert_eq!(newest_backup(&limits, at(0), Some(at(-27 * 60))).level, Level::Critical, "26 h have passed");
        assert_eq!(newest_backup(&limits, at(0), None).level, Level::Critical, "unknown age: assume the worst");
    }

    #[test]
    fn the_validation_failure_rate_is_judged_over_a_day_from_enough_edits() {
        let conn = database();
        edit_events(&conn, 2, 3);
        let few = validation_rate(&conn, &limits(), at(0));
        assert_eq!((few.level, few.value), (Level::Ok, Some(40.0)), "5 edits are too few to judge");
        edit_events(&conn, 0, 15);
        let judged = validation_rate(&conn, &limits(), at(0));
        assert_eq!(judged.level, Level::Critical, "2 of 20 = 10% > 5%: {}", judged.detail);
        edit_events(&conn, 0, 30);
        assert_eq!(validation_rate(&conn, &limits(), at(0)).level, Level::Ok, "2 of 50 = 4%");
        assert_eq!(validation_rate(&conn, &limits(), at(24 * 60)).value, Some(0.0), "a day later nothing counts");
    }
}
