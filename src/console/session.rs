//! Console sign-ins: server-side records behind an opaque cookie. The cookie carries only a random id;
//! the record holds the token's hash (never the token), the CSRF token and the expiry clocks. Records
//! live in memory, so a restart signs everyone out; each request still re-checks the token itself, so a
//! revoked token ends its sessions at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "atlas_session";
/// The sign-in form's double-submit cookie (there is no session yet to hold its CSRF token).
pub const LOGIN_COOKIE: &str = "atlas_login";
/// Sessions held at most; beyond it the least recently used is dropped.
const MAX_SESSIONS: usize = 10_000;
/// Sessions one token holds at most; its own least recently used goes first, so signing in over and over
/// with one token can never push anyone else's session out.
pub const MAX_SESSIONS_PER_TOKEN: usize = 10;

/// What a signed-in browser is.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the API token signed in with.
    pub token_hash: String,
    /// The synchronizer token every form of this session carries.
    pub csrf: String,
    began: Instant,
    last_seen: Instant,
    /// A one-time message for the next page (what the last action did).
    pub flash: Option<Flash>,
}

/// A message shown once, on the page after an action.
#[derive(Clone, Debug)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
    /// A secret shown this once (a token just created), never stored anywhere else.
    pub secret: Option<String>,
}

pub struct Sessions {
    idle: Duration,
    lifetime: Duration,
    live: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, hex: session ids and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    pub fn new(idle: Duration, lifetime: Duration) -> Self {
        Self { idle, lifetime, live: Mutex::default() }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn expired(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) >= self.idle || now.duration_since(session.began) >= self.lifetime
    }

    /// Starts a session for a token that just authenticated; answers the cookie value.
    pub fn begin(&self, token_hash: String) -> String {
        let now = Instant::now();
        let id = random_token();
        let session = Session { token_hash, csrf: random_token(), began: now, last_seen: now, flash: None };
        let mut table = self.table();
        let own = |s: &Session| s.token_hash == session.token_hash;
        if table.len() >= MAX_SESSIONS || table.values().filter(|s| own(s)).count() >= MAX_SESSIONS_PER_TOKEN {
            table.retain(|_, s| !self.expired(s, now));
        }
        while table.values().filter(|s| own(s)).count() >= MAX_SESSIONS_PER_TOKEN {
            let oldest =
                table.iter().filter(|(_, s)| own(s)).min_by_key(|(_, s)| s.last_seen).map(|(id, _)| id.clone());
            match oldest {
                Some(id) => table.remove(&id),
                None => break,
            };
        }
        if table.len() >= MAX_SESSIONS {
            if let Some(oldest) = table.iter().min_by_key(|(_, s)| s.last_seen).map(|(id, _)| id.clone()) {
                table.remove(&oldest);
            }
        }
        table.insert(id.clone(), session);
        id
    }

    /// The live session with this id, touched (its idle clock restarts); an expired one is ended.
    pub fn find(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut table = self.table();
        let session = table.get_mut(id)?;
        if self.expired(session, now) {
            table.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Whether the session is still live, without counting as use (an open live-log stream asks this).
    pub fn is_live(&self, id: &str) -> bool {
        let now = Instant::now();
        self.table().get(id).is_some_and(|s| !self.expired(s, now))
    }

    /// Takes the session's one-time message.
    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.table().get_mut(id).and_then(|s| s.flash.take())
    }

    pub fn set_flash(&self, id: &str, flash: Flash) {
        if let Some(session) = self.table().get_mut(id) {
            session.flash = Some(flash);
        }
    }

    /// Signs out.
    pub fn end(&self, id: &str) {
        self.table().remove(id);
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_when_idle_and_when_signed_out() {
        let sessions = Sessions::new(Duration::from_millis(40), Duration::from_secs(60));
        let id = sessions.begin("hash".into());
        assert!(sessions.find(&id).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(sessions.find(&id).is_none(), "an idle session must end");
        let id = sessions.begin("hash".into());
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn a_session_ends_at_its_lifetime_even_when_used() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_millis(50));
        let id = sessions.begin("hash".into());
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(20));
            let _ = sessions.find(&id);
        }
        assert!(sessions.find(&id).is_none(), "a used session must still end at its lifetime");
    }

    #[test]
    fn one_token_signing_in_again_and_again_drops_only_its_own_oldest_sessions() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let other = sessions.begin("someone else".into());
        let first = sessions.begin("loop".into());
        for _ in 0..MAX_SESSIONS_PER_TOKEN * 3 {
            sessions.begin("loop".into());
        }
        assert!(sessions.find(&other).is_some(), "another token's session survives");
        assert!(sessions.find(&first).is_none(), "the looping token's oldest went");
        let live = sessions.table().values().filter(|s| s.token_hash == "loop").count();
        assert_eq!(live, MAX_SESSIONS_PER_TOKEN);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
