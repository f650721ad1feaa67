//! The mirror contract's outcome measures, from the event stream (and the hotlist) over the last 7 days:
//! time from request to decision, time to resolve critical errors, Sheets sync completion and Sheets edit
//! validation pass rates. Each has a threshold; crossing it is a warning (the contract's goals, not an
//! outage), shown in health, `/metrics` and the console.

use super::ops::{Level, OpsCheck};
use crate::domain::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Duration as Span, Utc};
use rusqlite::Connection;
use serde::Serialize;

/// The window every measure covers.
pub const WINDOW_DAYS: i64 = 7;
/// At most this many samples are read per measure (a bound on a busy week).
const MAX_SAMPLES: i64 = 100_000;

/// The contract's goals, from `[health]`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeLimits {
    pub decision_mean_max: Span,
    pub critical_resolution_max: Span,
    pub sync_completion_min_pct: f64,
    pub validation_pass_min_pct: f64,
}

impl Default for OutcomeLimits {
    fn default() -> Self {
        Self {
            decision_mean_max: Span::hours(4),
            critical_resolution_max: Span::hours(24),
            sync_completion_min_pct: 99.0,
            validation_pass_min_pct: 95.0,
        }
    }
}

/// Durations in seconds: how many, mean, median, p90.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: usize,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

impl Spread {
    fn of(mut seconds: Vec<f64>) -> Self {
        seconds.sort_by(f64::total_cmp);
        let pick = |p: f64| seconds.get(((seconds.len() as f64 - 1.0) * p).round() as usize).copied();
        let mean = (!seconds.is_empty()).then(|| seconds.iter().sum::<f64>() / seconds.len() as f64);
        Self { count: seconds.len(), mean_s: mean, median_s: pick(0.5), p90_s: pick(0.9) }
    }
}

/// A rate: how many of how many.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Rate {
    pub good: i64,
    pub total: i64,
    pub pct: Option<f64>,
}

impl Rate {
    fn of(good: i64, total: i64) -> Self {
        Self { good, total, pct: (total > 0).then(|| 100.0 * good as f64 / total as f64) }
    }
}

/// The four measures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcomes {
    pub decision_time: Spread,
    pub critical_resolution_time: Spread,
    pub sync_completion: Rate,
    pub validation_pass: Rate,
}

fn spans(conn: &Connection, sql: &str, since: &str) -> rusqlite::Result<Vec<f64>> {
    let mut query = conn.prepare_cached(sql)?;
    let rows = query
        .query_map(rusqlite::params![since, MAX_SAMPLES], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (from, to) = row?;
        if let (Some(from), Some(to)) = (parse_timestamp(&from), parse_timestamp(&to)) {
            out.push((to - from).num_milliseconds().max(0) as f64 / 1000.0);
        }
    }
    Ok(out)
}

