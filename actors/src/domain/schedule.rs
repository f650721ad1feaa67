//! When a recurring job is due: an interval (`30s`, `15m`, `1h`, `24h`, `7d`), a cron expression
//! (`0 * * * *`, five fields, UTC), or `off`. A job whose run was missed is due once, not once per missed tick.

use chrono::{DateTime, Duration, Utc};
use std::str::FromStr;

#[derive(Clone, Debug)]
pub enum ScheduleSpec {
    Every(Duration),
    Cron(Box<cron::Schedule>),
    Off,
}

impl ScheduleSpec {
    /// Parses a schedule, explaining the accepted forms on error.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text == "off" {
            return Ok(Self::Off);
        }
        if let Some(every) = parse_interval(text) {
            return every.map(Self::Every);
        }
        let fields = text.split_whitespace().count();
        let expression = match fields {
            5 => format!("0 {text}"),
            6 | 7 => text.to_owned(),
            _ => {
                return Err(format!(
                    "{raw:?} is neither an interval (30s, 15m, 1h, 7d), a cron expression (0 * * * *) nor off"
                ))
            }
        };
        cron::Schedule::from_str(&expression)
            .map(|schedule| Self::Cron(Box::new(schedule)))
            .map_err(|err| format!("{raw:?} is not a valid cron expression: {err}"))
    }

    /// When the job is next due, given when it last started; `None` when it is off.
    pub fn next_due(&self, last_started: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Off => None,
            Self::Every(interval) => Some(last_started.map_or(now, |last| last + *interval)),
            Self::Cron(schedule) => schedule.after(&last_started.unwrap_or(now)).next(),
        }
    }
}

/// The longest interval: a job less often than yearly is a cron expression's work (and a longer one would
/// run past the calendar's end when added to a time).
const MAX_INTERVAL_DAYS: i64 = 366;

/// `Some(Ok)` for a well-formed interval, `Some(Err)` for a malformed one, `None` when it is not one at all
/// (five or more fields: a cron expression). Intervals are humantime's (`30s`, `15m`, `1h 30m`, `7d`).
fn parse_interval(text: &str) -> Option<Result<Duration, String>> {
    if text.split_whitespace().count() >= 5 || text.contains('*') {
        return None;
    }
    let parsed = match humantime::parse_duration(text) {
        Ok(parsed) => parsed,
        Err(humantime::DurationError::NumberOverflow) => {
            return Some(Err(format!("{text:?}: longer than the {MAX_INTERVAL_DAYS} days an interval may be")))
        }
        Err(_) if text.starts_with(|c: char| c.is_ascii_digit()) => {
            return Some(Err(format!("{text:?} is not an interval (30s, 15m, 1h 30m, 7d)")))
        }
        Err(_) => return None,
    };
    match Duration::from_std(parsed) {
        Ok(interval) if interval <= Duration::zero() => {
            Some(Err(format!("{text:?}: the interval must be longer than zero")))
        }
        Ok(interval) if interval <= Duration::days(MAX_INTERVAL_DAYS) => Some(Ok(interval)),
        _ => Some(Err(format!("{text:?}: longer than the {MAX_INTERVAL_DAYS} days an interval may be"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals_run_once_after_downtime() {
        let hourly = ScheduleSpec::parse("1h").unwrap();
        let last = at("2026-01-01T00:00:00Z");
        let now = at("2026-01-01T05:10:00Z");
        assert_eq!(hourly.next_due(Some(last), now), Some(at("2026-01-01T01:00:00Z")), "overdue: due at once");
        assert_eq!(hourly.next_due(None, now), Some(now), "never ran: due now");
    }

    #[test]
    fn cron_expressions_use_five_fields_in_utc() {
        let top_of_hour = ScheduleSpec::parse("0 * * * *").unwrap();
        let last = at("2026-01-01T00:00:00Z");
        assert_eq!(top_of_hour.next_due(Some(last), last), Some(at("2026-01-01T01:00:00Z")));
        assert_eq!(top_of_hour.next_due(None, at("2026-01-01T00:30:00Z")), Some(at("2026-01-01T01:00:00Z")));
    }

    #[test]
    fn off_and_garbage() {
        assert!(ScheduleSpec::parse("off").unwrap().next_due(None, Utc::now()).is_none());
        for bad in ["", "soon", "0m", "15x", "* * *", "61 * * * *", "200000000000000d", "367d", "99999999999999999999s"]
        {
            assert!(ScheduleSpec::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = ScheduleSpec::parse("200000000000000d").unwrap_err();
        assert!(long.contains("366 days"), "an overflow is an error naming the limit, never a panic: {long}");
        assert!(matches!(ScheduleSpec::parse("1h 30m"), Ok(ScheduleSpec::Every(d)) if d == Duration::minutes(90)));
    }
}
