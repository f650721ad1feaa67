//! The Runner actor: starts queued runs as soon as the writer commits them (a fallback poll catches
//! anything missed), at most `max_concurrent` at once, and records each state change through the writer.
//! A run only starts after the writer re-checked its command against what was approved (`RunCommand::Start`).

pub mod capture;
pub mod contain;
pub mod executor;
pub mod instance;
mod launch;
mod mask;
mod process;
pub mod reap;

use crate::domain::RunCommand;
use crate::domain::{Actor as Requester, Applied, Command, CommandError, Run, RunId, RunStatus, Severity};
use crate::registry::{names, ActorRegistry};
use crate::store::queries::runs;
use crate::store::{ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use capture::LiveLog;
use executor::Executors;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify};

/// The runner's limits, from config.
#[derive(Clone, Debug, PartialEq)]
pub struct RunnerConfig {
    pub max_concurrent: usize,
    pub default_timeout: Duration,
    /// Bytes of stdout (and of stderr) kept per run: head and tail, with a marker for the cut.
    pub output_limit_bytes: usize,
    /// Environment variables passed through to commands; nothing else is.
    pub env_allowlist: Vec<String>,
    /// Fallback poll for queued runs (commits wake the runner at once).
    pub poll_interval: Duration,
    pub failed_severity: Severity,
    pub timed_out_severity: Severity,
    pub executors: Executors,
    /// Which Atlas starts the runs (`instance::of_data_dir`): recorded with each run and carried in its
    /// processes' mark, so recovery never touches another instance's processes.
    pub instance: String,
    /// Where the secrets a run's environment names are read from, when it starts.
    pub secrets: crate::secrets::SecretStore,
}

impl RunnerConfig {
    /// The PATH commands see: the allowlisted environment's, as the process will get it.
    pub fn search_path(&self) -> String {
        if self.env_allowlist.iter().any(|name| name == "PATH") {
            std::env::var("PATH").unwrap_or_default()
        } else {
            String::new()
        }
    }

    /// What `command` resolves to for this run (`None` for a plain argv).
    pub fn resolve(
        &self,
        command: &[String],
        cwd: Option<&str>,
        task_id: &str,
        run_id: &str,
    ) -> Result<Option<crate::domain::run::PinnedExecutor>, String> {
        let goal = command.get(1..).map(|rest| rest.join(" ")).unwrap_or_default();
        let vars = executor::Vars { goal: &goal, cwd: cwd.unwrap_or("."), task_id, run_id };
        executor::resolve(&self.executors, command, &vars, &self.search_path())
    }
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 2,
            default_timeout: Duration::from_secs(3600),
            output_limit_bytes: 64 * 1024,
            env_allowlist: ["PATH", "HOME", "LANG", "LC_ALL", "TZ"].map(String::from).to_vec(),
            poll_interval: Duration::from_secs(30),
            failed_severity: Severity::Medium,
            timed_out_severity: Severity::High,
            executors: Executors::default(),
            instance: String::new(),
            secrets: crate::secrets::SecretStore::new(std::path::PathBuf::from("secrets"), None),
        }
    }
}

struct LiveRun {
    log: Arc<LiveLog>,
    cancel: Arc<Notify>,
    /// Set on shutdown: the kill is an interruption, not a cancel someone asked for.
    interrupted: Arc<AtomicBool>,
    /// Who asked first to cancel it: its end is recorded in their name.
    cancelled_by: Arc<std::sync::Mutex<Option<Requester>>>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Dispatch;

#[derive(Message)]
#[rtype(result = "()")]
struct Finished(RunId);

#[derive(Message)]
#[rtype(result = "Option<Arc<LiveLog>>")]
struct Follow(RunId);

#[derive(Message)]
#[rtype(result = "bool")]
struct SignalCancel(RunId, Requester);

/// Kills every live run's process group (Atlas is stopping); answers how many were live.
#[derive(Message)]
#[rtype(result = "usize")]
struct InterruptAll;

struct RunnerActor {
    config: Arc<RunnerConfig>,
    writer: WriterHandle,
    readers: ReaderPool,
    registry: ActorRegistry,
    live: HashMap<RunId, LiveRun>,
    dispatching: bool,
    dispatch_again: bool,
    spawned: broadcast::Sender<(RunId, Instant)>,
    /// The queued-runs watcher task runs.
    watching: bool,
}

crate::guarded_actor!(RunnerActor, names::RUNNER);

impl Actor for RunnerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::RUNNER, ctx);
        ctx.run_interval(self.config.poll_interval, |_, ctx| ctx.notify(Dispatch));
        // One watcher for the actor's life (the address survives restarts; so does the task).
        if !std::mem::replace(&mut self.watching, true) {
            let mut queued = self.writer.watch_queued_runs();
            let addr = ctx.address();
            actix::spawn(async move {
                while queued.changed().await.is_ok() {
                    if addr.try_send(Dispatch).is_err() && !addr.connected() {
                        break;
                    }
                }
            });
        }
        ctx.notify(Dispatch);
    }
}

