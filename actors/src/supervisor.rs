//! Starts every actor in order and watches them. Order matters: the writer creates (and migrates) the
//! database before the read-only pool opens it. An actor whose address dies for good (it escaped the
//! panic guard) is escalated, so the process exits non-zero and systemd restarts it.

use crate::domain::Clock;
use crate::health::{HealthConfig, HealthHandle};
use crate::registry::{names, ActorRegistry};
use crate::store::{ReaderPool, StoreConfig, WriterHandle};
use std::sync::Arc;
use std::time::Duration;

/// How often the supervisor looks for dead actors.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Clone, Debug, PartialEq)]
pub struct SupervisorConfig {
    pub store: StoreConfig,
    pub health: HealthConfig,
}

/// Handles to everything that runs. Cloning is cheap.
#[derive(Clone)]
pub struct Handles {
    pub writer: WriterHandle,
    pub readers: ReaderPool,
    pub health: HealthHandle,
    pub registry: ActorRegistry,
}

impl Handles {
    /// Resolves with the reason once an actor could not be kept alive.
    pub async fn fatal(&self) -> String {
        self.registry.fatal().await
    }

    /// Lets the writer finish what it queued, checkpoints and closes the database.
    pub async fn shutdown(&self) -> Result<(), String> {
        self.writer.shutdown().await
    }
}

/// Starts Writer, ReaderPool and Health. Must run inside an actix `System`.
pub fn start(config: SupervisorConfig, clock: Arc<dyn Clock>) -> Result<Handles, String> {
    let registry = ActorRegistry::new();
    let writer = WriterHandle::start(config.store.clone(), clock, registry.clone())?;
    let readers = ReaderPool::open(&config.store)?;
    let health = HealthHandle::start(writer.clone(), readers.clone(), registry.clone(), config.health);
    let handles = Handles { writer, readers, health, registry };
    actix::spawn(watch(handles.clone()));
    Ok(handles)
}

/// Escalates any actor whose mailbox closed: that happens only when it died outside the guard.
async fn watch(handles: Handles) {
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    loop {
        ticker.tick().await;
        for (name, alive) in [(names::WRITER, handles.writer.is_alive()), (names::HEALTH, handles.health.is_alive())] {
            if !alive {
                handles.registry.escalate(name, "its mailbox closed: it died and cannot be restarted".into());
                return;
            }
        }
    }
}
