//! Reminders: every approval pending longer than `approvals.remind_after_h` is an alert of its own,
//! `approval_pending:<id>`, naming it (what, who asked, how long ago). The Notifier sends it when it first
//! qualifies, again once a day while it waits (`alerts::REMINDER_PREFIX`), and a RESOLVED once decided.

use crate::domain::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Duration as Span, Utc};
use rusqlite::Connection;
use serde::Serialize;

/// At most this many approvals are reminded of per check (the oldest first); the count says the rest.
const MAX_REMINDED: i64 = 50;

/// One overdue approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub approval: String,
    pub summary: String,
    pub requested_by: String,
    pub requested_at: String,
}

impl Reminder {
    /// The alert's key.
    pub fn key(&self) -> String {
        format!("{}{}", crate::alerts::REMINDER_PREFIX, self.approval)
    }

    /// The alert's sentence.
    pub fn detail(&self, now: DateTime<Utc>) -> String {
        let waited = parse_timestamp(&self.requested_at).map_or(0.0, |at| (now - at).num_minutes() as f64 / 60.0);
        // The summary comes from what was requested: clipped and escaped, never raw into a message or log.
        format!(
            "approval {} ({}) requested by {} at {} has waited {waited:.1} h for a decision",
            self.approval,
            crate::domain::text::clip(&self.summary),
            self.requested_by,
            self.requested_at
        )
    }
}

/// The approvals pending since before `now - after`, oldest first.
pub fn overdue(conn: &Connection, after: Span, now: DateTime<Utc>) -> rusqlite::Result<Vec<Reminder>> {
    let cutoff = format_timestamp(now - after);
    let mut query = conn.prepare_cached(
        "SELECT id, summary, requested_by, requested_at FROM approvals
          WHERE status = 'pending' AND requested_at <= ?1 ORDER BY requested_at, id LIMIT ?2",
    )?;
    let rows = query.query_map(rusqlite::params![cutoff, MAX_REMINDED], |r| {
        Ok(Reminder { approval: r.get(0)?, summary: r.get(1)?, requested_by: r.get(2)?, requested_at: r.get(3)? })
    })?;
    rows.collect()
}
