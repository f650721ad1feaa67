//! The Scheduler with a manual clock: missed runs catch up once, a job never overlaps itself, last runs
//! survive restarts, and the admin API shows and triggers jobs.

use crate::api::Team;
use actix::prelude::*;
use atlas_actors::domain::schedule::ScheduleSpec;
use atlas_actors::domain::Record;
use atlas_actors::domain::{Actor as Requester, Command, ManualClock};
use atlas_actors::registry::ActorRegistry;
use atlas_actors::scheduler::{JobDefinition, RunJob, RunNowError, SchedulerHandle};
use atlas_actors::store::{ReaderPool, StoreConfig, WriterHandle};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A job owner that counts its runs; each run waits for a permit from `gate`.
struct Counter {
    runs: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

impl Handler<RunJob> for Counter {
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, _: RunJob, _: &mut Context<Self>) -> Self::Result {
        let (runs, gate) = (self.runs.clone(), self.gate.clone());
        Box::pin(async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            gate.acquire().await.map_err(|e| e.to_string())?.forget();
            Ok(format!("run {n}"))
        })
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    writer: WriterHandle,
    readers: ReaderPool,
    runs: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

impl Rig {
    fn new(start: &str, open_gate: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(at(start));
        let config = StoreConfig::at(dir.path().join("atlas.db"));
        let writer = WriterHandle::start(config.clone(), Arc::new(clock.clone()), ActorRegistry::new()).unwrap();
        let readers = ReaderPool::open(&config).unwrap();
        let gate = Arc::new(Semaphore::new(if open_gate { 1_000 } else { 0 }));
        Self { _dir: dir, clock, writer, readers, runs: Arc::new(AtomicUsize::new(0)), gate }
    }

