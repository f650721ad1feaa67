//! The Scheduler actor: recurring jobs from config. Each tick sends a typed `RunJob` to the actor that owns
//! the job; the scheduler knows nothing of their work. Last runs are persisted, so after downtime a missed
//! job runs once at start-up (not once per missed tick). A job never overlaps itself: while it runs, its
//! ticks are skipped, and its next run is computed from when it last started.

use crate::domain::schedule::ScheduleSpec;
use crate::domain::Record;
use crate::domain::{format_timestamp, Actor as Requester, Clock, Command};
use crate::registry::{names, ActorRegistry};
use crate::store::queries::schedule;
use crate::store::{ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Sent to a job's owner; answers a one-line summary, or why it failed.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<String, String>")]
pub struct RunJob {
    pub job: &'static str,
    /// `scheduler` when it came due; the caller's name when someone ran it now. What the job records is theirs.
    pub by: Requester,
}

/// A job: its name, when it runs, and who does it.
pub struct JobDefinition {
    pub name: &'static str,
    /// As configured (`15m`, `0 * * * *`, `off`).
    pub schedule: String,
    pub spec: ScheduleSpec,
    pub target: Recipient<RunJob>,
}

/// One job's state, for `GET /api/v1/admin/schedules`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct JobStatus {
    pub job: String,
    pub schedule: String,
    pub running: bool,
    pub last_started_at: Option<String>,
    pub last_finished_at: Option<String>,
    /// success | failed
    pub last_outcome: Option<String>,
    pub last_detail: Option<String>,
    pub next_run_at: Option<String>,
}

/// The end of one job run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct JobReport {
    pub job: String,
    pub ok: bool,
    pub detail: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RunNowError {
    UnknownJob(String),
    AlreadyRunning(String),
    Unavailable(String),
}

struct Slot {
    definition: JobDefinition,
    last_started: Option<DateTime<Utc>>,
    last_finished: Option<DateTime<Utc>>,
    last_outcome: Option<(bool, String)>,
    running: bool,
    waiters: Vec<oneshot::Sender<JobReport>>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

#[derive(Message)]
#[rtype(result = "Result<oneshot::Receiver<JobReport>, RunNowError>")]
struct RunNow(String, Requester);

#[derive(Message)]
#[rtype(result = "Vec<JobStatus>")]
struct List;

struct SchedulerActor {
    slots: Vec<Slot>,
    clock: Arc<dyn Clock>,
    writer: WriterHandle,
    registry: ActorRegistry,
    tick: Duration,
}

crate::guarded_actor!(SchedulerActor, names::SCHEDULER);

impl crate::guard::PanicAnswer for Result<oneshot::Receiver<JobReport>, RunNowError> {
    fn from_panic(message: String) -> Self {
        Err(RunNowError::Unavailable(message))
    }
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::SCHEDULER, ctx);
        ctx.run_interval(self.tick, |actor, ctx| crate::guard::handle(actor, ctx, |actor, ctx| actor.run_due(ctx)));
        ctx.notify(Tick); // catch up at once on whatever was missed while Atlas was down
    }
}

impl actix::Supervised for SchedulerActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Running jobs are tasks of their own: they report to the restarted actor, their slots stay taken.
        self.registry.restarting(names::SCHEDULER, None);
    }
}

impl SchedulerActor {
    fn run_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let due: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                let slot = &self.slots[i];
                !slot.running && slot.definition.spec.next_due(slot.last_started, now).is_some_and(|at| at <= now)
            })
            .collect();
        for index in due {
            self.start(index, Requester::new("scheduler"), ctx);
        }
    }

    fn start(&mut self, index: usize, by: Requester, ctx: &mut Context<Self>) {
        let slot = &mut self.slots[index];
        slot.running = true;
        let job = slot.definition.name;
        let target = slot.definition.target.clone();
        let (clock, writer) = (self.clock.clone(), self.writer.clone());
        let started = clock.now();
        tracing::debug!(job, "Scheduled job starting.");
        let work = async move {
            let outcome = match target.send(RunJob { job, by: by.clone() }).await {
                Ok(outcome) => outcome,
                Err(err) => Err(format!("the actor owning {job} did not answer ({err})")),
            };
            let finished = clock.now();
            let (ok, detail) = match outcome {
                Ok(detail) => (true, detail),
                Err(detail) => (false, detail),
            };
            let record = Command::Record(Record::JobRun {
                job: job.to_owned(),
                started_at: format_timestamp(started),
                finished_at: format_timestamp(finished),
                ok,
                detail: detail.clone(),
            });
            if let Err(err) = writer.submit(record, by).await {
                tracing::warn!(job, error = %err, "Could not record a job run.");
            }
            (finished, ok, detail)
        };
        // A task of its own, reporting back by message: a restart of the scheduler neither loses the job
        // (its owner goes on working) nor lets it start again while it runs.
        let scheduler = ctx.address();
        actix::spawn(async move {
            let (finished, ok, detail) = work.await;
            scheduler.do_send(JobDone { index, started, finished, ok, detail });
        });
    }

    fn finished(&mut self, JobDone { index, started, finished, ok, detail }: JobDone) {
        let slot = &mut self.slots[index];
        if !ok {
            tracing::warn!(job = slot.definition.name, %detail, "Scheduled job failed.");
        }
        slot.running = false;
        slot.last_started = Some(started);
        slot.last_finished = Some(finished);
        slot.last_outcome = Some((ok, detail.clone()));
        let report = JobReport {
            job: slot.definition.name.to_owned(),
            ok,
            detail,
            started_at: format_timestamp(started),
            finished_at: format_timestamp(finished),
        };
        for waiter in slot.waiters.drain(..) {
            let _ = waiter.send(report.clone());
        }
    }

    fn status(&self, slot: &Slot) -> JobStatus {
        let now = self.clock.now();
        JobStatus {
            job: slot.definition.name.to_owned(),
            schedule: slot.definition.schedule.clone(),
            running: slot.running,
            last_started_at: slot.last_started.map(format_timestamp),
            last_finished_at: slot.last_finished.map(format_timestamp),
            last_outcome: slot.last_outcome.as_ref().map(|(ok, _)| if *ok { "success" } else { "failed" }.to_owned()),
            last_detail: slot.last_outcome.as_ref().map(|(_, detail)| detail.clone()),
            next_run_at: slot.definition.spec.next_due(slot.last_started, now).map(|at| format_timestamp(at.max(now))),
        }
    }
}

