//! Who is alive: each actor's state and restart count, and the one way to say "this process must die".
//! Shared by the actors (which report) and by Health and the supervisor (which read and escalate).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The names of the actors, fixed so reports are stable.
pub mod names {
    pub const WRITER: &str = "writer";
    pub const HEALTH: &str = "health";
    pub const RUNNER: &str = "runner";
    pub const SCHEDULER: &str = "scheduler";
    pub const HOUSEKEEPER: &str = "housekeeper";
    pub const SHEETS: &str = "sheets_sync";
    pub const BACKUP: &str = "backup";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorState {
    Starting,
    Running,
    Restarting,
    /// It could not be restarted; the process is exiting.
    Failed,
    Stopped,
}

/// One actor's entry in the report.
#[derive(Clone, Debug, Serialize)]
pub struct ActorStatus {
    pub state: ActorState,
    pub restarts: u64,
    pub last_error: Option<String>,
    pub since: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    actors: BTreeMap<&'static str, ActorStatus>,
}

/// Cheap to clone; every clone sees the same entries.
#[derive(Clone)]
pub struct ActorRegistry {
    inner: Arc<Mutex<Inner>>,
    fatal: Arc<watch::Sender<Option<String>>>,
}

impl Default for ActorRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl ActorRegistry {
    pub fn new() -> Self {
        Self { inner: Arc::default(), fatal: Arc::new(watch::channel(None).0) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not make the registry unreadable: the data is plain counters.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, actor: &'static str, state: ActorState, error: Option<String>, restarted: bool) {
        let mut inner = self.lock();
        let entry = inner.actors.entry(actor).or_insert_with(|| ActorStatus {
            state: ActorState::Starting,
            restarts: 0,
            last_error: None,
            since: Utc::now(),
        });
        if restarted {
            entry.restarts += 1;
        }
        if error.is_some() {
            entry.last_error = error;
        }
        if entry.state != state {
            entry.state = state;
            entry.since = Utc::now();
        }
    }

    pub fn running(&self, actor: &'static str) {
        self.set(actor, ActorState::Running, None, false);
    }

    /// Called from an actor's `restarting()`; counts the restart.
    pub fn restarting(&self, actor: &'static str, reason: Option<String>) {
        tracing::warn!(actor, reason = reason.as_deref().unwrap_or("stopped"), "Actor restarting.");
        self.set(actor, ActorState::Restarting, reason, true);
    }

    pub fn stopped(&self, actor: &'static str) {
        self.set(actor, ActorState::Stopped, None, false);
    }

    /// An actor that cannot go on: marks it failed and asks the process to exit non-zero.
    pub fn escalate(&self, actor: &'static str, reason: String) {
        tracing::error!(actor, %reason, "Actor cannot be restarted; the process will exit.");
        self.set(actor, ActorState::Failed, Some(reason.clone()), false);
        self.fatal.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(format!("{actor}: {reason}"));
                true
            } else {
                false
            }
        });
    }

    /// Resolves with the reason once any actor escalated.
    pub async fn fatal(&self) -> String {
        let mut rx = self.fatal.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return "actor registry closed".to_owned();
            }
        }
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, ActorStatus> {
        self.lock().actors.clone()
    }

    pub fn status(&self, actor: &str) -> Option<ActorStatus> {
        self.lock().actors.get(actor).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_are_counted_and_errors_kept() {
        let registry = ActorRegistry::new();
        registry.running(names::WRITER);
        registry.restarting(names::WRITER, Some("boom".into()));
        registry.running(names::WRITER);
        let status = registry.status(names::WRITER).unwrap();
        assert_eq!((status.state, status.restarts), (ActorState::Running, 1));
        assert_eq!(status.last_error.as_deref(), Some("boom"));
    }

    #[actix_rt::test]
    async fn the_first_escalation_wins() {
        let registry = ActorRegistry::new();
        registry.escalate(names::HEALTH, "gone".into());
        registry.escalate(names::WRITER, "later".into());
        assert_eq!(registry.fatal().await, "health: gone");
        assert_eq!(registry.status(names::HEALTH).unwrap().state, ActorState::Failed);
    }
}
