//! Alerts: what is firing is decided by Health (its checks and actor restarts); this module de-duplicates
//! (one message when an alert starts, a reminder at most every `repeat_every` while it lasts, one
//! recovery message when it clears) and delivers to the configured channels through the Notifier actor.

pub mod actor;
pub mod channels;
pub mod messages;

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Alerts whose key starts with this are reminders of a pending approval (`health/reminders.rs`): sent
/// again once a day while they last, whatever `repeat_every` says for the others.
pub const REMINDER_PREFIX: &str = "approval_pending:";

/// What a notice says about an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Firing,
    Reminder,
    Resolved,
}

impl Kind {
    /// How the audit trail names it (`alert.fired`, …).
    pub fn verb(self) -> &'static str {
        match self {
            Self::Firing => "fired",
            Self::Reminder => "reminded",
            Self::Resolved => "resolved",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Firing => "FIRING",
            Self::Reminder => "STILL FIRING",
            Self::Resolved => "RESOLVED",
        }
    }
}

/// One message to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub key: String,
    pub kind: Kind,
    pub detail: String,
    pub since: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Active {
    since: DateTime<Utc>,
    last_sent: Option<DateTime<Utc>>,
}

/// The de-duplication state: alive as long as the Notifier (an alert that outlives a restart is announced
/// again once, which an operator would rather get than miss).
#[derive(Debug, Default)]
pub struct Dedupe {
    active: BTreeMap<String, Active>,
    /// Cleared alerts whose RESOLVED notice no channel has taken yet (tried again at each evaluation,
    /// like a FIRING one), with when they began.
    resolving: BTreeMap<String, DateTime<Utc>>,
}

impl Dedupe {
    /// `firing`: alert key → what is wrong now. Returns what to send.
    pub fn evaluate(
        &mut self,
        firing: &BTreeMap<String, String>,
        now: DateTime<Utc>,
        repeat_every: Duration,
    ) -> Vec<Notice> {
        let mut out = Vec::new();
        let cleared: Vec<String> = self.active.keys().filter(|k| !firing.contains_key(*k)).cloned().collect();
        for key in cleared {
            if let Some(active) = self.active.remove(&key) {
                // Nothing was ever delivered: no recovery message for an alert nobody heard of.
                if active.last_sent.is_some() {
                    self.resolving.insert(key, active.since);
                }
            }
        }
        // An alert firing again is announced as such; its recovery is no longer news.
        self.resolving.retain(|key, _| !firing.contains_key(key));
        for (key, since) in &self.resolving {
            out.push(Notice { key: key.clone(), kind: Kind::Resolved, detail: "cleared".into(), since: *since });
        }
        for (key, detail) in firing {
            let repeat_every = if key.starts_with(REMINDER_PREFIX) { Duration::days(1) } else { repeat_every };
            let active = self.active.entry(key.clone()).or_insert(Active { since: now, last_sent: None });
            let kind = match active.last_sent {
                None => Some(Kind::Firing),
                Some(sent) if now - sent >= repeat_every => Some(Kind::Reminder),
                Some(_) => None,
            };
            if let Some(kind) = kind {
                out.push(Notice { key: key.clone(), kind, detail: detail.clone(), since: active.since });
            }
        }
        out
    }

    /// Delivered: the next reminder is `repeat_every` from now. Undelivered alerts are tried again at the
    /// next evaluation.
    pub fn delivered(&mut self, key: &str, now: DateTime<Utc>) {
        if self.resolving.remove(key).is_some() {
            return;
        }
        if let Some(active) = self.active.get_mut(key) {
            active.last_sent = Some(now);
        }
    }

    pub fn active(&self) -> Vec<String> {
        self.active.keys().cloned().collect()
    }
}

/// Actors that restarted at least `threshold` times within `window`, from a history of restart counts.
#[derive(Debug, Default)]
pub struct RestartWatch {
    history: BTreeMap<String, Vec<(DateTime<Utc>, u64)>>,
}

