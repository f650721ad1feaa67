//! The Health actor: answers "is Atlas ready?" by asking the writer and the read pool themselves and by
//! reading every actor's heartbeat; runs the operational checks (`ops`) on the `health_check` job and
//! hands what is wrong to the Notifier as alerts; feeds systemd's watchdog only while every actor is alive.

pub mod ops;
pub mod outcomes;
pub mod reminders;
pub mod watchdog;

use crate::alerts::actor::NotifierHandle;
use crate::alerts::RestartWatch;
use crate::registry::{names, ActorRegistry, ActorStatus};
use crate::store::{migrate, ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use ops::{Level, OpsLimits, OpsReport};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use watchdog::Watchdog;

/// The job name the scheduler uses for background checks.
pub const HEALTH_CHECK: &str = "health_check";

#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    /// How long one probe of a part may take before it counts as down.
    pub probe_timeout: Duration,
    /// An actor whose last heartbeat is older than this counts as down.
    pub heartbeat_stale_after: chrono::Duration,
    /// The operational checks' limits; `None` = readiness only.
    pub ops: Option<OpsLimits>,
    pub watchdog: Option<Watchdog>,
    /// Restarts of one actor within `restart_window` that raise an alert.
    pub restart_alert_threshold: u64,
    pub restart_window: chrono::Duration,
    /// How often readiness and restarts are checked for alerts between `health_check` jobs (`None`: only
    /// with the job).
    pub alert_every: Option<Duration>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            probe_timeout: Duration::from_secs(2),
            heartbeat_stale_after: chrono::Duration::seconds(60),
            ops: None,
            watchdog: None,
            restart_alert_threshold: 3,
            restart_window: chrono::Duration::minutes(15),
            alert_every: None,
        }
    }
}

/// The last operational checks and when they ran.
#[derive(Clone, Debug, Serialize)]
pub struct OpsSnapshot {
    pub checked_at: String,
    pub checks: OpsReport,
    /// Approvals pending past `approvals.remind_after_h`, each an alert of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<reminders::Reminder>,
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
    /// The operational checks (cached from the last `health_check` for `/readyz`, fresh for the admin
    /// report); they inform and alert but do not make Atlas unready.
    pub operations: Option<OpsSnapshot>,
    /// Alerts firing as of the last evaluation (every `alert_every`, and each `health_check`).
    pub alerts: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "ReadinessReport")]
struct CheckReadiness {
    /// Run the operational checks now instead of showing the last ones.
    fresh: bool,
}

struct HealthActor {
    writer: WriterHandle,
    readers: ReaderPool,
    registry: ActorRegistry,
    config: HealthConfig,
    notifier: NotifierHandle,
    /// The writer's clock: what the checks judge (an overdue approval, a restart window) is judged at the
    /// same time the writer records, so a manual clock moves both.
    clock: Arc<dyn crate::domain::Clock>,
    /// Shared with the checks' detached tasks (which outlive a restart of the actor).
    observed: Arc<Mutex<Observed>>,
    watchdog_fed: Option<bool>,
    /// A between-jobs alert check is running.
    alerting: Arc<std::sync::atomic::AtomicBool>,
}

/// What the checks remember from one to the next.
#[derive(Default)]
struct Observed {
    last_ready: Option<bool>,
    last_ops: Option<OpsSnapshot>,
    restarts: RestartWatch,
    firing: Vec<String>,
}

fn lock(observed: &Mutex<Observed>) -> std::sync::MutexGuard<'_, Observed> {
    observed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

crate::guarded_actor!(HealthActor, names::HEALTH);

impl crate::guard::PanicAnswer for ReadinessReport {
    fn from_panic(message: String) -> Self {
        let check = Check { ok: false, detail: message };
        Self {
            ready: false,
            checks: BTreeMap::from([("health", check)]),
            actors: BTreeMap::new(),
            operations: None,
            alerts: Vec::new(),
        }
    }
}

/// Runs every check; never panics and never waits longer than the probe timeout per part.
async fn run_checks(
    writer: WriterHandle,
    readers: ReaderPool,
    registry: ActorRegistry,
    timeout: Duration,
    stale_after: chrono::Duration,
) -> ReadinessReport {
    let mut checks = BTreeMap::new();
    let actors = match registry.all_alive(stale_after) {
        Ok(()) => Check { ok: true, detail: "every actor runs and beats".into() },
        Err(why) => Check { ok: false, detail: why },
    };
    checks.insert("actors", actors);
    let writer_check = match tokio::time::timeout(timeout, writer.ping()).await {
        Ok(Ok(())) => Check { ok: true, detail: "answers".into() },
        Ok(Err(err)) => Check { ok: false, detail: err },
        Err(_) => Check { ok: false, detail: format!("no answer within {timeout:?}") },
    };
    checks.insert("writer", writer_check);
    let storage = match writer.storage().check() {
        Ok(()) => Check { ok: true, detail: "writes succeed".into() },
        Err(why) => Check { ok: false, detail: why },
    };
    checks.insert("storage", storage);
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
    ReadinessReport { ready, checks, actors: registry.snapshot(), operations: None, alerts: Vec::new() }
}

