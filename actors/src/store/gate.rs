//! The approval gate, inside the writer: a change the policy gates is applied only as the applying of
//! an approved request, whatever door sent it. The doors keep their own check (`http/gate.rs`) for the
//! friendlier answer (a 202 with the approval); this one makes a door that skips it harmless. The
//! policy is config, held like the quorum as a TEMP table on the writer's connection.
//!
//! `apply` runs [`check`] on every command a door sends, for the actor's role (its token's; any other name,
//! such as Atlas's own actors, acts as an admin); only the applying of an approved request
//! (`apply_approved`) skips it. `[approvals] allow_self_approval` is read here too, from the same TEMP
//! tables: a door's own flag can only make it stricter, never looser.

use crate::domain::{Actor, ApprovalPolicy, Command, CommandError};
use rusqlite::{Connection, OptionalExtension};

/// Installs the policy's rules and whether a requester may approve their own request.
pub fn install(conn: &Connection, policy: &ApprovalPolicy, allow_self_approval: bool) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS gate_rules (item_type TEXT NOT NULL, action TEXT NOT NULL, role TEXT NOT NULL);
         DELETE FROM temp.gate_rules;
         CREATE TEMP TABLE IF NOT EXISTS gate_self_approval (allowed INTEGER NOT NULL);
         DELETE FROM temp.gate_self_approval;",
    )?;
    conn.execute("INSERT INTO temp.gate_self_approval (allowed) VALUES (?1)", [allow_self_approval])?;
    let mut add = conn.prepare("INSERT INTO temp.gate_rules (item_type, action, role) VALUES (?1, ?2, ?3)")?;
    for (item_type, action, role) in policy.patterns() {
        add.execute(rusqlite::params![item_type, action, role])?;
    }
    Ok(())
}

/// Refuses a change `actor` may not make without an approval. The actor's role is its token's (a revoked
/// token's too); any other name (Atlas's own actors, the CLI, a test's writer) acts as an admin: every
/// door names the caller's token, and the rules that gate every role (the default `*:execute`,
/// `*:delete`) hold for all. A connection without the rules (unit tests of the apply functions) gates
/// nothing.
pub fn check(conn: &Connection, command: &Command, actor: &Actor) -> Result<(), CommandError> {
    let Some((item_type, action, _)) = command.target() else { return Ok(()) };
    let storage = |err: rusqlite::Error| CommandError::Storage(err.to_string());
    if !super::quorum::installed(conn, "gate_rules").map_err(storage)? {
        return Ok(());
    }
    let token_role: Option<String> = conn
        .prepare_cached("SELECT role FROM api_tokens WHERE name = ?1")
        .and_then(|mut stmt| stmt.query_row([actor.as_str()], |r| r.get(0)).optional())
        .map_err(storage)?;
    let role = token_role.unwrap_or_else(|| "admin".to_owned());
    let gated: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM temp.gate_rules
                             WHERE item_type IN (?1, '*') AND action IN (?2, '*') AND role IN (?3, '*'))",
        )
        .and_then(|mut stmt| stmt.query_row([item_type.to_string(), action.to_string(), role.clone()], |r| r.get(0)))
        .map_err(storage)?;
    if gated {
        return Err(CommandError::Forbidden(format!(
            "{} ({role}) may not {action} a {item_type} without an approval: the approval policy gates it; \
             request one",
            actor.as_str()
        )));
    }
    Ok(())
}

/// Whether `[approvals] allow_self_approval` lets a requester approve their own request: decided here
/// for every door (a door's own flag can only make it stricter). A connection without the setting (unit
/// tests of the apply functions) leaves it to the command.
pub fn self_approval_allowed(conn: &Connection) -> Result<bool, CommandError> {
    let storage = |err: rusqlite::Error| CommandError::Storage(err.to_string());
    if !super::quorum::installed(conn, "gate_self_approval").map_err(storage)? {
        return Ok(true);
    }
    conn.query_row("SELECT coalesce(max(allowed), 0) FROM temp.gate_self_approval", [], |r| r.get(0)).map_err(storage)
}
