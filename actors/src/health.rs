//! The Health actor: answers "is Atlas ready?" by asking the writer and the read pool themselves, and
//! checks on a timer so a part that stops answering is logged even when nobody probes.

#[cfg(feature = "fault-injection")]
use crate::guard::catch_panic;
use crate::registry::{names, ActorRegistry, ActorStatus};
use crate::store::{migrate, ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The job name the scheduler uses for background checks.
pub const HEALTH_CHECK: &str = "health_check";

#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    /// How long one probe of a part may take before it counts as down.
    pub probe_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self { probe_timeout: Duration::from_secs(2) }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

/// What `/readyz` shows.
#[derive(Clone, Debug, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub checks: BTreeMap<&'static str, Check>,
    pub actors: BTreeMap<&'static str, ActorStatus>,
}

#[derive(Message)]
#[rtype(result = "ReadinessReport")]
struct CheckReadiness;

#[cfg(feature = "fault-injection")]
#[derive(Message)]
#[rtype(result = "()")]
struct Inject(crate::fault::Fault);

struct HealthActor {
    writer: WriterHandle,
    readers: ReaderPool,
    registry: ActorRegistry,
    config: HealthConfig,
    last_ready: Option<bool>,
    last_failure: Option<String>,
}

/// Runs every check; never panics and never waits longer than the probe timeout per part.
async fn run_checks(
    writer: WriterHandle,
    readers: ReaderPool,
    registry: ActorRegistry,
    timeout: Duration,
) -> ReadinessReport {
    let mut checks = BTreeMap::new();
    let writer_check = match tokio::time::timeout(timeout, writer.ping()).await {
        Ok(Ok(())) => Check { ok: true, detail: "answers".into() },
        Ok(Err(err)) => Check { ok: false, detail: err },
        Err(_) => Check { ok: false, detail: format!("no answer within {timeout:?}") },
    };
    checks.insert("writer", writer_check);
    let schema = tokio::time::timeout(timeout, readers.read(|conn| Ok(migrate::check(conn)))).await;
    let (pool_check, migration_check) = match schema {
        Ok(Ok(Ok(status))) => (
            Check { ok: true, detail: "answers".into() },
            Check {
                ok: status.is_current(),
                detail: format!("schema version {} of {}", status.current, status.latest),
            },
        ),
        Ok(Ok(Err(err))) => {
            (Check { ok: true, detail: "answers".into() }, Check { ok: false, detail: err.to_string() })
        }
        Ok(Err(err)) => (
            Check { ok: false, detail: err.to_string() },
            Check { ok: false, detail: "unknown: read pool down".into() },
        ),
        Err(_) => (
            Check { ok: false, detail: format!("no answer within {timeout:?}") },
            Check { ok: false, detail: "unknown: read pool down".into() },
        ),
    };
    checks.insert("read_pool", pool_check);
    checks.insert("migrations", migration_check);
    let ready = checks.values().all(|check| check.ok);
    ReadinessReport { ready, checks, actors: registry.snapshot() }
}

impl Actor for HealthActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.registry.running(names::HEALTH);
    }
}

impl actix::Supervised for HealthActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::HEALTH, self.last_failure.take());
    }
}

impl HealthActor {
    /// Logs readiness changes once, not on every check.
    fn note(&mut self, report: &ReadinessReport) {
        if self.last_ready != Some(report.ready) {
            if report.ready {
                tracing::info!("Atlas is ready.");
            } else {
                let failing: Vec<String> = report
                    .checks
                    .iter()
                    .filter(|(_, c)| !c.ok)
                    .map(|(name, c)| format!("{name}: {}", c.detail))
                    .collect();
                tracing::warn!(failing = %failing.join("; "), "Atlas is not ready.");
            }
            self.last_ready = Some(report.ready);
        }
    }
}

impl Handler<CheckReadiness> for HealthActor {
    type Result = ResponseActFuture<Self, ReadinessReport>;

    fn handle(&mut self, _: CheckReadiness, _: &mut Context<Self>) -> Self::Result {
        let checks =
            run_checks(self.writer.clone(), self.readers.clone(), self.registry.clone(), self.config.probe_timeout);
        Box::pin(checks.into_actor(self).map(|report, actor, _| {
            actor.note(&report);
            report
        }))
    }
}

/// The scheduled background check: logs changes of readiness; fails the job while not ready.
impl Handler<crate::scheduler::RunJob> for HealthActor {
    type Result = ResponseActFuture<Self, Result<String, String>>;

    fn handle(&mut self, _: crate::scheduler::RunJob, _: &mut Context<Self>) -> Self::Result {
        let checks =
            run_checks(self.writer.clone(), self.readers.clone(), self.registry.clone(), self.config.probe_timeout);
        Box::pin(checks.into_actor(self).map(|report, actor, _| {
            actor.note(&report);
            if report.ready {
                Ok("ready".to_owned())
            } else {
                let failing: Vec<&str> = report.checks.iter().filter(|(_, c)| !c.ok).map(|(name, _)| *name).collect();
                Err(format!("not ready: {}", failing.join(", ")))
            }
        }))
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<Inject> for HealthActor {
    type Result = ();

    fn handle(&mut self, Inject(fault): Inject, ctx: &mut Context<Self>) {
        // Health has no batches: every fault is a panic in this handler.
        if let Err(panic) = catch_panic(|| panic!("injected fault: health {fault:?}")) {
            self.last_failure = Some(panic);
            ctx.stop();
        }
    }
}

/// The only door to the Health actor.
#[derive(Clone)]
pub struct HealthHandle {
    addr: Addr<HealthActor>,
}

impl HealthHandle {
    /// Starts Health under a supervisor on the current arbiter.
    pub fn start(writer: WriterHandle, readers: ReaderPool, registry: ActorRegistry, config: HealthConfig) -> Self {
        let addr = Supervisor::start(move |_| HealthActor {
            writer,
            readers,
            registry,
            config,
            last_ready: None,
            last_failure: None,
        });
        Self { addr }
    }

    /// A fresh readiness report.
    pub async fn readiness(&self) -> Result<ReadinessReport, String> {
        self.addr.send(CheckReadiness).await.map_err(|err| format!("the health actor is not running ({err})"))
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }

    /// Where the scheduler sends `health_check`.
    pub fn jobs(&self) -> actix::Recipient<crate::scheduler::RunJob> {
        self.addr.clone().recipient()
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(Inject(fault)).await;
    }
}