/// Alert key → sentence, for everything wrong in `report` (readiness failures and critical checks).
fn firing(report: &ReadinessReport) -> BTreeMap<String, String> {
    let mut firing: BTreeMap<String, String> = report
        .checks
        .iter()
        .filter(|(_, check)| !check.ok)
        .map(|(name, check)| (format!("not_ready_{name}"), check.detail.clone()))
        .collect();
    if let Some(ops) = &report.operations {
        for (name, check) in &ops.checks {
            if check.level == Level::Critical {
                firing.insert((*name).to_owned(), check.detail.clone());
            }
        }
        let at = crate::domain::parse_timestamp(&ops.checked_at).unwrap_or_else(chrono::Utc::now);
        for reminder in &ops.reminders {
            firing.insert(reminder.key(), reminder.detail(at));
        }
    }
    firing
}

impl Actor for HealthActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::HEALTH, ctx);
        if let Some(watchdog) = self.config.watchdog.clone() {
            ctx.run_interval(watchdog.every, move |actor, ctx| {
                crate::guard::handle(actor, ctx, |actor, _| actor.feed_watchdog(&watchdog))
            });
        }
        // Between the (slower) operational checks, readiness and restarts alert within `alert_every`. The
        // check runs beside the loop (a slow alert channel never stops the heartbeat or the watchdog); one
        // still running is not started twice.
        if let Some(every) = self.config.alert_every {
            ctx.run_interval(every, |actor, ctx| {
                crate::guard::handle(actor, ctx, |actor, ctx| {
                    if !actor.alerting.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        let (check, alerting) = (actor.check_and_alert(false), actor.alerting.clone());
                        let work = crate::guard::detached(actor, ctx, async move {
                            /// Clears the flag however the check ends (a panic included).
                            struct Done(Arc<std::sync::atomic::AtomicBool>);
                            impl Drop for Done {
                                fn drop(&mut self) {
                                    self.0.store(false, std::sync::atomic::Ordering::SeqCst);
                                }
                            }
                            let _done = Done(alerting);
                            let _ = check.await;
                        });
                        actix::spawn(work);
                    }
                })
            });
        }
    }
}

impl actix::Supervised for HealthActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::HEALTH, None);
    }
}

impl HealthActor {
    /// `WATCHDOG=1` only while every actor runs and beats: a stuck or dead actor lets systemd restart us.
    fn feed_watchdog(&mut self, watchdog: &Watchdog) {
        let alive = self.registry.all_alive(self.config.heartbeat_stale_after);
        if alive.is_ok() {
            if let Err(err) = watchdog::notify_to(&watchdog.socket, "WATCHDOG=1") {
                tracing::warn!(error = %err, "Could not feed the systemd watchdog.");
            }
        }
        if self.watchdog_fed != Some(alive.is_ok()) {
            match &alive {
                Ok(()) => tracing::info!("Feeding the systemd watchdog."),
                Err(why) => tracing::error!(%why, "Not feeding the systemd watchdog: an actor is not alive."),
            }
            self.watchdog_fed = Some(alive.is_ok());
        }
    }