/// A job's task ended.
#[derive(Message)]
#[rtype(result = "()")]
struct JobDone {
    index: usize,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    ok: bool,
    detail: String,
}

impl Handler<JobDone> for SchedulerActor {
    type Result = ();

    fn handle(&mut self, done: JobDone, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, _| actor.finished(done))
    }
}

impl Handler<Tick> for SchedulerActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| actor.run_due(ctx))
    }
}

impl Handler<RunNow> for SchedulerActor {
    type Result = Result<oneshot::Receiver<JobReport>, RunNowError>;

    fn handle(&mut self, RunNow(job, by): RunNow, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| actor.run_now(job, by, ctx))
    }
}

impl SchedulerActor {
    fn run_now(
        &mut self,
        job: String,
        by: Requester,
        ctx: &mut Context<Self>,
    ) -> Result<oneshot::Receiver<JobReport>, RunNowError> {
        crate::fault_point!(self.registry, names::SCHEDULER);
        let index = self
            .slots
            .iter()
            .position(|s| s.definition.name == job)
            .ok_or_else(|| RunNowError::UnknownJob(job.clone()))?;
        if self.slots[index].running {
            return Err(RunNowError::AlreadyRunning(job));
        }
        let (reply, answer) = oneshot::channel();
        self.slots[index].waiters.push(reply);
        self.start(index, by, ctx);
        Ok(answer)
    }
}

impl Handler<List> for SchedulerActor {
    type Result = Vec<JobStatus>;

    fn handle(&mut self, _: List, ctx: &mut Context<Self>) -> Vec<JobStatus> {
        crate::guard::handle(self, ctx, |actor, _| actor.slots.iter().map(|slot| actor.status(slot)).collect())
    }
}

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(SchedulerActor);

/// The only door to the Scheduler.
#[derive(Clone)]
pub struct SchedulerHandle {
    addr: Addr<SchedulerActor>,
}

impl SchedulerHandle {
    /// Loads each job's last run, then starts the scheduler (which catches up at once). `tick` is how
    /// often it looks for due jobs.
    pub async fn start(
        jobs: Vec<JobDefinition>,
        clock: Arc<dyn Clock>,
        writer: WriterHandle,
        readers: &ReaderPool,
        registry: ActorRegistry,
        tick: Duration,
    ) -> Result<Self, String> {
        let remembered: HashMap<String, schedule::JobState> = readers
            .read(schedule::all)
            .await
            .map_err(|err| format!("cannot read the schedule state: {err}"))?
            .into_iter()
            .map(|state| (state.job.clone(), state))
            .collect();
        let slots: Vec<Slot> = jobs
            .into_iter()
            .map(|definition| {
                let state = remembered.get(definition.name);
                Slot {
                    last_started: state.and_then(|s| crate::domain::parse_timestamp(&s.last_started_at)),
                    last_finished: state.and_then(|s| crate::domain::parse_timestamp(&s.last_finished_at)),
                    last_outcome: state
                        .map(|s| (s.last_outcome == "success", s.last_detail.clone().unwrap_or_default())),
                    definition,
                    running: false,
                    waiters: Vec::new(),
                }
            })
            .collect();
        let mut slots = Some(slots);
        let addr = Supervisor::start(move |_| SchedulerActor {
            slots: slots.take().unwrap_or_default(),
            clock,
            writer,
            registry,
            tick,
        });
        Ok(Self { addr })
    }

    /// Looks for due jobs now (tests move a manual clock, then tick).
    pub async fn tick(&self) {
        let _ = self.addr.send(Tick).await;
    }

    /// Runs a job now and waits for it to finish.
    /// Runs `job` now for `by` (its record and what the job records carry their name).
    pub async fn run_now(&self, job: &str, by: Requester) -> Result<JobReport, RunNowError> {
        let answer = self
            .addr
            .send(RunNow(job.to_owned(), by))
            .await
            .map_err(|err| RunNowError::Unavailable(format!("the scheduler is not running ({err})")))??;
        answer.await.map_err(|_| RunNowError::Unavailable("the scheduler restarted before the job finished".into()))
    }

    pub async fn list(&self) -> Result<Vec<JobStatus>, String> {
        self.addr.send(List).await.map_err(|err| format!("the scheduler is not running ({err})"))
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }
}
