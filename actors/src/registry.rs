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
    pub const NOTIFIER: &str = "notifier";
    pub const PITR: &str = "pitr_shipper";
    pub const SINKS: &str = "sink_delivery";
}

/// How often each actor says it is alive (from its own context, so a stuck actor stops beating).
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a declared long operation may go without heartbeats before the actor counts as stuck.
pub const BUSY_LIMIT_MINUTES: i64 = 60;

/// Marks an actor busy until dropped (then running again, with a fresh heartbeat).
pub struct BusyGuard {
    registry: ActorRegistry,
    actor: &'static str,
}

impl Drop for BusyGuard {
    /// Back to running, unless the operation ended worse (an escalation marked the actor failed).
    fn drop(&mut self) {
        let still_busy = self.registry.status(self.actor).is_some_and(|s| s.state == ActorState::Busy);
        if still_busy {
            self.registry.running(self.actor);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorState {
    Starting,
    Running,
    /// Running a long operation on its own thread (a vacuum, a restore's file swap): alive without beats.
    Busy,
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
    /// The last heartbeat from the actor's own context.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// The long operation running off the actor's loop (`"backup create since …"`), if any.
    pub operation: Option<String>,
}

/// Clears the actor's operation when dropped (the work ended, failed or was cancelled).
pub struct OperationGuard {
    registry: ActorRegistry,
    actor: &'static str,
}

impl Drop for OperationGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.registry.lock().actors.get_mut(self.actor) {
            entry.operation = None;
        }
    }
}

#[derive(Default)]
struct Inner {
    actors: BTreeMap<&'static str, ActorStatus>,
    /// Actors whose next real handler body panics (drills only).
    #[cfg(feature = "fault-injection")]
    armed: std::collections::BTreeSet<&'static str>,
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
            last_heartbeat: None,
            operation: None,
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
        self.heartbeat(actor);
    }

    /// A long operation starts on `actor`'s thread: it will not beat until the guard is dropped.
    pub fn busy(&self, actor: &'static str, what: &str) -> BusyGuard {
        tracing::info!(actor, what, "Long operation; heartbeats pause until it ends.");
        self.set(actor, ActorState::Busy, None, false);
        BusyGuard { registry: self.clone(), actor }
    }

    /// An operation starts off `actor`'s loop (the actor keeps beating); shown in the health report.
    pub fn begin(&self, actor: &'static str, what: &str) -> OperationGuard {
        let text = format!("{what} since {}", crate::domain::format_timestamp(Utc::now()));
        if let Some(entry) = self.lock().actors.get_mut(actor) {
            entry.operation = Some(text);
        }
        OperationGuard { registry: self.clone(), actor }
    }

    /// A handler panicked: kept as the last error, which the restart then reports.
    pub fn failed_in_handler(&self, actor: &'static str, panic: &str) {
        if let Some(entry) = self.lock().actors.get_mut(actor) {
            entry.last_error = Some(format!("handler panicked: {panic}"));
        }
    }

    /// Drills: the next real handler body of `actor` that passes a fault point panics.
    #[cfg(feature = "fault-injection")]
    pub fn arm_panic(&self, actor: &'static str) {
        self.lock().armed.insert(actor);
    }

    /// True once after `arm_panic(actor)`.
    #[cfg(feature = "fault-injection")]
    pub fn take_armed(&self, actor: &'static str) -> bool {
        self.lock().armed.remove(actor)
    }

    pub fn heartbeat(&self, actor: &'static str) {
        if let Some(entry) = self.lock().actors.get_mut(actor) {
            entry.last_heartbeat = Some(Utc::now());
        }
    }

    /// Starts `actor`'s heartbeat in its own context; call from `started()`.
    pub fn beat<A>(&self, actor: &'static str, ctx: &mut A::Context)
    where
        A: actix::Actor,
        A::Context: actix::AsyncContext<A>,
    {
        use actix::AsyncContext;
        self.running(actor);
        let registry = self.clone();
        ctx.run_interval(HEARTBEAT_EVERY, move |_, _| registry.heartbeat(actor));
    }

    /// `Ok` when every actor runs and beat within `stale_after`; else the first problem found.
    pub fn all_alive(&self, stale_after: chrono::Duration) -> Result<(), String> {
        let now = Utc::now();
        for (name, status) in self.lock().actors.iter() {
            if status.state == ActorState::Busy {
                if now - status.since > chrono::Duration::minutes(BUSY_LIMIT_MINUTES) {
                    return Err(format!("{name} has been busy for over {BUSY_LIMIT_MINUTES} minutes"));
                }
                continue;
            }
            if status.state != ActorState::Running {
                return Err(format!("{name} is {:?}", status.state).to_lowercase());
            }
            match status.last_heartbeat {
                Some(at) if now - at <= stale_after => {}
                Some(at) => return Err(format!("{name} last beat {} s ago", (now - at).num_seconds())),
                None => return Err(format!("{name} never beat")),
            }
        }
        Ok(())
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

    #[test]
    fn all_alive_needs_running_actors_with_fresh_heartbeats() {
        let registry = ActorRegistry::new();
        registry.running(names::WRITER);
        registry.running(names::RUNNER);
        assert_eq!(registry.all_alive(chrono::Duration::seconds(30)), Ok(()));
        assert!(registry.all_alive(chrono::Duration::milliseconds(-1)).unwrap_err().contains("last beat"));
        registry.restarting(names::RUNNER, None);
        assert_eq!(registry.all_alive(chrono::Duration::seconds(30)), Err("runner is restarting".into()));
    }

    #[test]
    fn a_busy_actor_is_alive_without_heartbeats_and_beats_again_after() {
        let registry = ActorRegistry::new();
        registry.running(names::WRITER);
        let stale = chrono::Duration::milliseconds(-1); // every heartbeat counts as stale
        assert!(registry.all_alive(stale).is_err());
        let guard = registry.busy(names::WRITER, "vacuum");
        assert_eq!(registry.all_alive(stale), Ok(()), "declared busy: alive");
        drop(guard);
        assert_eq!(registry.status(names::WRITER).unwrap().state, ActorState::Running);
        assert!(registry.all_alive(chrono::Duration::seconds(30)).is_ok(), "a fresh heartbeat on return");
        let guard = registry.busy(names::WRITER, "restore");
        registry.escalate(names::WRITER, "cannot reopen".into());
        drop(guard);
        assert_eq!(registry.status(names::WRITER).unwrap().state, ActorState::Failed, "a failure is not undone");
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
