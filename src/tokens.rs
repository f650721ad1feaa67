//! Making tokens: 256 random bits, shown once, stored as a hash. Shared by the CLI, the admin API and the
//! first-start bootstrap.

use atlas_actors::domain::{token_hash, Command, Role};

/// A fresh token: `atlas_` and 64 hex characters (256 bits from the OS).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    format!("atlas_{}", hex_encode(&bytes))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token and the command that stores its hash.
pub fn new_token_command(name: &str, role: Role) -> (String, Command) {
    let token = generate();
    let command = Command::CreateToken { name: name.to_owned(), role, token_hash: token_hash(&token) };
    (token, command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_only_their_hash_is_in_the_command() {
        let (a, command) = new_token_command("ci", Role::Agent);
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), "atlas_".len() + 64);
        let Command::CreateToken { token_hash: stored, .. } = &command else { panic!("a token command") };
        assert_eq!(*stored, token_hash(&a));
        assert!(!serde_json::to_string(&command.audit_payload()).unwrap().contains(stored.as_str()));
    }
}
