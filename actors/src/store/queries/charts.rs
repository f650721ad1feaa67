//! The numbers behind the console's charts, over the last `days` days (UTC days, oldest first, every day
//! present even when nothing happened): how long approvals waited for a decision (median and p90 per day
//! decided), runs per day by outcome, run duration by task, and open errors by severity at each day's end.
//! A project narrows the run and approval figures to its tasks.

use crate::domain::clock::parse_timestamp;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{params, Connection};

/// The days of the window ending with `today`, oldest first.
pub fn days(today: NaiveDate, days: u32) -> Vec<NaiveDate> {
    (0..days as i64).rev().map(|back| today - Duration::days(back)).collect()
}

/// Seconds from one stored timestamp to another (never negative).
fn seconds_between(from: &str, to: &str) -> Option<(DateTime<Utc>, f64)> {
    let (a, b) = (parse_timestamp(from)?, parse_timestamp(to)?);
    Some((b, (b - a).num_milliseconds().max(0) as f64 / 1000.0))
}

fn day_of(stored: &str) -> Option<NaiveDate> {
    parse_timestamp(stored).map(|at| at.date_naive())
}

/// The value at quantile `q` (nearest rank) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Decision time per day decided: (day, decided, median seconds, p90 seconds).
pub fn decision_times(
    conn: &Connection,
    window: &[NaiveDate],
    project: Option<&str>,
) -> rusqlite::Result<Vec<(NaiveDate, usize, f64, f64)>> {
    let since = window.first().map(|d| d.to_string()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT a.requested_at, a.reviewed_at FROM approvals a \
         WHERE a.reviewed_at >= ?1 AND a.status IN ('approved', 'rejected') \
           AND (?2 IS NULL OR (a.item_type = 'task' AND a.item_id IN (SELECT id FROM tasks WHERE project_id = ?2)) \
                OR (a.item_type = 'project' AND a.item_id = ?2))",
    )?;
    let rows = stmt.query_map(params![since, project], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut waits: Vec<(NaiveDate, f64)> = Vec::new();
    for row in rows {
        let (asked, decided) = row?;
        if let Some((decided, seconds)) = seconds_between(&asked, &decided) {
            waits.push((decided.date_naive(), seconds));
        }
    }
    Ok(window
        .iter()
        .map(|day| {
            let mut of_day: Vec<f64> = waits.iter().filter(|(d, _)| d == day).map(|(_, s)| *s).collect();
            of_day.sort_by(f64::total_cmp);
            (*day, of_day.len(), quantile(&of_day, 0.5), quantile(&of_day, 0.9))
        })
        .collect())
}

/// The outcomes a finished run can have, in the order charts stack them.
pub const OUTCOMES: [&str; 4] = ["success", "failed", "timed_out", "cancelled"];

/// Finished runs per day (by the day they ended) and outcome: (day, counts in `OUTCOMES` order).
pub fn runs_per_day(
    conn: &Connection,
    window: &[NaiveDate],
    project: Option<&str>,
) -> rusqlite::Result<Vec<(NaiveDate, [u64; 4])>> {
    let since = window.first().map(|d| d.to_string()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT substr(r.completed_at, 1, 10), r.status, count(*) FROM runs r \
         WHERE r.completed_at >= ?1 AND (?2 IS NULL OR r.task_id IN (SELECT id FROM tasks WHERE project_id = ?2)) \
         GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map(params![since, project], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    let mut out: Vec<(NaiveDate, [u64; 4])> = window.iter().map(|d| (*d, [0; 4])).collect();
    for row in rows {
        let (day, status, count) = row?;
        let (Ok(day), Some(slot)) = (day.parse::<NaiveDate>(), OUTCOMES.iter().position(|o| *o == status)) else {
            continue;
        };
        if let Some((_, counts)) = out.iter_mut().find(|(d, _)| *d == day) {
            counts[slot] += count as u64;
        }
    }
    Ok(out)
}

/// Median run duration by task, the ten tasks run most in the window: (task id, title, runs, median s).
pub fn duration_by_task(
    conn: &Connection,
    window: &[NaiveDate],
    project: Option<&str>,
) -> rusqlite::Result<Vec<(String, String, usize, f64)>> {
    let since = window.first().map(|d| d.to_string()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT r.task_id, t.title, r.started_at, r.completed_at FROM runs r JOIN tasks t ON t.id = r.task_id \
         WHERE r.completed_at >= ?1 AND r.started_at IS NOT NULL AND (?2 IS NULL OR t.project_id = ?2)",
    )?;
    let rows = stmt.query_map(params![since, project], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    let mut by_task: Vec<(String, String, Vec<f64>)> = Vec::new();
    for row in rows {
        let (task, title, started, ended) = row?;
        let Some((_, seconds)) = seconds_between(&started, &ended) else { continue };
        match by_task.iter_mut().find(|(t, _, _)| *t == task) {
            Some((_, _, all)) => all.push(seconds),
            None => by_task.push((task, title, vec![seconds])),
        }
    }
    by_task.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then_with(|| a.0.cmp(&b.0)));
    Ok(by_task
        .into_iter()
        .take(10)
        .map(|(task, title, mut all)| {
            all.sort_by(f64::total_cmp);
            let median = quantile(&all, 0.5);
            (task, title, all.len(), median)
        })
        .collect())
}

/// The severities, most severe first.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// Errors open at the end of each day, by severity (`SEVERITIES` order).
pub fn open_errors_by_day(conn: &Connection, window: &[NaiveDate]) -> rusqlite::Result<Vec<(NaiveDate, [u64; 4])>> {
    let since = window.first().map(|d| d.to_string()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT occurred_at, resolved_at, severity FROM errors WHERE resolved_at IS NULL OR resolved_at >= ?1",
    )?;
    let rows = stmt
        .query_map([since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)))?;
    let mut out: Vec<(NaiveDate, [u64; 4])> = window.iter().map(|d| (*d, [0; 4])).collect();
    for row in rows {
        let (occurred, resolved, severity) = row?;
        let (Some(opened), Some(slot)) = (day_of(&occurred), SEVERITIES.iter().position(|s| *s == severity)) else {
            continue;
        };
        let closed = resolved.as_deref().and_then(day_of);
        for (day, counts) in out.iter_mut() {
            // Open at the day's end: occurred that day or before, not resolved by its end.
            if opened <= *day && closed.is_none_or(|c| c > *day) {
                counts[slot] += 1;
            }
        }
    }
    Ok(out)
}

/// Today in UTC, for the windows.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile(&values, 0.5), 5.0);
        assert_eq!(quantile(&values, 0.9), 9.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_window_is_every_day_oldest_first() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let window = days(today, 3);
        assert_eq!(
            window.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["2026-02-28", "2026-03-01", "2026-03-02"]
        );
    }
}