impl RestartWatch {
    pub fn observe(
        &mut self,
        counts: impl IntoIterator<Item = (String, u64)>,
        now: DateTime<Utc>,
        window: Duration,
        threshold: u64,
    ) -> BTreeMap<String, String> {
        let mut firing = BTreeMap::new();
        for (actor, restarts) in counts {
            // Counts start at zero with the process: restarts before the first look count too.
            let samples = self.history.entry(actor.clone()).or_insert_with(|| vec![(now, 0)]);
            samples.push((now, restarts));
            samples.retain(|(at, _)| now - *at <= window);
            let oldest = samples.first().map_or(restarts, |(_, n)| *n);
            let recent = restarts.saturating_sub(oldest);
            if recent >= threshold {
                firing.insert(
                    format!("actor_restarts_{actor}"),
                    format!("{actor} restarted {recent} times in the last {} min", window.num_minutes()),
                );
            }
        }
        firing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&Utc) + Duration::minutes(minutes)
    }

    fn firing(keys: &[&str]) -> BTreeMap<String, String> {
        keys.iter().map(|k| (k.to_string(), format!("{k} is wrong"))).collect()
    }

    fn kinds(notices: &[Notice]) -> Vec<(String, Kind)> {
        notices.iter().map(|n| (n.key.clone(), n.kind)).collect()
    }

    #[test]
    fn an_approval_reminder_repeats_once_a_day_whatever_the_interval() {
        let mut dedupe = Dedupe::default();
        let every = Duration::minutes(60);
        let reminder = format!("{REMINDER_PREFIX}apr_1");
        let keys = [reminder.as_str(), "backup"];
        assert_eq!(dedupe.evaluate(&firing(&keys), at(0), every).len(), 2);
        dedupe.delivered(&reminder, at(0));
        dedupe.delivered("backup", at(0));
        let hour_later = dedupe.evaluate(&firing(&keys), at(60), every);
        assert_eq!(kinds(&hour_later), [("backup".into(), Kind::Reminder)], "the approval waits a day");
        dedupe.delivered("backup", at(60));
        let next_day = dedupe.evaluate(&firing(&keys), at(24 * 60), every);
        assert!(kinds(&next_day).contains(&(reminder.clone(), Kind::Reminder)), "{next_day:?}");
    }

    #[test]
    fn an_alert_fires_once_repeats_at_the_interval_and_recovers_once() {
        let mut dedupe = Dedupe::default();
        let every = Duration::minutes(60);
        let sent = dedupe.evaluate(&firing(&["backup"]), at(0), every);
        assert_eq!(kinds(&sent), [("backup".into(), Kind::Firing)]);
        dedupe.delivered("backup", at(0));
        assert!(dedupe.evaluate(&firing(&["backup"]), at(15), every).is_empty(), "no repeat within the interval");
        assert!(dedupe.evaluate(&firing(&["backup"]), at(59), every).is_empty());
        let again = dedupe.evaluate(&firing(&["backup"]), at(60), every);
        assert_eq!(kinds(&again), [("backup".into(), Kind::Reminder)]);
        assert_eq!(again[0].since, at(0), "a reminder says since when");
        dedupe.delivered("backup", at(60));
        let cleared = dedupe.evaluate(&firing(&[]), at(75), every);
        assert_eq!(kinds(&cleared), [("backup".into(), Kind::Resolved)]);
        dedupe.delivered("backup", at(75));
        assert!(dedupe.evaluate(&firing(&[]), at(90), every).is_empty(), "recovery is sent once");
        assert!(dedupe.active().is_empty());
    }

    #[test]
    fn a_recovery_no_channel_took_is_sent_again_until_one_does() {
        let mut dedupe = Dedupe::default();
        let every = Duration::minutes(60);
        dedupe.evaluate(&firing(&["backup", "disk"]), at(0), every);
        dedupe.delivered("backup", at(0));
        dedupe.delivered("disk", at(0));
        let cleared = dedupe.evaluate(&firing(&[]), at(10), every);
        assert_eq!(cleared.len(), 2);
        // Every channel failed: both recoveries are tried again at the next evaluation.
        let again = dedupe.evaluate(&firing(&[]), at(20), every);
        assert_eq!(kinds(&again), [("backup".into(), Kind::Resolved), ("disk".into(), Kind::Resolved)]);
        dedupe.delivered("backup", at(20));
        // disk fires again before its recovery got through: it is announced as firing, not as recovered.
        let later = dedupe.evaluate(&firing(&["disk"]), at(30), every);
        assert_eq!(kinds(&later), [("disk".into(), Kind::Firing)]);
    }

    #[test]
    fn an_undelivered_alert_is_tried_again_and_never_recovers_silently_twice() {
        let mut dedupe = Dedupe::default();
        let every = Duration::minutes(60);
        assert_eq!(dedupe.evaluate(&firing(&["sync"]), at(0), every).len(), 1);
        let retry = dedupe.evaluate(&firing(&["sync"]), at(15), every);
        assert_eq!(kinds(&retry), [("sync".into(), Kind::Firing)], "not delivered yet: try again");
        assert!(dedupe.evaluate(&firing(&[]), at(30), every).is_empty(), "never announced: no recovery either");
    }

    #[test]
    fn repeated_restarts_within_the_window_fire_and_old_ones_age_out() {
        let mut watch = RestartWatch::default();
        let window = Duration::minutes(15);
        let observe =
            |watch: &mut RestartWatch, n: u64, m: i64| watch.observe([("runner".to_string(), n)], at(m), window, 3);
        assert!(observe(&mut watch, 0, 0).is_empty());
        assert!(observe(&mut watch, 2, 5).is_empty());
        let fired = observe(&mut watch, 3, 10);
        assert_eq!(fired["actor_restarts_runner"], "runner restarted 3 times in the last 15 min");
        assert!(observe(&mut watch, 3, 26).is_empty(), "no new restarts in the window");
        let mut fresh = RestartWatch::default();
        let fired = fresh.observe([("backup".to_string(), 4)], at(0), window, 3);
        assert!(fired.contains_key("actor_restarts_backup"), "restarts before the first look count");
    }
}
