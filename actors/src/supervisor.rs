//! Starts every actor in order and watches them. Order matters: the writer creates (and migrates) the
//! database before the read-only pool opens it; the runner recovers interrupted runs before it takes new
//! ones; the scheduler starts last, once every job's owner is there. An actor whose address dies for good
//! (it escaped the panic guard) is escalated, so the process exits non-zero and systemd restarts it.

use crate::alerts::actor::{AlertsConfig, NotifierHandle};
use crate::backup::{BackupConfig, BackupHandle, BACKUP, BACKUP_VERIFY};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::Clock;
use crate::health::{HealthConfig, HealthHandle, HEALTH_CHECK};
use crate::housekeeper::{HousekeeperHandle, HousekeepingConfig, APPROVAL_EXPIRY};
use crate::pitr::{PitrHandle, PITR_DRILL};
use crate::registry::{names, ActorRegistry};
use crate::runner::{RunnerConfig, RunnerHandle};
use crate::scheduler::{JobDefinition, SchedulerHandle};
use crate::sheets::actor::{SheetsSyncConfig, SheetsSyncHandle, SHEETS_CRITICAL, SHEETS_EXPORT, SHEETS_SYNC};
use crate::sinks::{SinkConfig, SinksHandle};
use crate::store::{ReaderPool, StoreConfig, WriterHandle};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the supervisor looks for dead actors.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// Every job the scheduler knows, with its default schedule.
pub const JOBS: &[(&str, &str)] = &[
    (HEALTH_CHECK, "15m"),
    (APPROVAL_EXPIRY, "5m"),
    (SHEETS_SYNC, "1h"),
    (SHEETS_EXPORT, "1h"),
    (SHEETS_CRITICAL, "15m"),
    (BACKUP, "24h"),
    (BACKUP_VERIFY, "6h"),
    (PITR_DRILL, "7d"),
];

#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub store: StoreConfig,
    pub health: HealthConfig,
    pub runner: RunnerConfig,
    pub housekeeping: HousekeepingConfig,
    /// Job name → schedule text (`15m`, `0 * * * *`, `off`); missing jobs use their default.
    pub schedules: BTreeMap<String, String>,
    /// How often the scheduler looks for due jobs.
    pub scheduler_tick: Duration,
    /// `None`: Sheets sync is disabled and Atlas runs without Google.
    pub sheets: Option<SheetsSyncConfig>,
    pub backup: BackupConfig,
    pub alerts: AlertsConfig,
    /// `[[sinks]]`; their routes must also be in `store.sink_routes` (the settings put them there).
    pub sinks: Vec<SinkConfig>,
}

impl SupervisorConfig {
    pub fn new(store: StoreConfig) -> Self {
        Self {
            health: HealthConfig::default(),
            runner: RunnerConfig::default(),
            housekeeping: HousekeepingConfig::default(),
            schedules: BTreeMap::new(),
            scheduler_tick: Duration::from_secs(1),
            backup: BackupConfig {
                dir: store.path.parent().map_or_else(|| "backups".into(), |dir| dir.join("../backups")),
                database: store.path.clone(),
                keep: 7,
                options: crate::backup::file::BackupOptions::default(),
                offsite: None,
                pitr: None,
            },
            store,
            sheets: None,
            alerts: AlertsConfig::default(),
            sinks: Vec::new(),
        }
    }
}

/// A damaged database: the advice names the newest verified backup, when there is one.
fn advise_restore(writer: &WriterHandle, backups: &std::path::Path) {
    let newest = crate::backup::file::list(backups)
        .unwrap_or_default()
        .into_iter()
        .find(|manifest| manifest.verified_ok == Some(true));
    if let Some(manifest) = newest {
        let id = manifest.id;
        writer.storage().advise(format!(
            "restore the newest verified backup, {id}: `POST /api/v1/admin/backups/{id}/restore` with \
             {{\"confirm\": true}} (or stop Atlas and run `atlas backup restore {id} --yes`)"
        ));
    }
}

/// Handles to everything that runs. Cloning is cheap.
#[derive(Clone)]
pub struct Handles {
    pub writer: WriterHandle,
    pub readers: ReaderPool,
    pub health: HealthHandle,
    pub runner: RunnerHandle,
    pub scheduler: SchedulerHandle,
    pub housekeeper: HousekeeperHandle,
    pub sheets: SheetsSyncHandle,
    pub backup: BackupHandle,
    pub pitr: PitrHandle,
    pub sinks: SinksHandle,
    pub notifier: NotifierHandle,
    /// Signs and checks approval links (`notify/links.rs`).
    pub link_key: crate::notify::links::LinkKey,
    pub registry: ActorRegistry,
}

impl Handles {
    /// Resolves with the reason once an actor could not be kept alive.
    pub async fn fatal(&self) -> String {
        self.registry.fatal().await
    }

    /// Interrupts live runs (killing their process groups, recording them) while a notification being
    /// sent ends, ships what the outbox holds, then lets the writer finish what it queued, checkpoint and
    /// close the database.
    pub async fn shutdown(&self) -> Result<(), String> {
        let notifier = self.notifier.drain(Duration::from_secs(3));
        futures_util::future::join(self.runner.interrupt_all(Duration::from_secs(3)), notifier).await;
        self.pitr.ship_now(Duration::from_secs(5)).await;
        self.writer.shutdown().await
    }
}