impl actix::Supervised for RunnerActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Live processes and a claim in flight are tasks of their own: they report to the restarted actor.
        self.registry.restarting(names::RUNNER, None);
    }
}

impl Handler<Dispatch> for RunnerActor {
    type Result = ();

    fn handle(&mut self, _: Dispatch, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| actor.dispatch(ctx))
    }
}

impl RunnerActor {
    /// Claims queued runs up to the free slots and launches them.
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        crate::fault_point!(self.registry, names::RUNNER);
        if self.dispatching {
            self.dispatch_again = true;
            return;
        }
        let free = self.config.max_concurrent.saturating_sub(self.live.len());
        if free == 0 {
            return;
        }
        self.dispatching = true;
        let (readers, writer) = (self.readers.clone(), self.writer.clone());
        let busy: Vec<RunId> = self.live.keys().cloned().collect();
        let claim = async move {
            let queued = readers.read(|conn| runs::with_status(conn, RunStatus::Queued)).await.unwrap_or_default();
            let mut started = Vec::new();
            for run in queued.into_iter().filter(|r| !busy.contains(&r.id)).take(free) {
                match writer
                    .submit(Command::Run(RunCommand::Start { id: run.id.clone() }), Requester::new("runner"))
                    .await
                {
                    Ok(outcome) => match outcome.applied {
                        Applied::Run(run) if run.status == RunStatus::Running => started.push(run),
                        _ => {} // refused: the writer recorded why
                    },
                    Err(CommandError::Conflict(_)) => {} // cancelled or claimed meanwhile
                    Err(err) => {
                        tracing::warn!(run = %run.id, error = %err, "Could not start a run.");
                        break;
                    }
                }
            }
            started
        };
        // A task of its own: a restart of the runner must not drop runs the writer already marked running.
        let runner = ctx.address();
        actix::spawn(async move { runner.do_send(Claimed(claim.await)) });
    }
}

/// Runs the writer marked `running` for this runner: launch them.
#[derive(Message)]
#[rtype(result = "()")]
struct Claimed(Vec<Run>);

impl Handler<Claimed> for RunnerActor {
    type Result = ();

    fn handle(&mut self, Claimed(started): Claimed, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| {
            for run in started {
                actor.launch(run, ctx);
            }
            actor.dispatching = false;
            if std::mem::take(&mut actor.dispatch_again) {
                ctx.notify(Dispatch);
            }
        })
    }
}

impl RunnerActor {
    fn launch(&mut self, run: Run, ctx: &mut Context<Self>) {
        let log = Arc::new(LiveLog::new(self.config.output_limit_bytes));
        let cancel = Arc::new(Notify::new());
        let interrupted = Arc::new(AtomicBool::new(false));
        let cancelled_by = Arc::default();
        let live = LiveRun {
            log: log.clone(),
            cancel: cancel.clone(),
            interrupted: interrupted.clone(),
            cancelled_by: Arc::clone(&cancelled_by),
        };
        self.live.insert(run.id.clone(), live);
        let job = launch::Job {
            run,
            config: self.config.clone(),
            writer: self.writer.clone(),
            log,
            cancel,
            interrupted,
            cancelled_by,
            spawned: self.spawned.clone(),
            done: ctx.address().recipient(),
        };
        actix::spawn(job.execute());
    }
}

impl Handler<Finished> for RunnerActor {
    type Result = ();

