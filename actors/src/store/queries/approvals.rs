//! Approval reads.

use super::decode;
use super::notes::{self, NoteSubject};
use super::paging::{Cursor, Listed, Order, PageRequest, Select};
use crate::domain::{Approval, ApprovalId, ApprovalStatus, ItemType};
use rusqlite::{Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, item_type, item_id, action, summary, payload, payload_hash, target_version, status, \
                       requested_at, requested_by, reviewed_at, reviewed_by, closed_reason, required_reviews";

/// The row without its notes (they are loaded separately).
fn from_row(row: &Row<'_>) -> rusqlite::Result<Approval> {
    Ok(Approval {
        id: decode(0, ApprovalId::parse(&row.get::<_, String>(0)?))?,
        item_type: decode(1, row.get::<_, String>(1)?.parse())?,
        item_id: row.get(2)?,
        action: decode(3, row.get::<_, String>(3)?.parse())?,
        summary: row.get(4)?,
        payload: decode(5, serde_json::from_str(&row.get::<_, String>(5)?))?,
        payload_hash: row.get(6)?,
        target_version: row.get(7)?,
        status: decode(8, row.get::<_, String>(8)?.parse())?,
        requested_at: row.get(9)?,
        requested_by: row.get(10)?,
        reviewed_at: row.get(11)?,
        reviewed_by: row.get(12)?,
        closed_reason: row.get(13)?,
        notes: Vec::new(),
        required_reviews: row.get(14)?,
        approved_by: Vec::new(),
    })
}

/// Notes and the reviews given so far are loaded beside the row.
fn with_notes(conn: &Connection, mut approval: Approval) -> rusqlite::Result<Approval> {
    approval.notes = notes::for_subject(conn, NoteSubject::Approval, approval.id.as_str())?;
    approval.approved_by = conn
        .prepare_cached("SELECT reviewer FROM approval_reviews WHERE approval_id = ?1 ORDER BY reviewed_at, reviewer")?
        .query_map([approval.id.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(approval)
}

pub fn get(conn: &Connection, id: &ApprovalId) -> rusqlite::Result<Option<Approval>> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
        .query_row([id.as_str()], from_row)
        .optional()?;
    found.map(|approval| with_notes(conn, approval)).transpose()
}

/// The stored payload text exactly as written (the hash covers these bytes).
pub fn raw_payload(conn: &Connection, id: &ApprovalId) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT payload FROM approvals WHERE id = ?1")?
        .query_row([id.as_str()], |row| row.get(0))
        .optional()
}

/// The audit event the approval's change wrote when it applied (none before it applied, or when it was
/// decided before migration 0015): its `before` is the target as it was decided.
pub fn applied_event(conn: &Connection, id: &ApprovalId) -> rusqlite::Result<Option<super::events::Event>> {
    let event_id: Option<i64> = conn
        .prepare_cached("SELECT applied_event_id FROM approvals WHERE id = ?1")?
        .query_row([id.as_str()], |row| row.get(0))
        .optional()?
        .flatten();
    event_id.map(|event_id| super::events::get(conn, event_id)).transpose().map(Option::flatten)
}

/// How many pending approvals `reviewer` could decide now: not ones they requested (unless self-approval
/// is allowed), not ones they already approved on the way to a quorum.
pub fn waiting_for(conn: &Connection, reviewer: &str, self_approval: bool) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT count(*) FROM approvals a WHERE a.status = 'pending' AND (?2 OR a.requested_by <> ?1) \
         AND NOT EXISTS (SELECT 1 FROM approval_reviews r WHERE r.approval_id = a.id AND r.reviewer = ?1)",
    )?
    .query_row(rusqlite::params![reviewer, self_approval], |row| row.get(0))
}

/// How many approvals have been pending since before `cutoff` (what expiring at `cutoff` would close).
pub fn count_pending_before(conn: &Connection, cutoff: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM approvals WHERE status = 'pending' AND requested_at < ?1")?
        .query_row([cutoff], |row| row.get(0))
}

#[derive(Clone, Debug, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    pub item_type: Option<ItemType>,
    /// Newest request first (a history), or oldest first (the queue a reviewer works through).
    pub order: Order,
}

/// Approvals, in the filter's order of request.
pub fn list(conn: &Connection, filter: &ApprovalFilter, page: &PageRequest) -> rusqlite::Result<Listed<Approval>> {
    let listed = Select::new(format!("SELECT {COLUMNS} FROM approvals WHERE 1 = 1"))
        .eq("status", filter.status.map(|s| s.as_str().to_owned()))
        .eq("item_type", filter.item_type.map(|t| t.as_str().to_owned()))
        .page_in(conn, ("requested_at", "id", false), filter.order, page, from_row, |a| Cursor {
            at: a.requested_at.clone(),
            id: a.id.to_string(),
        })?;
    let items = listed.items.into_iter().map(|a| with_notes(conn, a)).collect::<rusqlite::Result<_>>()?;
    Ok(Listed { items, next_cursor: listed.next_cursor })
}

/// Pending approvals requested before `cutoff`, oldest first.
pub fn pending_before(conn: &Connection, cutoff: &str) -> rusqlite::Result<Vec<ApprovalId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM approvals WHERE status = 'pending' AND requested_at < ?1 ORDER BY requested_at",
    )?;
    let rows = stmt.query_map([cutoff], |row| decode(0, ApprovalId::parse(&row.get::<_, String>(0)?)))?;
    rows.collect()
}