/// Checks every configured schedule, naming the job.
pub fn validate_schedules(schedules: &BTreeMap<String, String>) -> Result<(), String> {
    for (job, text) in schedules {
        if !JOBS.iter().any(|(known, _)| known == job) {
            let known: Vec<&str> = JOBS.iter().map(|(name, _)| *name).collect();
            return Err(format!("unknown job {} (known: {})", crate::domain::text::clip(job), known.join(", ")));
        }
        ScheduleSpec::parse(text).map_err(|err| format!("job {job}: {err}"))?;
    }
    Ok(())
}

/// Starts Writer, ReaderPool, Health, Runner, Housekeeper and Scheduler. Must run inside an actix `System`.
pub async fn start(config: SupervisorConfig, clock: Arc<dyn Clock>) -> Result<Handles, String> {
    validate_schedules(&config.schedules)?;
    let registry = ActorRegistry::new();
    let writer = WriterHandle::start(config.store.clone(), clock.clone(), registry.clone())?;
    if writer.storage().refusal().is_some() {
        advise_restore(&writer, &config.backup.dir);
    }
    let readers = ReaderPool::open(&config.store)?;
    // The database's real directory, where the data lock is (a symlinked database is another directory's).
    let data_dir = crate::store::lock::data_dir(&config.store.path);
    let link_key = crate::notify::links::LinkKey::of_data_dir(&data_dir)
        .map_err(|err| format!("cannot keep the approval links' key in {}: {err}", data_dir.display()))?;
    let notifier =
        NotifierHandle::start(config.alerts, writer.clone(), readers.clone(), link_key.clone(), registry.clone())?;
    let health = HealthHandle::start(
        writer.clone(),
        readers.clone(),
        registry.clone(),
        config.health,
        notifier.clone(),
        clock.clone(),
    );
    let mut runner_config = config.runner;
    runner_config.instance = crate::runner::instance::of_data_dir(&data_dir)
        .map_err(|err| format!("cannot keep this Atlas's instance id in {}: {err}", data_dir.display()))?;
    let runner = RunnerHandle::start(runner_config, writer.clone(), readers.clone(), registry.clone()).await?;
    let housekeeper = HousekeeperHandle::start(config.housekeeping, writer.clone(), clock.clone(), registry.clone());
    let sheets =
        SheetsSyncHandle::start(config.sheets, writer.clone(), readers.clone(), clock.clone(), registry.clone());
    let pitr_parts = pitr_parts(&config.backup);
    let backup_dir = config.backup.dir.clone();
    let backup = BackupHandle::start(config.backup, writer.clone(), readers.clone(), clock.clone(), registry.clone());
    let pitr = match pitr_parts {
        Some((pitr_config, offsite)) => PitrHandle::start(crate::pitr::ShipperParts {
            config: pitr_config,
            offsite,
            writer: writer.clone(),
            readers: readers.clone(),
            backup: backup.clone(),
            backup_dir,
            clock: clock.clone(),
            registry: registry.clone(),
        }),
        None => PitrHandle::disabled(),
    };
    let sinks = SinksHandle::start(config.sinks, readers.clone(), writer.clone(), clock.clone(), registry.clone())?;
    let mut jobs = Vec::new();
    for (name, default) in JOBS {
        let schedule = config.schedules.get(*name).cloned().unwrap_or_else(|| (*default).to_owned());
        let spec = ScheduleSpec::parse(&schedule).map_err(|err| format!("job {name}: {err}"))?;
        let target = match *name {
            HEALTH_CHECK => health.jobs(),
            APPROVAL_EXPIRY => housekeeper.jobs(),
            BACKUP | BACKUP_VERIFY | PITR_DRILL => backup.jobs(),
            _ => sheets.jobs(),
        };
        jobs.push(JobDefinition { name, schedule, spec, target });
    }
    let scheduler =
        SchedulerHandle::start(jobs, clock, writer.clone(), &readers, registry.clone(), config.scheduler_tick).await?;
    let handles = Handles {
        writer,
        readers,
        health,
        runner,
        scheduler,
        housekeeper,
        sheets,
        backup,
        pitr,
        sinks,
        notifier,
        link_key,
        registry,
    };
    actix::spawn(watch(handles.clone()));
    Ok(handles)
}

/// The shipper's settings and store, when `[pitr]` is on; an unusable store is logged (shipping then
/// waits for a restart with a fixed config, and the outbox lag alert fires).
fn pitr_parts(backup: &BackupConfig) -> Option<(crate::pitr::PitrConfig, crate::backup::offsite::Offsite)> {
    let (pitr, offsite) = (backup.pitr.clone()?, backup.offsite.as_ref()?);
    match crate::backup::offsite::Offsite::open(offsite) {
        Ok(store) => Some((pitr, store)),
        Err(why) => {
            tracing::error!(error = %why, "Point-in-time shipping cannot start: off-site storage is unusable.");
            None
        }
    }
}

/// Escalates any actor whose mailbox closed: that happens only when it died outside the guard.
async fn watch(handles: Handles) {
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    loop {
        ticker.tick().await;
        let actors = [
            (names::WRITER, handles.writer.is_alive()),
            (names::HEALTH, handles.health.is_alive()),
            (names::RUNNER, handles.runner.is_alive()),
            (names::SCHEDULER, handles.scheduler.is_alive()),
            (names::HOUSEKEEPER, handles.housekeeper.is_alive()),
            (names::SHEETS, handles.sheets.is_alive()),
            (names::BACKUP, handles.backup.is_alive()),
            (names::NOTIFIER, handles.notifier.is_alive()),
            (names::PITR, handles.pitr.is_alive()),
            (names::SINKS, handles.sinks.is_alive()),
        ];
        if let Some((name, _)) = actors.iter().find(|(_, alive)| !alive) {
            handles.registry.escalate(name, "its mailbox closed: it died and cannot be restarted".into());
            return;
        }
    }
}
