//! API token mutations. Only the hash is stored; the event leaves even that out.

use super::{snapshot, storage, Touched};
use crate::domain::{Actor, ApiToken, Applied, CommandError, Role};
use crate::store::queries::tokens;
use rusqlite::{params, Connection};

fn load(conn: &Connection, name: &str) -> Result<ApiToken, CommandError> {
    tokens::get(conn, name).map_err(storage)?.ok_or_else(|| CommandError::not_found("token", name))
}

pub(super) fn create(
    conn: &Connection,
    name: &str,
    role: Role,
    token_hash: &str,
    actor: &Actor,
    now: &str,
) -> Result<Touched, CommandError> {
    if tokens::get(conn, name).map_err(storage)?.is_some() {
        return Err(CommandError::Conflict(format!("a token named {name} already exists (names are never reused)")));
    }
    if token_hash.len() != 64 || !token_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CommandError::invalid("token_hash", "must be a SHA-256 hex digest"));
    }
    conn.prepare_cached(
        "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| stmt.execute(params![name, role.as_str(), token_hash, now, actor.as_str()]))
    .map_err(storage)?;
    Ok(Touched::new("token", name, None, Applied::Token(load(conn, name)?)))
}

pub(super) fn revoke(conn: &Connection, name: &str, now: &str) -> Result<Touched, CommandError> {
    let current = load(conn, name)?;
    if let Some(at) = &current.revoked_at {
        return Err(CommandError::Conflict(format!("token {name} was already revoked at {at}")));
    }
    if current.role == Role::Admin {
        // Only tokens that can sign in count: a reserved name (an old row named like Atlas's own actors)
        // is refused at every request.
        let other_admins: Vec<String> = conn
            .prepare_cached("SELECT name FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND name != ?1")
            .and_then(|mut stmt| stmt.query_map([name], |row| row.get(0))?.collect())
            .map_err(storage)?;
        if other_admins.iter().all(|other| crate::domain::access::is_reserved_actor(other)) {
            return Err(CommandError::Conflict(format!(
                "token {name} is the last admin token: revoking it would leave nobody able to administer Atlas; \
                 create another admin token first (atlas token create --name NAME --role admin)"
            )));
        }
    }
    conn.prepare_cached("UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1")
        .and_then(|mut stmt| stmt.execute(params![name, now]))
        .map_err(storage)?;
    Ok(Touched::new("token", name, snapshot(&current), Applied::Token(load(conn, name)?)))
}
