//! API tokens and what each role may do. Tokens are stored only as a SHA-256 hash; the plain token is
//! shown once, when it is created.

use serde::Serialize;
use sha2::{Digest, Sha256};

string_enum!(
    /// A token's role.
    Role { Viewer => "viewer", Agent => "agent", Approver => "approver", Admin => "admin" }
);

/// Families of actions, checked against a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// GET anything outside /admin.
    Read,
    /// Create, update, delete, run: directly when ungated, as an approval request when gated.
    RequestChange,
    /// Approve or reject approvals.
    Review,
    /// Resolve Errors_Hotlist entries.
    ResolveErrors,
    /// /api/v1/admin/*: tokens, backups, database maintenance.
    Administer,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::RequestChange => "request changes",
            Self::Review => "approve or reject",
            Self::ResolveErrors => "resolve errors",
            Self::Administer => "administer",
        }
    }
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Viewer => permission == Read,
            Role::Agent => matches!(permission, Read | RequestChange),
            Role::Approver => matches!(permission, Read | Review | ResolveErrors),
        }
    }
}

/// A token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiToken {
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Names Atlas itself writes into the audit trail as actors. A token may never take one, or its
/// actions would be indistinguishable from Atlas's own (compared case-insensitively).
pub const RESERVED_ACTOR_NAMES: &[&str] = &[
    "atlas",
    "sheets",
    "sheets_sync",
    "system",
    "runner",
    "scheduler",
    "housekeeper",
    "backup",
    "health",
    "notifier",
    "writer",
    "cli",
    "root",
];

/// True when `name` is one of Atlas's own actor names.
pub fn is_reserved_actor(name: &str) -> bool {
    RESERVED_ACTOR_NAMES.iter().any(|reserved| reserved.eq_ignore_ascii_case(name.trim()))
}

/// A name a new token may take: well-formed and not one of Atlas's own actors.
pub fn validate_new_token_name(name: &str) -> Result<(), String> {
    validate_token_name(name)?;
    if name.chars().all(|c| c == '.') {
        // A path segment of dots is rewritten by browsers and proxies: its console links could never work.
        return Err(format!("{name:?} is only dots; choose a name with a letter or digit"));
    }
    if is_reserved_actor(name) {
        return Err(format!("{name:?} is reserved for Atlas's own actions; choose another name"));
    }
    Ok(())
}

/// Token names become audit actors (`actor = token name`), so they are short and plain.
pub fn validate_token_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be 1 to 64 characters of letters, digits, '-', '_', '.' or '@', got {}",
            super::text::clip(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix() {
        use Permission::*;
        let all = [Read, RequestChange, Review, ResolveErrors, Administer];
        let allowed = |role: Role| all.iter().filter(|p| role.allows(**p)).count();
        assert_eq!(allowed(Role::Viewer), 1);
        assert!(Role::Agent.allows(RequestChange) && !Role::Agent.allows(Review));
        assert!(Role::Approver.allows(Review) && Role::Approver.allows(ResolveErrors));
        assert!(!Role::Approver.allows(RequestChange) && !Role::Approver.allows(Administer));
        assert_eq!(allowed(Role::Admin), all.len());
    }

    #[test]
    fn hashes_are_stable_hex_and_names_are_checked() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(validate_token_name("ci-bot@ops").is_ok());
        assert!(validate_token_name("has space").is_err());
        assert!(validate_token_name("").is_err());
        for reserved in ["sheets", "System", "runner", "scheduler", "housekeeper", "backup", "atlas", "cli"] {
            assert!(validate_new_token_name(reserved).unwrap_err().contains("reserved"), "{reserved}");
        }
        assert!(validate_new_token_name("sheets-reviewer").is_ok());
    }
}
