//! `WriterHandle`: the only door to the writer (starting it, submitting, maintenance, restore, shutdown).

use super::*;

/// The only door to the writer. Cloning it is cheap; every clone talks to the same actor.
#[derive(Clone)]
pub struct WriterHandle {
    addr: Addr<WriterActor>,
    stats: Arc<WriterStats>,
    runs_queued: Arc<watch::Sender<u64>>,
    storage: StorageWatch,
}

impl WriterHandle {
    /// Opens (and migrates) the database, then starts the writer alone on a new arbiter thread.
    /// Must be called inside a running actix `System`.
    pub fn start(config: StoreConfig, clock: Arc<dyn Clock>, registry: ActorRegistry) -> Result<Self, String> {
        // The data lock first, held by the actor for its life: no writer without it (`store/lock.rs`).
        let lock = crate::store::lock::DataLock::acquire(&config.path)
            .map_err(|err| format!("{err}; a second writer on its database is refused"))?;
        // A restore that died midway is rolled back before the database is opened, and reported.
        let interrupted = crate::store::swap::recover_leftover(&config.path)?;
        crate::store::lock::refuse_other_names(&config.path)?;
        let storage = StorageWatch::default();
        let conn = open_checked(&config, clock.as_ref(), &storage)?;
        if let Some(report) = &interrupted {
            tracing::error!(report = %report, "An interrupted restore was rolled back.");
        }
        // Recorded in the database unless it is damaged (then nothing is written to it).
        if let Some(report) = interrupted.filter(|_| storage.refusal().is_none()) {
            let error = crate::domain::command::NewHotlistError {
                id: crate::domain::ErrorId::generate(),
                task_id: None,
                error: report,
                severity: crate::domain::Severity::Critical,
                source: "backup".into(),
            };
            apply_alone(&conn, &Command::RecordError(error), &format_timestamp(clock.now()))?;
        }
        let stats = Arc::new(WriterStats::default());
        let actor_stats = stats.clone();
        let runs_queued = Arc::new(watch::channel(0).0);
        let actor_runs_queued = runs_queued.clone();
        let actor_storage = storage.clone();
        let checkpointer = (!config.checkpoint_every.is_zero()).then(|| {
            let busy_timeout = std::time::Duration::from_millis(config.busy_timeout_ms.into());
            Checkpointer::start(
                config.path.clone(),
                busy_timeout,
                config.checkpoint_every,
                storage.clone(),
                stats.clone(),
            )
        });
        let arbiter = Arbiter::new();
        let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| WriterActor {
            config,
            clock,
            conn: Some(conn),
            pending: Vec::new(),
            flush_scheduled: false,
            closed: false,
            registry,
            stats: actor_stats,
            runs_queued: actor_runs_queued,
            last_failure: None,
            storage: actor_storage,
            checkpointer,
            held: None,
            _lock: lock,
            #[cfg(feature = "fault-injection")]
            panic_in_next_batch: false,
        });
        Ok(Self { addr, stats, runs_queued, storage })
    }

    /// Applies `command` on behalf of `actor`; resolves only after COMMIT (or with why it was not applied).
    pub async fn submit(&self, command: Command, actor: Actor) -> Result<CommandOutcome, CommandError> {
        let (reply, answer) = oneshot::channel();
        // Counted down on drop, so a caller that gives up (a closed HTTP connection) is not counted forever.
        struct InFlight<'a>(&'a AtomicU64);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        let _counted = InFlight(&self.stats.in_flight);
        let sent = self.addr.send(Submit(Pending { command, actor, reply })).await;
        let answered = match sent {
            Ok(()) => answer.await.map_err(|_| {
                CommandError::Unavailable("the writer stopped before answering; the command was not applied".into())
            }),
            Err(err) => Err(CommandError::Unavailable(format!("the writer is not running ({err})"))),
        };
        answered?
    }

    /// Proves the writer thread answers and its connection can run a query.
    pub async fn ping(&self) -> Result<(), String> {
        self.addr.send(Ping).await.map_err(|err| format!("the writer is not running ({err})"))?
    }

    /// Runs a checkpoint or a vacuum on the writer's connection, after everything already queued, and
    /// audits it in `by`'s name before answering.
    pub async fn maintain(&self, what: Maintenance, by: Actor) -> Result<String, CommandError> {
        let sent = self.addr.send(super::maintain::Maintain(what, by)).await;
        sent.map_err(|err| CommandError::Unavailable(format!("the writer is not running ({err})")))?
    }

    /// The shipper's and the sinks' bookkeeping on the writer's connection (not audited: `Bookkeeping`).
    pub async fn keep_books(&self, what: Bookkeeping) -> Result<String, CommandError> {
        let sent = self.addr.send(super::maintain::KeepBooks(what)).await;
        sent.map_err(|err| CommandError::Unavailable(format!("the writer is not running ({err})")))?
    }

    /// Refuses every command as `Restoring` until the next `replace_database` or `release_writes`; answers
    /// once everything queued before is committed.
    pub async fn hold_writes(&self, why: &str) -> Result<(), String> {
        self.addr
            .send(super::HoldWrites(why.to_owned()))
            .await
            .map_err(|err| format!("the writer is not running ({err})"))
    }

    /// Ends `hold_writes` without a swap.
    pub async fn release_writes(&self) {
        let _ = self.addr.send(super::ReleaseWrites).await;
    }

    /// Swaps the database file for `with` (see `Replace`), first copying the current one to `safety_copy`.
    /// Commands sent meanwhile wait in the mailbox and apply to the restored database.
    /// `record` names who asked and what; the restored database holds it as its first event after the swap.
    pub async fn replace_database(
        &self,
        with: std::path::PathBuf,
        safety: SafetyBackup,
        record: (Actor, Restored),
    ) -> Result<String, String> {
        self.addr
            .send(Replace { with, safety, record })
            .await
            .map_err(|err| format!("the writer is not running ({err})"))?
    }

    /// Finishes queued commands, checkpoints and closes the database. Later submits are refused.
    pub async fn shutdown(&self) -> Result<(), String> {
        self.addr.send(Shutdown).await.map_err(|err| format!("the writer is not running ({err})"))?
    }

    /// Whether the writer closed the database for good (Atlas is stopping).
    pub fn is_closed(&self) -> bool {
        self.stats.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// False once the actor is gone for good (it died outside the panic guard).
    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }

    /// Changes after every COMMIT that queued a run, so the runner starts it at once.
    pub fn watch_queued_runs(&self) -> watch::Receiver<u64> {
        self.runs_queued.subscribe()
    }

    /// What the outcomes of writes say about the storage (and the start-up check).
    pub fn storage(&self) -> &StorageWatch {
        &self.storage
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(Inject(fault)).await;
    }
}