    async fn scheduler(&self, schedule: &str) -> SchedulerHandle {
        let owner = Counter { runs: self.runs.clone(), gate: self.gate.clone() }.start();
        let job = JobDefinition {
            name: "report",
            schedule: schedule.into(),
            spec: ScheduleSpec::parse(schedule).unwrap(),
            target: owner.recipient(),
        };
        let tick = Duration::from_secs(3600); // only explicit ticks drive these tests
        SchedulerHandle::start(
            vec![job],
            Arc::new(self.clock.clone()),
            self.writer.clone(),
            &self.readers,
            ActorRegistry::new(),
            tick,
        )
        .await
        .unwrap()
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until the scheduler reports the job idle with `finished` runs recorded.
    async fn settle(&self, scheduler: &SchedulerHandle, finished: usize) {
        for _ in 0..1000 {
            let jobs = scheduler.list().await.unwrap();
            let recorded: i64 = self
                .readers
                .read(|c| c.query_row("SELECT count(*) FROM events WHERE type = 'schedule.job_ran'", [], |r| r.get(0)))
                .await
                .unwrap();
            if !jobs[0].running && recorded as usize == finished {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the job did not settle at {finished} recorded runs: {:?}", scheduler.list().await);
    }
}

#[actix_rt::test]
async fn a_run_missed_during_downtime_runs_once_at_start_not_once_per_tick() {
    let rig = Rig::new("2026-01-01T05:10:00Z", true);
    let record = Command::Record(Record::JobRun {
        job: "report".into(),
        started_at: "2026-01-01T00:00:00.000Z".into(),
        finished_at: "2026-01-01T00:00:01.000Z".into(),
        ok: true,
        detail: "before the outage".into(),
    });
    rig.writer.submit(record, Requester::system()).await.unwrap();

    let scheduler = rig.scheduler("1h").await;
    rig.settle(&scheduler, 2).await;
    assert_eq!(rig.runs(), 1, "five missed hours run once");
    for _ in 0..3 {
        scheduler.tick().await;
    }
    rig.settle(&scheduler, 2).await;
    assert_eq!(rig.runs(), 1, "nothing is due until an hour after the catch-up");

    rig.clock.advance(chrono::Duration::minutes(59));
    scheduler.tick().await;
    rig.settle(&scheduler, 2).await;
    assert_eq!(rig.runs(), 1);
    rig.clock.advance(chrono::Duration::minutes(2));
    scheduler.tick().await;
    rig.settle(&scheduler, 3).await;
    assert_eq!(rig.runs(), 2, "due again an hour after it last started");
    let status = &scheduler.list().await.unwrap()[0];
    assert_eq!(status.last_started_at.as_deref(), Some("2026-01-01T06:11:00.000Z"));
    assert_eq!(status.next_run_at.as_deref(), Some("2026-01-01T07:11:00.000Z"));
    assert_eq!(status.last_outcome.as_deref(), Some("success"));
}

#[actix_rt::test]
async fn a_slow_job_never_overlaps_itself() {
    let rig = Rig::new("2026-01-01T00:00:00Z", false);
    let scheduler = rig.scheduler("1m").await;
    for _ in 0..1000 {
        if rig.runs() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rig.runs(), 1, "never ran before: due at once");
    for _ in 0..5 {
        rig.clock.advance(chrono::Duration::minutes(10));
        scheduler.tick().await;
    }
    assert_eq!(rig.runs(), 1, "ticks while it runs are skipped");
    assert!(scheduler.list().await.unwrap()[0].running);
    assert_eq!(
        scheduler.run_now("report", crate::support::tester()).await.unwrap_err(),
        RunNowError::AlreadyRunning("report".into())
    );

    rig.gate.add_permits(1);
    rig.settle(&scheduler, 1).await;
    scheduler.tick().await;
    rig.gate.add_permits(1);
    rig.settle(&scheduler, 2).await;
    assert_eq!(rig.runs(), 2, "one catch-up run after the slow one, not the five skipped ticks");
}

#[actix_rt::test]
async fn run_now_waits_for_the_job_and_last_runs_survive_a_restart() {
    let rig = Rig::new("2026-01-01T00:00:00Z", true);
    let scheduler = rig.scheduler("off").await;
    rig.settle(&scheduler, 0).await;
    assert_eq!(rig.runs(), 0, "an `off` job never runs by itself");
    let report = scheduler.run_now("report", crate::support::tester()).await.unwrap();
    assert!(report.ok && report.detail == "run 1", "{report:?}");
    assert_eq!(
        scheduler.run_now("nope", crate::support::tester()).await.unwrap_err(),
        RunNowError::UnknownJob("nope".into())
    );

    let again = rig.scheduler("1d").await;
    rig.settle(&again, 1).await;
    let status = &again.list().await.unwrap()[0];
    assert_eq!(status.last_started_at.as_deref(), Some("2026-01-01T00:00:00.000Z"), "loaded from the database");
    assert_eq!(rig.runs(), 1, "ran yesterday-less-than-a-day ago: not due");
}

#[actix_rt::test]
async fn the_admin_api_lists_jobs_and_runs_one_now() {
    let team = Team::new().await;
    let (status, jobs) = team.call("GET", "/api/v1/admin/schedules", &team.admin, None).await;
    assert_eq!(status, 200, "{jobs}");
    let names: Vec<&str> = jobs["items"].as_array().unwrap().iter().map(|j| j["job"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "health_check",
            "approval_expiry",
            "sheets_sync",
            "sheets_export",
            "sheets_critical_export",
            "backup",
            "backup_verify",
            "pitr_drill"
        ]
    );
    let (status, report) = team.call("POST", "/api/v1/admin/schedules/health_check/run", &team.admin, None).await;
    assert_eq!((status, report["ok"].as_bool()), (200, Some(true)), "{report}");
    assert!(report["detail"].as_str().unwrap().starts_with("ready"), "{report}");
    let (_, jobs) = team.call("GET", "/api/v1/admin/schedules", &team.admin, None).await;
    assert_eq!(jobs["items"][0]["last_outcome"], "success");
    assert_eq!(team.call("POST", "/api/v1/admin/schedules/no_such_job/run", &team.admin, None).await.0, 404);
    let (_, sheets) = team.call("POST", "/api/v1/admin/schedules/sheets_sync/run", &team.admin, None).await;
    assert_eq!(
        (sheets["ok"].as_bool(), sheets["detail"].as_str()),
        (Some(true), Some("Sheets sync is disabled ([sheets] enabled = false)"))
    );
    assert_eq!(team.call("GET", "/api/v1/admin/schedules", &team.approver, None).await.0, 403);
}