    /// Readiness now, plus the operational checks (fresh, or the last ones). Notes readiness changes.
    fn report(&self, fresh: bool) -> impl std::future::Future<Output = ReadinessReport> + 'static {
        let (writer, readers, registry) = (self.writer.clone(), self.readers.clone(), self.registry.clone());
        let (timeout, stale) = (self.config.probe_timeout, self.config.heartbeat_stale_after);
        let limits = self.config.ops.clone().filter(|_| fresh);
        let (observed, clock) = (self.observed.clone(), self.clock.clone());
        async move {
            let mut report = run_checks(writer, readers.clone(), registry, timeout, stale).await;
            report.operations = match limits {
                Some(limits) => {
                    let now = clock.now();
                    let checks = ops::run(&readers, &limits, now).await;
                    let reminders = match limits.remind_after {
                        Some(after) => {
                            readers.read(move |conn| reminders::overdue(conn, after, now)).await.unwrap_or_else(|err| {
                                tracing::warn!(error = %err, "Cannot read the approvals to remind of.");
                                Vec::new()
                            })
                        }
                        None => Vec::new(),
                    };
                    Some(OpsSnapshot { checked_at: crate::domain::format_timestamp(now), checks, reminders })
                }
                None => lock(&observed).last_ops.clone(),
            };
            let mut observed = lock(&observed);
            report.alerts = observed.firing.clone();
            note(&mut observed, &report);
            report
        }
    }

    /// Readiness (always fresh) and the operational checks (fresh when `fresh_ops`, else the last ones),
    /// plus repeated restarts, handed to the Notifier. Returns the job's summary.
    fn check_and_alert(&self, fresh_ops: bool) -> impl std::future::Future<Output = Result<String, String>> {
        let report = self.report(fresh_ops);
        let (notifier, observed) = (self.notifier.clone(), self.observed.clone());
        let (window, threshold) = (self.config.restart_window, self.config.restart_alert_threshold);
        let now = self.clock.now();
        async move {
            let mut report = report.await;
            let firing = {
                let mut observed = lock(&observed);
                if fresh_ops {
                    observed.last_ops = report.operations.clone();
                } else {
                    // The newest checks, even if a job stored them while readiness was probed.
                    report.operations = observed.last_ops.clone();
                }
                let counts = report.actors.iter().map(|(name, status)| ((*name).to_owned(), status.restarts));
                let mut firing = firing(&report);
                firing.extend(observed.restarts.observe(counts, now, window, threshold));
                observed.firing = firing.keys().cloned().collect();
                firing
            };
            let keys: Vec<&str> = firing.keys().map(String::as_str).collect();
            let summary = match (report.ready, keys.is_empty()) {
                (true, true) => Ok("ready".to_owned()),
                (true, false) => Ok(format!("ready; alerts firing: {}", keys.join(", "))),
                (false, _) => Err(format!("not ready; alerts firing: {}", keys.join(", "))),
            };
            match notifier.evaluate(firing, now).await {
                Ok(delivery) if !delivery.failed.is_empty() => {
                    tracing::warn!(failed = ?delivery.failed, "Some alerts could not be delivered.");
                }
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "The notifier is not running."),
            }
            summary
        }
    }
}

/// Logs readiness changes once, not on every check.
fn note(observed: &mut Observed, report: &ReadinessReport) {
    if observed.last_ready != Some(report.ready) {
        if report.ready {
            tracing::info!("Atlas is ready.");
        } else {
            let failing: Vec<String> =
                report.checks.iter().filter(|(_, c)| !c.ok).map(|(name, c)| format!("{name}: {}", c.detail)).collect();
            tracing::warn!(failing = %failing.join("; "), "Atlas is not ready.");
        }
        observed.last_ready = Some(report.ready);
    }
}

impl Handler<CheckReadiness> for HealthActor {
    type Result = ResponseFuture<ReadinessReport>;

    fn handle(&mut self, CheckReadiness { fresh }: CheckReadiness, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| {
            crate::fault_point!(actor.registry, names::HEALTH);
            crate::guard::detached(actor, ctx, actor.report(fresh))
        })
    }
}

/// The scheduled check: readiness and operational checks, then alerts. The job fails while Atlas is not
/// ready; firing alerts are named in its detail either way.
impl Handler<crate::scheduler::RunJob> for HealthActor {
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, _: crate::scheduler::RunJob, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| crate::guard::detached(actor, ctx, actor.check_and_alert(true)))
    }
}

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(HealthActor);

/// The only door to the Health actor.
#[derive(Clone)]
pub struct HealthHandle {
    addr: Addr<HealthActor>,
}

impl HealthHandle {
    /// Starts Health under a supervisor on the current arbiter.
    pub fn start(
        writer: WriterHandle,
        readers: ReaderPool,
        registry: ActorRegistry,
        config: HealthConfig,
        notifier: NotifierHandle,
        clock: Arc<dyn crate::domain::Clock>,
    ) -> Self {
        let addr = Supervisor::start(move |_| HealthActor {
            writer,
            readers,
            registry,
            config,
            notifier,
            clock,
            observed: Arc::default(),
            alerting: Arc::default(),
            watchdog_fed: None,
        });
        Self { addr }
    }

    /// Readiness now, with the last operational checks (for `/readyz`).
    pub async fn readiness(&self) -> Result<ReadinessReport, String> {
        self.ask(false).await
    }

    /// Readiness and fresh operational checks (for the admin report).
    pub async fn full_report(&self) -> Result<ReadinessReport, String> {
        self.ask(true).await
    }

    async fn ask(&self, fresh: bool) -> Result<ReadinessReport, String> {
        self.addr.send(CheckReadiness { fresh }).await.map_err(|err| format!("the health actor is not running ({err})"))
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
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }
}
