//! Approval links: a URL that lets one reviewer make one decision on one approval, sent to that reviewer
//! only. The link carries its claim (approval, reviewer, the reviewer's token as a tag, decision, expiry)
//! and an HMAC-SHA256 of it under a key kept in the data directory (`link.key`, never in the database, so
//! a copied database cannot mint links). A link proves only what it says; whether it may still be used
//! (pending, not yet reviewed by this reviewer, token live with a reviewing role) is decided when it is
//! used (`src/console/pages/link.rs`), and the decision itself is the reviewer's `ReviewApproval`.

use crate::domain::command::Decision;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

/// The key's file in the data directory. Deleting it (with Atlas stopped) kills every link sent.
pub const KEY_FILE: &str = "link.key";

/// How many hex digits of the reviewer's token hash a link carries: a new token (names are never
/// reused, so a new token is a new name) or a revoked one never matches.
const TAG_LEN: usize = 16;

/// The signing key.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    /// The data directory's key, made (readable by Atlas's user only) the first time. Two processes
    /// starting at once agree on one: the key is published with a hard link, which never replaces.
    pub fn of_data_dir(dir: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(KEY_FILE);
        if !path.exists() {
            let staged = dir.join(format!("{KEY_FILE}.{}.tmp", std::process::id()));
            let key: [u8; 32] = rand::random();
            let mut file =
                std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&staged)?;
            std::io::Write::write_all(&mut file, hex::encode(key).as_bytes())?;
            file.sync_all()?;
            let published = std::fs::hard_link(&staged, &path);
            std::fs::remove_file(&staged)?;
            match published {
                // Info, not a warning: every first start makes one. After a removed key it explains
                // why links sent before stopped working.
                Ok(()) => tracing::info!(
                    file = %path.display(),
                    "Made a new key for approval links (a first start, or the old key was removed: links sent under it no longer work)."
                ),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
        let text = std::fs::read_to_string(&path)?;
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not 64 hex digits; delete it to make a new key (every link sent dies)", path.display()),
            )
        })?;
        let mut key = [0; 32];
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// A key for unit tests.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

/// What a link lets its holder do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub approval: String,
    pub reviewer: String,
    /// The start of the reviewer's token hash when the link was made.
    pub token_tag: String,
    pub decision: Decision,
    /// Unix seconds.
    pub expires: i64,
}

impl Claim {
    pub fn new(approval: &str, reviewer: &str, token_hash: &str, decision: Decision, expires: i64) -> Self {
        Self {
            approval: approval.to_owned(),
            reviewer: reviewer.to_owned(),
            token_tag: token_hash.chars().take(TAG_LEN).collect(),
            decision,
            expires,
        }
    }

    /// Whether `token_hash` is the token the link was made for.
    pub fn names_token(&self, token_hash: &str) -> bool {
        self.token_tag.len() == TAG_LEN && token_hash.starts_with(&self.token_tag)
    }

    fn encoded(&self) -> String {
        let decision = match self.decision {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        };
        // Newlines cannot be in an id or a token name, so the fields cannot run into each other.
        let text =
            [self.approval.as_str(), &self.reviewer, &self.token_tag, decision, &self.expires.to_string()].join("\n");
        URL_SAFE_NO_PAD.encode(text)
    }

    /// The link's secret part: `<claim>.<signature>`, URL-safe.
    pub fn sign(&self, key: &LinkKey) -> String {
        let claim = self.encoded();
        let mut mac = key.mac();
        mac.update(claim.as_bytes());
        format!("{claim}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The claim a link makes, if `key` signed it (compared in constant time). Expiry is the caller's.
    pub fn verify(link: &str, key: &LinkKey) -> Option<Self> {
        let (claim, signature) = link.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = key.mac();
        mac.update(claim.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(claim).ok()?).ok()?;
        let fields: Vec<&str> = text.split('\n').collect();
        let [approval, reviewer, tag, decision, expires] = fields.as_slice() else { return None };
        let decision = match *decision {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            _ => return None,
        };
        Some(Self {
            approval: (*approval).to_owned(),
            reviewer: (*reviewer).to_owned(),
            token_tag: (*tag).to_owned(),
            decision,
            expires: expires.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_under_its_key_only_and_any_changed_character_breaks_it() {
        let key = LinkKey::from_bytes([7; 32]);
        let claim = Claim::new("apr_1", "alice", &"ab".repeat(32), Decision::Approve, 1_900_000_000);
        let link = claim.sign(&key);
        assert_eq!(Claim::verify(&link, &key), Some(claim.clone()));
        assert_eq!(Claim::verify(&link, &LinkKey::from_bytes([8; 32])), None, "another key");
        let reject = Claim { decision: Decision::Reject, ..claim.clone() }.sign(&key);
        let (their_claim, _) = reject.split_once('.').unwrap();
        let (_, our_signature) = link.split_once('.').unwrap();
        assert_eq!(Claim::verify(&format!("{their_claim}.{our_signature}"), &key), None, "a claim swapped");
        for at in 0..link.len() {
            let mut bytes = link.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(changed == link || Claim::verify(&changed, &key).is_none(), "changed at {at}: {changed}");
        }
        assert!(claim.names_token(&"ab".repeat(32)) && !claim.names_token(&"cd".repeat(32)));
    }

    #[test]
    fn the_key_is_made_once_kept_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = LinkKey::of_data_dir(dir.path()).unwrap();
        let again = LinkKey::of_data_dir(dir.path()).unwrap();
        assert_eq!(first.0, again.0);
        let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(KEY_FILE), "short").unwrap();
        let err = LinkKey::of_data_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("delete it to make a new key"), "{err}");
    }
}