    fn handle(&mut self, Finished(id): Finished, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| {
            actor.live.remove(&id);
            ctx.notify(Dispatch);
        })
    }
}

impl Handler<Follow> for RunnerActor {
    type Result = Option<Arc<LiveLog>>;

    fn handle(&mut self, Follow(id): Follow, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, _| actor.live.get(&id).map(|live| live.log.clone()))
    }
}

impl Handler<SignalCancel> for RunnerActor {
    type Result = bool;

    /// True when the run is live here and was told to stop.
    fn handle(&mut self, SignalCancel(id, by): SignalCancel, ctx: &mut Context<Self>) -> bool {
        crate::guard::handle(self, ctx, |actor, _| match actor.live.get(&id) {
            Some(live) => {
                if let Ok(mut first) = live.cancelled_by.lock() {
                    first.get_or_insert(by);
                }
                live.cancel.notify_one();
                true
            }
            None => false,
        })
    }
}

impl Handler<InterruptAll> for RunnerActor {
    type Result = usize;

    fn handle(&mut self, _: InterruptAll, ctx: &mut Context<Self>) -> usize {
        crate::guard::handle(self, ctx, |actor, _| {
            for live in actor.live.values() {
                live.interrupted.store(true, Ordering::SeqCst);
                live.cancel.notify_one();
            }
            actor.live.len()
        })
    }
}

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(RunnerActor);

/// Why a cancel did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum CancelError {
    NotFound,
    AlreadyFinished(RunStatus),
    Unavailable(String),
}

/// Kills what runs left `running` by a crash of this instance left alive, then records them as
/// interrupted. A run another instance started (this database is a copy of its) is only recorded: its
/// processes are that instance's, alive or not.
async fn recover_after_crash(writer: &WriterHandle, readers: &ReaderPool, instance: &str) -> Result<(), String> {
    let left = readers.read(runs::running_processes).await.map_err(|err| format!("cannot read runs: {err}"))?;
    for process in left {
        let spawner_alive = |(pid, started): (i64, i64)| {
            i32::try_from(pid).ok().and_then(contain::start_ticks).is_some_and(|now| now as i64 == started)
        };
        let killed = match process.instance.as_deref() {
            // Another instance's run whose Atlas still runs: its processes are that Atlas's business.
            Some(other) if other != instance && process.spawner.is_some_and(spawner_alive) => {
                tracing::warn!(run = %process.run, instance = %other, "An interrupted run belongs to another Atlas that is still running (this database is a copy of its): its processes are left alone.");
                continue;
            }
            // Ours, or one whose Atlas is gone (the instance file was deleted, the directory moved): its
            // leftovers carry the mark of the instance that started them.
            Some(started_by) => contain::kill_leftovers(&instance::mark(started_by, &process.run), process.group),
            // Recorded before runs named their instance: the old, unprefixed mark, and this instance's.
            None => {
                contain::kill_leftovers(&process.run, process.group)
                    + contain::kill_marked(&instance::mark(instance, &process.run))
            }
        };
        if killed > 0 {
            tracing::warn!(run = %process.run, killed, "Killed what an interrupted run left running.");
        }
    }
    match writer.submit(Command::Run(RunCommand::RecoverInterrupted), Requester::system()).await {
        Ok(outcome) => {
            if let Applied::Recovered(count) = outcome.applied {
                if count > 0 {
                    tracing::warn!(count, "Runs interrupted by a restart were marked failed; none is re-run.");
                }
            }
            Ok(())
        }
        Err(err) => Err(format!("cannot recover interrupted runs: {err}")),
    }
}

/// The only door to the Runner.
#[derive(Clone)]
pub struct RunnerHandle {
    addr: Addr<RunnerActor>,
    spawned: broadcast::Sender<(RunId, Instant)>,
    readers: ReaderPool,
    writer: WriterHandle,
    config: Arc<RunnerConfig>,
}

