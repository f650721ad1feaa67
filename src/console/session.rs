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
    /// What a refused form held, for its page to show again (one at a time).
    draft: Option<Draft>,
}

/// A refused form's fields, kept for the page at `path` (the page the form was on) and the form that
/// posts to `action` on it (a page may hold many forms: one resolve form per error).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub path: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Draft {
    /// The fields of a form body worth giving back: never its CSRF token, nor anything named like a
    /// credential (a draft is echoed into a page).
    pub fn of(path: &str, action: &str, body: &[u8]) -> Self {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        Self::from_fields(path, action, fields)
    }

    pub fn from_fields(path: &str, action: &str, fields: Vec<(String, String)>) -> Self {
        let secret = |name: &str| ["csrf", "token", "secret", "password"].iter().any(|s| name.contains(s));
        let fields = fields.into_iter().filter(|(name, _)| !secret(name)).collect();
        Self { path: path.to_owned(), action: action.to_owned(), fields }
    }

    /// The kept value of one field of the form posting to `action` (or below it: a form whose two
    /// buttons post to `…/approve` and `…/reject` asks with `…/`).
    pub fn get(&self, action: &str, name: &str) -> Option<&str> {
        if !(self.action == action || action.ends_with('/') && self.action.starts_with(action)) {
            return None;
        }
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
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
        let session =
            Session { token_hash, csrf: random_token(), began: now, last_seen: now, flash: None, draft: None };
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

    /// Keeps a refused form's fields for its page.
    pub fn keep_draft(&self, id: &str, draft: Draft) {
        if let Some(session) = self.table().get_mut(id) {
            session.draft = Some(draft);
        }
    }

    /// Takes the kept draft when it belongs to the page at `path` (another page leaves it for later).
    pub fn take_draft(&self, id: &str, path: &str) -> Option<Draft> {
        let mut table = self.table();
        let session = table.get_mut(id)?;
        if session.draft.as_ref().is_some_and(|d| d.path == path) {
            session.draft.take()
        } else {
            None
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
    fn a_draft_keeps_what_was_typed_but_never_a_token_and_goes_only_to_its_page() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let id = sessions.begin("hash".into());
        let body = b"csrf=x&notes=caf%C3%A9+%3Cb%3E&token=t&new_password=p";
        let draft = Draft::of("/console/approvals/a", "/console/approvals/a/approve", body);
        assert_eq!(draft.fields, [("notes".to_owned(), "café <b>".to_owned())]);
        assert_eq!(draft.get("/console/approvals/a/approve", "notes"), Some("café <b>"));
        assert_eq!(draft.get("/console/approvals/b/approve", "notes"), None, "another form's field");
        sessions.keep_draft(&id, draft.clone());
        assert_eq!(sessions.take_draft(&id, "/console/runs"), None, "another page leaves it");
        assert_eq!(sessions.take_draft(&id, "/console/approvals/a"), Some(draft));
        assert_eq!(sessions.take_draft(&id, "/console/approvals/a"), None, "shown once");
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
