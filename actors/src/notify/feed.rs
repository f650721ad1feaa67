//! The news read from the audit trail: each committed event of a kind a route may name, in commit order,
//! after the Notifier's cursor (`notify_cursor`, kept by the writer's bookkeeping). Reading events,
//! not hooking commands, means news is told only of what committed, and a restart picks up where the
//! last message left off: an event is told at least once (twice only if Atlas stops between sending
//! and keeping the cursor).

use super::Kind;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

/// The event types the feed reads.
const TYPES: &str =
    "'approval.requested', 'approval.approved', 'approval.rejected', 'run.failed', 'run.timed_out', 'error.recorded', 'error.alert_firing'";

/// Events read per look.
const BATCH: i64 = 100;

/// One event's news.
#[derive(Clone, Debug, PartialEq)]
pub struct News {
    pub event_id: i64,
    pub kind: Kind,
    /// The event's type (`approval.approved`, …).
    pub event_type: String,
    /// Who did it (the event's actor).
    pub actor: String,
    pub at: String,
    /// The record as the event left it (`after`).
    pub record: Value,
    /// How the command came (`via`), when it says.
    pub via: Option<String>,
}

/// Where the feed stands: the last event told, or `None` on a database that never had a Notifier
/// (then it starts at the newest event: history is not news).
pub fn cursor(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT last_event_id FROM notify_cursor WHERE id = 1", [], |r| r.get(0)).optional()
}

/// Who took which event's news after `after` (`notify_sent`), as (event id, recipient key).
pub fn sent_after(conn: &Connection, after: i64) -> rusqlite::Result<std::collections::HashSet<(i64, String)>> {
    let mut read = conn.prepare_cached("SELECT event_id, target FROM notify_sent WHERE event_id > ?1")?;
    let rows = read.query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The newest event's id (0 in an empty database).
pub fn newest(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))
}

/// The news after event `after`, oldest first, at most a batch; an event of a read type that is not
/// news (an error that is not critical) is passed over. Returns the news, the last event id looked at,
/// and whether the batch was full (more may follow).
pub fn after(conn: &Connection, after: i64) -> rusqlite::Result<(Vec<News>, i64, bool)> {
    let mut read = conn.prepare_cached(&format!(
        "SELECT id, type, actor, created_at, payload FROM events WHERE id > ?1 AND type IN ({TYPES}) ORDER BY id LIMIT ?2"
    ))?;
    let rows = read.query_map([after, BATCH], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut news = Vec::new();
    let (mut last, mut seen) = (after, 0);
    for row in rows {
        let (event_id, event_type, actor, at, payload) = row?;
        (last, seen) = (event_id, seen + 1);
        let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
        let record = payload.get("after").cloned().unwrap_or(Value::Null);
        let kind = match event_type.as_str() {
            "approval.requested" => Kind::ApprovalRequested,
            "approval.approved" | "approval.rejected" => Kind::ApprovalDecided,
            "run.failed" | "run.timed_out" => Kind::RunFailed,
            _ if record.get("severity").and_then(Value::as_str) == Some("critical") => Kind::CriticalError,
            _ => continue,
        };
        let via = payload.pointer("/command/via").and_then(Value::as_str).map(str::to_owned);
        news.push(News { event_id, kind, event_type, actor, at, record, via });
    }
    Ok((news, last, seen == BATCH))
}

/// Who may decide approval `id` and has an address: live tokens whose role reviews, not its requester,
/// not one who already reviewed it. (token name, token hash, address), by name.
pub fn reviewers(
    conn: &Connection,
    approval: &str,
    addresses: &std::collections::BTreeMap<String, String>,
) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut read = conn.prepare_cached(
        "SELECT t.name, t.token_hash FROM api_tokens t, approvals a
          WHERE a.id = ?1 AND a.status = 'pending' AND t.revoked_at IS NULL AND t.role IN ('approver', 'admin')
            AND t.name <> a.requested_by
            AND NOT EXISTS (SELECT 1 FROM approval_reviews r WHERE r.approval_id = a.id AND r.reviewer = t.name)
          ORDER BY t.name",
    )?;
    let rows = read.query_map([approval], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, hash) = row?;
        if crate::domain::access::is_reserved_actor(&name) {
            continue;
        }
        if let Some(address) = addresses.get(&name) {
            out.push((name, hash, address.clone()));
        }
    }
    Ok(out)
}

/// Whether `reviewer` may still decide approval `id`: it waits, their token is live, they have not
/// reviewed it (the role and the requester were checked when the recipients were chosen).
pub fn may_decide(conn: &Connection, id: &str, reviewer: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM approvals a, api_tokens t
          WHERE a.id = ?1 AND a.status = 'pending' AND t.name = ?2 AND t.revoked_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM approval_reviews r WHERE r.approval_id = a.id AND r.reviewer = t.name))",
        [id, reviewer],
        |r| r.get(0),
    )
}

/// An approval as a record (the reminder's and a link page's view), if it exists.
pub fn approval(conn: &Connection, id: &str) -> rusqlite::Result<Option<Value>> {
    conn.query_row(
        "SELECT json_object('id', id, 'summary', summary, 'requested_by', requested_by, 'requested_at', requested_at,
                            'status', status, 'required_reviews', required_reviews)
           FROM approvals WHERE id = ?1",
        [id],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map(|found| found.and_then(|text| serde_json::from_str(&text).ok()))
}
