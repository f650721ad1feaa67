//! The quorum rules, inside the writer: a TEMP table on its connection (config, not data, like the sink
//! routes), read when an approval is requested to fix how many distinct approvals it needs.
//!
//! `[approvals] quorum` parses into `domain::Quorum`. A request stores its `required_reviews`; each
//! approving review is a row of `approval_reviews`, and the review that reaches the number applies the
//! change in its own transaction (`apply/approvals.rs`). Every door (HTTP, console, the Sheet's reviewer
//! columns) sends the same `ReviewApproval`, so the rule is the writer's, not each door's. Each review is
//! checked against the pinned payload and target version; the requester never counts toward a quorum
//! above one; one rejection rejects.

use crate::domain::{ItemAction, ItemType, Quorum};
use rusqlite::{Connection, OptionalExtension};

pub fn install(conn: &Connection, quorum: &Quorum) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS quorum_rules (item_type TEXT NOT NULL, action TEXT NOT NULL, required INTEGER NOT NULL);
         DELETE FROM temp.quorum_rules;",
    )?;
    let mut add = conn.prepare("INSERT INTO temp.quorum_rules (item_type, action, required) VALUES (?1, ?2, ?3)")?;
    for (item_type, action, required) in quorum.rules() {
        add.execute(rusqlite::params![item_type, action, required])?;
    }
    Ok(())
}

/// Approvals a change needs: the largest matching rule's number, else 1 (also on a connection without
/// the rules, as in unit tests of the apply functions).
pub fn required(conn: &Connection, item_type: ItemType, action: ItemAction) -> rusqlite::Result<u32> {
    if !installed(conn, "quorum_rules")? {
        return Ok(1);
    }
    conn.prepare_cached(
        "SELECT coalesce(max(required), 1) FROM temp.quorum_rules
          WHERE item_type IN (?1, '*') AND action IN (?2, '*')",
    )?
    .query_row([item_type.as_str(), action.as_str()], |r| r.get(0))
}

/// Whether this connection holds the TEMP table `name` (the writer's does; a unit test's may not).
pub(crate) fn installed(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM sqlite_temp_schema WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}