impl Outcomes {
    /// Reads the measures for the week before `now`.
    pub fn read(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Self> {
        let since = format_timestamp(now - Span::days(WINDOW_DAYS));
        let decisions = spans(
            conn,
            "SELECT requested.created_at, decided.created_at FROM events decided
               JOIN events requested ON requested.aggregate_type = 'approval'
                AND requested.aggregate_id = decided.aggregate_id AND requested.type = 'approval.requested'
              WHERE decided.type IN ('approval.approved', 'approval.rejected') AND decided.created_at >= ?1
              LIMIT ?2",
            &since,
        )?;
        let resolutions = spans(
            conn,
            "SELECT occurred_at, resolved_at FROM errors
              WHERE severity = 'critical' AND resolved = 1 AND resolved_at >= ?1 LIMIT ?2",
            &since,
        )?;
        let (synced, syncs): (i64, i64) = conn.query_row(
            "SELECT count(*) FILTER (WHERE json_extract(payload, '$.command.ok')), count(*) FROM events
              WHERE type = 'sheets.synced' AND created_at >= ?1
                AND coalesce(json_extract(payload, '$.command.deferred'), 0) = 0",
            [&since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (rejected, accepted) = super::ops::sheet_edits_since(conn, &since)?;
        Ok(Self {
            decision_time: Spread::of(decisions),
            critical_resolution_time: Spread::of(resolutions),
            sync_completion: Rate::of(synced, syncs),
            validation_pass: Rate::of(accepted, accepted + rejected),
        })
    }

    /// One check per measure (the Sheets ones only when Sheets sync is on).
    pub fn checks(&self, limits: &OutcomeLimits, sheets: bool) -> Vec<(&'static str, OpsCheck)> {
        let hours = |s: f64| s / 3600.0;
        let mut out = vec![
            (
                "outcome_decision_time",
                spread_check(&self.decision_time, limits.decision_mean_max, "approvals decided", hours),
            ),
            (
                "outcome_critical_resolution_time",
                spread_check(
                    &self.critical_resolution_time,
                    limits.critical_resolution_max,
                    "critical errors resolved",
                    hours,
                ),
            ),
        ];
        if sheets {
            out.push((
                "outcome_sync_completion",
                rate_check(&self.sync_completion, limits.sync_completion_min_pct, "Sheets syncs completed"),
            ));
            out.push((
                "outcome_validation_pass",
                rate_check(&self.validation_pass, limits.validation_pass_min_pct, "Sheets edits passed validation"),
            ));
        }
        out
    }
}

/// "42 s", "12 min", "3.5 h".
fn readable(seconds: f64) -> String {
    match seconds {
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3600.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

fn spread_check(spread: &Spread, max: Span, what: &str, hours: impl Fn(f64) -> f64) -> OpsCheck {
    let limit_h = max.num_seconds() as f64 / 3600.0;
    match (spread.mean_s, spread.median_s, spread.p90_s) {
        (Some(mean), Some(median), Some(p90)) => {
            let detail = format!(
                "{} {what} in {WINDOW_DAYS} days: mean {}, median {}, p90 {} (goal: mean under {limit_h} h)",
                spread.count,
                readable(mean),
                readable(median),
                readable(p90)
            );
            let level = if mean > max.num_seconds() as f64 { Level::Warn } else { Level::Ok };
            OpsCheck { level, detail, value: Some(hours(mean)) }
        }
        _ => OpsCheck { level: Level::Ok, detail: format!("no {what} in {WINDOW_DAYS} days"), value: None },
    }
}

fn rate_check(rate: &Rate, min_pct: f64, what: &str) -> OpsCheck {
    match rate.pct {
        Some(pct) => OpsCheck {
            level: if pct < min_pct { Level::Warn } else { Level::Ok },
            detail: format!(
                "{} of {} {what} in {WINDOW_DAYS} days ({pct:.1}%; goal over {min_pct}%)",
                rate.good, rate.total
            ),
            value: Some(pct),
        },
        None => OpsCheck {
            level: Level::Ok,
            detail: format!("nothing to measure: no {what} in {WINDOW_DAYS} days"),
            value: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_has_its_mean_median_and_p90() {
        let spread = Spread::of((1..=10).map(f64::from).rev().collect());
        assert_eq!((spread.count, spread.mean_s, spread.median_s, spread.p90_s), (10, Some(5.5), Some(6.0), Some(9.0)));
        assert_eq!(Spread::of(Vec::new()), Spread::default());
    }

    #[test]
    fn crossing_a_goal_is_a_warning_never_critical() {
        let slow = Spread::of(vec![5.0 * 3600.0]);
        let check = spread_check(&slow, Span::hours(4), "approvals decided", |s| s / 3600.0);
        assert_eq!(check.level, Level::Warn, "{}", check.detail);
        let fine = Spread::of(vec![3.0 * 3600.0]);
        assert_eq!(spread_check(&fine, Span::hours(4), "x", |s| s / 3600.0).level, Level::Ok);
        assert_eq!(rate_check(&Rate::of(98, 100), 99.0, "syncs").level, Level::Warn);
        assert_eq!(rate_check(&Rate::of(0, 0), 99.0, "syncs").level, Level::Ok, "no sample is no verdict");
    }
}