impl RunnerHandle {
    /// Marks runs interrupted by a crash as failed, then starts the runner. Inside an actix System.
    pub async fn start(
        config: RunnerConfig,
        writer: WriterHandle,
        readers: ReaderPool,
        registry: ActorRegistry,
    ) -> Result<Self, String> {
        config.executors.validate()?;
        contain::become_subreaper();
        reap::spawn_reaper(Duration::from_secs(5));
        if writer.storage().refusal().is_some() {
            // Nothing runs on a damaged database (every write is refused); a restore marks its runs interrupted.
            tracing::error!("The database is damaged: the runner starts without recovering interrupted runs.");
        } else {
            recover_after_crash(&writer, &readers, &config.instance).await?;
        }
        let spawned = broadcast::channel(1024).0;
        let config = Arc::new(config);
        let pinning = config.clone();
        let (actor_writer, actor_readers, actor_spawned) = (writer.clone(), readers.clone(), spawned.clone());
        let addr = Supervisor::start(move |_| RunnerActor {
            config,
            writer: actor_writer,
            readers: actor_readers,
            registry,
            live: HashMap::new(),
            dispatching: false,
            dispatch_again: false,
            spawned: actor_spawned,
            watching: false,
        });
        Ok(Self { addr, spawned, readers, writer, config: pinning })
    }

    /// The runner's configuration (what an executor-profile command resolves to is pinned from it).
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Each process start: the run and when it happened (benchmarks, tests).
    pub fn spawned(&self) -> broadcast::Receiver<(RunId, Instant)> {
        self.spawned.subscribe()
    }

    /// The live log of a running run, `None` when it is not running here.
    pub async fn follow(&self, id: &RunId) -> Option<Arc<LiveLog>> {
        self.addr.send(Follow(id.clone())).await.ok().flatten()
    }

    /// Cancels a queued run at once, or kills a running one (its whole process group) and waits for it to
    /// be recorded as cancelled. Returns the run as it ended.
    pub async fn cancel(&self, id: &RunId, actor: Requester) -> Result<Run, CancelError> {
        for _ in 0..50 {
            let lookup = id.clone();
            let run = self
                .readers
                .read(move |conn| runs::get(conn, &lookup))
                .await
                .map_err(|err| CancelError::Unavailable(err.to_string()))?
                .ok_or(CancelError::NotFound)?;
            match run.status {
                RunStatus::Queued => {
                    match self
                        .writer
                        .submit(Command::Run(RunCommand::CancelQueued { id: id.clone() }), actor.clone())
                        .await
                    {
                        Ok(outcome) => {
                            if let Applied::Run(run) = outcome.applied {
                                return Ok(run);
                            }
                        }
                        Err(CommandError::Conflict(_)) => continue, // it just started: cancel it running
                        Err(err) => return Err(CancelError::Unavailable(err.to_string())),
                    }
                }
                RunStatus::Running => {
                    let signalled = self.addr.send(SignalCancel(id.clone(), actor.clone())).await.unwrap_or(false);
                    if !signalled {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    // It may have ended by itself as the signal came: then nothing was cancelled.
                    return match self.wait_finished(id).await? {
                        run if run.status == RunStatus::Cancelled => Ok(run),
                        run => Err(CancelError::AlreadyFinished(run.status)),
                    };
                }
                finished => return Err(CancelError::AlreadyFinished(finished)),
            }
        }
        Err(CancelError::Unavailable("the run did not settle; try again".into()))
    }

    async fn wait_finished(&self, id: &RunId) -> Result<Run, CancelError> {
        for _ in 0..500 {
            let lookup = id.clone();
            let run = self
                .readers
                .read(move |conn| runs::get(conn, &lookup))
                .await
                .ok()
                .flatten()
                .ok_or(CancelError::NotFound)?;
            if run.status.is_finished() {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(CancelError::Unavailable("the run was told to stop but has not ended yet".into()))
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }

    /// On shutdown: kills every live run's process group and waits (up to `grace`) until their ends are
    /// recorded as failed "interrupted by shutdown". Runs not recorded in time are caught by recovery.
    pub async fn interrupt_all(&self, grace: Duration) {
        let live = self.addr.send(InterruptAll).await.unwrap_or(0);
        if live == 0 {
            return;
        }
        tracing::warn!(live, "Stopping: interrupting live runs.");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let still = self
                .readers
                .read(|conn| runs::with_status(conn, RunStatus::Running))
                .await
                .map(|r| r.len())
                .unwrap_or(0);
            if still == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }
}
