//! The single writer. **This module (`store::writer`) is the only one that opens the live database
//! read-write** (`store::open::ReadWrite::Writer`, and `ReadWrite::Checkpointer` for `checkpointer.rs`,
//! which writes no rows; `handle.rs` beside it is the door; `../transaction.rs` holds the transactions).
//!
//! `WriterActor` lives alone on its own arbiter thread and owns that connection. Callers reach it only
//! through [`WriterHandle`]: they submit a [`Command`] and are answered after the transaction holding it
//! (and its audit event) committed. Commands that arrive while a batch is pending join it: the submit
//! handler queues the command and schedules one `Flush` with `ctx.notify`, which actix runs only after the
//! mailbox already queued is drained, so concurrent commands share one `BEGIN IMMEDIATE … COMMIT` (group
//! commit) with a SAVEPOINT each, and one failing command does not fail its neighbours.
//!
//! `WriterActor` has no `Default` and no public constructor, so actix's registry (`get_or_start_default`)
//! can never start a second writer. A batch runs under `catch_panic` as well as the actor's guard: a panic
//! inside it fails every command of that batch, nothing of it written, and batches already acknowledged
//! stay. The writer is the one actor that does long work on its own thread by design (it is alone there);
//! it declares that work (`registry.busy`: vacuum, checkpoint, a restore's swap) so the watchdog does not
//! count it as stuck.

use super::config::StoreConfig;
use super::storage::StorageWatch;
use super::transaction::{apply_alone, apply_batch, apply_together};
use super::{migrate, pragmas};
use crate::domain::{
    format_timestamp, Actor, Applied, ApprovalStatus, Clock, Command, CommandError, CommandOutcome, ItemAction,
    Restored, RunStatus,
};
use crate::guard::catch_panic;
use crate::registry::{names, ActorRegistry};
use crate::store::open::ReadWrite;
use actix::prelude::*;
use actix::Supervisor;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

type Reply = oneshot::Sender<Result<CommandOutcome, CommandError>>;

/// True when a committed outcome may have queued a run (the runner's cue).
fn queues_a_run(outcome: &CommandOutcome) -> bool {
    match &outcome.applied {
        Applied::Run(run) => run.status == RunStatus::Queued,
        Applied::Approval(approval) => {
            approval.action == ItemAction::Execute && approval.status == ApprovalStatus::Approved
        }
        _ => false,
    }
}

/// Counters for the benchmark and metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    /// Sum of commit durations in microseconds.
    pub commit_micros: AtomicU64,
    /// Commands submitted and not answered yet (the writer's queue depth).
    pub in_flight: AtomicU64,
    /// Commands in the last committed batch.
    pub last_batch: AtomicU64,
    /// Bumped after anything the writer wrote to the WAL (a batch, a command alone, a vacuum): the
    /// checkpointer's cue.
    pub wal_writes: AtomicU64,
    /// Bumped after a commit that created or revoked a token, and after a restore, before any caller is
    /// answered: a token table cached with an older value is stale.
    pub tokens_generation: AtomicU64,
    /// Set when the writer closed the database for good (Atlas is stopping).
    pub closed: std::sync::atomic::AtomicBool,
}

/// The writer's first open: the file is checked (bounded `quick_check`) before anything is written to it,
/// migrations included; a damaged one is opened as it is, for the writer to refuse every write.
fn open_checked(config: &StoreConfig, clock: &dyn Clock, storage: &StorageWatch) -> Result<Connection, String> {
    let path = &config.path;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| format!("cannot create data directory {}: {err}", dir.display()))?;
    }
    let mut conn = crate::store::open::read_write(path, ReadWrite::Writer { create: true })
        .map_err(|err| format!("cannot open database {}: {err}", path.display()))?;
    pragmas::for_writer(&conn, config).map_err(|err| format!("cannot configure database {}: {err}", path.display()))?;
    match super::storage::quick_check(&conn, config.start_check_budget) {
        Ok(None) => {}
        Ok(Some(problems)) => {
            let detail =
                format!("the database failed its start-up quick_check ({})", crate::domain::text::clip(&problems));
            storage.damaged(detail, super::storage::RESTORE_ADVICE.to_owned());
            return Ok(conn);
        }
        Err(why) => tracing::warn!(%why, "The start-up quick_check was cut short; the start goes on."),
    }
    migrate::apply_pending(&mut conn, &format_timestamp(clock.now()))
        .map_err(|err| format!("database {}: {err}", path.display()))?;
    if config.capture_changes {
        super::capture::assert_capturable(&conn).map_err(|why| format!("database {}: {why}", path.display()))?;
    }
    install_config(&conn, config)?;
    Ok(conn)
}

/// What the writer's connection holds of the config (TEMP, per connection): the sink routes, the quorum,
/// the approval policy.
fn install_config(conn: &Connection, config: &StoreConfig) -> Result<(), String> {
    super::sinks::install(conn, &config.sink_routes)
        .and_then(|()| super::quorum::install(conn, &config.quorum))
        .and_then(|()| super::gate::install(conn, &config.policy, config.allow_self_approval))
        .map_err(|err| format!("cannot install the sink routes, quorum and policy on {}: {err}", config.path.display()))
}

/// Opens a database that must exist (a restore's swap and its rollback never create one).
/// `migrate` is false for a damaged database (nothing is written to it, migrations included).
fn open_existing(config: &StoreConfig, clock: &dyn Clock, migrate: bool) -> Result<Connection, String> {
    open_with(config, clock, false, migrate)
}

fn open_with(config: &StoreConfig, clock: &dyn Clock, create: bool, migrate: bool) -> Result<Connection, String> {
    let path = &config.path;
    let mut conn = crate::store::open::read_write(path, ReadWrite::Writer { create })
        .map_err(|err| format!("cannot open database {}: {err}", path.display()))?;
    pragmas::for_writer(&conn, config).map_err(|err| format!("cannot configure database {}: {err}", path.display()))?;
    if migrate {
        migrate::apply_pending(&mut conn, &format_timestamp(clock.now()))
            .map_err(|err| format!("database {}: {err}", path.display()))?;
        install_config(&conn, config)?;
    }
    Ok(conn)
}

/// `atlas migrate`: opens the database, applies pending migrations, closes it. Returns what was applied.
pub fn migrate_database(config: &StoreConfig, clock: &dyn Clock) -> Result<migrate::SchemaStatus, String> {
    let _lock = crate::store::lock::DataLock::acquire(&config.path)
        .map_err(|err| format!("{err}; a second writer on its database is refused"))?;
    if let Some(report) = super::swap::recover_leftover(&config.path)? {
        eprintln!("atlas: {report}");
    }
    crate::store::lock::refuse_other_names(&config.path)?;
    let storage = StorageWatch::default();
    let conn = open_checked(config, clock, &storage)?;
    if let Err(why) = storage.check() {
        return Err(format!("nothing was migrated: {why}"));
    }
    let status = migrate::check(&conn).map_err(|err| err.to_string())?;
    conn.close().map_err(|(_, err)| format!("closing {}: {err}", config.path.display()))?;
    Ok(status)
}

struct Pending {
    command: Command,
    actor: Actor,
    reply: Reply,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Submit(Pending);

#[derive(Message)]
#[rtype(result = "()")]
struct Flush;

#[derive(Message)]
#[rtype(result = "Result<(), String>")]
struct Ping;

#[derive(Message)]
#[rtype(result = "Result<(), String>")]
struct Shutdown;

#[cfg(feature = "fault-injection")]
#[derive(Message)]
#[rtype(result = "()")]
struct Inject(crate::fault::Fault);

/// The actor. Private: nothing outside this file can construct one or send it a message.
struct WriterActor {
    config: StoreConfig,
    clock: Arc<dyn Clock>,
    conn: Option<Connection>,
    pending: Vec<Pending>,
    flush_scheduled: bool,
    /// Set by `Shutdown`: no more commands are taken.
    closed: bool,
    registry: ActorRegistry,
    stats: Arc<WriterStats>,
    /// Bumped after a COMMIT that queued a run.
    runs_queued: Arc<watch::Sender<u64>>,
    last_failure: Option<String>,
    /// Full, failing or damaged storage, as the outcomes of writes show it.
    storage: StorageWatch,
    /// Background WAL checkpoints; paused while the file must hold still. None when SQLite checkpoints.
    checkpointer: Option<Checkpointer>,
    /// Why commands are refused as `Restoring` (a restore holds writes), if they are.
    held: Option<String>,
    /// The data lock, held for as long as this actor may write.
    _lock: crate::store::lock::DataLock,
    #[cfg(feature = "fault-injection")]
    panic_in_next_batch: bool,
}

impl actix::Actor for WriterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.config.writer_mailbox_capacity);
        if self.conn.is_none() && !self.closed {
            // A restart: a damaged database is reopened as it is, never migrated.
            let migrate = self.storage.refusal().is_none();
            match open_with(&self.config, self.clock.as_ref(), true, migrate) {
                Ok(conn) => self.conn = Some(conn),
                Err(reason) => {
                    // Nothing sensible to retry here: systemd restarts the whole daemon.
                    self.registry.escalate(names::WRITER, format!("reopening the database failed: {reason}"));
                    return;
                }
            }
        }
        self.registry.beat::<Self>(names::WRITER, ctx);
        // Commands queued before a restart lost their scheduled flush with the old context.
        if !self.pending.is_empty() {
            self.flush_scheduled = true;
            ctx.notify(Flush);
        }
    }
}

impl actix::Supervised for WriterActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Drop the connection: whatever state it was left in, the restarted actor starts from a fresh one.
        self.conn = None;
        self.flush_scheduled = false;
        self.registry.restarting(names::WRITER, self.last_failure.take());
    }
}

impl WriterActor {
    fn fail_pending(&mut self, error: &CommandError) {
        for pending in self.pending.drain(..) {
            let _ = pending.reply.send(Err(error.clone()));
        }
    }

    /// Applies up to `writer_max_batch` queued commands in one transaction, then answers their callers.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        self.flush_scheduled = false;
        let take = self.pending.len().min(self.config.writer_max_batch.max(1));
        let batch: Vec<Pending> = self.pending.drain(..take).collect();
        if !self.pending.is_empty() {
            self.flush_scheduled = true;
            ctx.notify(Flush);
        }
        if batch.is_empty() {
            return;
        }
        let Some(conn) = self.conn.as_ref() else {
            let error = CommandError::Unavailable("the writer has no database connection".into());
            batch.into_iter().for_each(|p| drop(p.reply.send(Err(error.clone()))));
            return;
        };
        let now = format_timestamp(self.clock.now());
        #[cfg(feature = "fault-injection")]
        let panic_midway = std::mem::take(&mut self.panic_in_next_batch);
        #[cfg(not(feature = "fault-injection"))]
        let panic_midway = false;
        let started = std::time::Instant::now();
        let commands: Vec<(&Command, &Actor)> = batch.iter().map(|p| (&p.command, &p.actor)).collect();
        match catch_panic(|| apply_batch(conn, &commands, &now, panic_midway, self.config.capture_changes)) {
            Ok(Ok(results)) => {
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                self.stats.commands.fetch_add(batch.len() as u64, Ordering::Relaxed);
                self.stats.commit_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                self.stats.last_batch.store(batch.len() as u64, Ordering::Relaxed);
                self.stats.wal_writes.fetch_add(1, Ordering::Relaxed);
                self.storage.observe(results.iter().filter_map(|r| r.as_ref().err()), true);
                let tokens_changed = batch.iter().zip(&results).any(|(pending, result)| {
                    result.is_ok()
                        && matches!(pending.command, Command::CreateToken { .. } | Command::RevokeToken { .. })
                });
                if tokens_changed {
                    self.stats.tokens_generation.fetch_add(1, Ordering::Release);
                }
                if results.iter().any(|r| r.as_ref().is_ok_and(queues_a_run)) {
                    self.runs_queued.send_modify(|count| *count += 1);
                }
                for (pending, result) in batch.into_iter().zip(results) {
                    let _ = pending.reply.send(result);
                }
            }
            Ok(Err(err)) => {
                tracing::error!(error = %err, commands = batch.len(), "Write batch failed and was rolled back.");
                let error = super::storage::classify(&err);
                self.storage.observe([&error], false);
                batch.into_iter().for_each(|p| drop(p.reply.send(Err(error.clone()))));
            }
            Err(panic) => {
                tracing::error!(%panic, commands = batch.len(), "Writer panicked inside a batch; restarting it.");
                let error = CommandError::Unavailable(format!(
                    "the writer failed while applying this batch, nothing in it was written ({panic})"
                ));
                batch.into_iter().for_each(|p| drop(p.reply.send(Err(error.clone()))));
                self.fail_pending(&error);
                self.last_failure = Some(panic);
                ctx.stop();
            }
        }
    }
}

impl Handler<Submit> for WriterActor {
    type Result = ();

    fn handle(&mut self, Submit(pending): Submit, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| actor.take(pending, ctx))
    }
}

impl WriterActor {
    fn take(&mut self, pending: Pending, ctx: &mut Context<Self>) {
        if self.closed {
            let _ = pending.reply.send(Err(CommandError::Unavailable("Atlas is shutting down".into())));
            return;
        }
        if let Some(refusal) = self.storage.refusal() {
            let _ = pending.reply.send(Err(refusal));
            return;
        }
        if let Some(why) = &self.held {
            let _ = pending.reply.send(Err(CommandError::Restoring(why.clone())));
            return;
        }
        self.pending.push(pending);
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.notify(Flush);
        }
    }
}

impl Handler<Flush> for WriterActor {
    type Result = ();

    fn handle(&mut self, _: Flush, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| actor.flush(ctx))
    }
}

impl WriterActor {
    fn ping(&mut self) -> Result<(), String> {
        let conn = self.conn.as_ref().ok_or("the writer has no database connection")?;
        conn.query_row("SELECT count(*) FROM schema_migrations", [], |row| row.get::<_, i64>(0))
            .map(drop)
            .map_err(|err| format!("writer connection failed a query: {err}"))
    }
}

impl WriterActor {
    /// Applies everything queued, checkpoints the WAL into the database file and closes the connection.
    fn shut_down(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        self.closed = true;
        self.stats.closed.store(true, Ordering::Release);
        while !self.pending.is_empty() {
            self.flush(ctx);
        }
        if let Some(checkpointer) = self.checkpointer.take() {
            checkpointer.pause();
        }
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        // Every acknowledged write is committed to the WAL; folding it into the database is tidiness, not
        // durability. On a full disk the fold fails: the WAL is then fsynced and the next start folds it.
        if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            let mut wal = self.config.path.clone().into_os_string();
            wal.push("-wal");
            let synced = std::fs::File::open(&wal).and_then(|file| file.sync_all());
            tracing::warn!(error = %err, wal_synced = synced.is_ok(), "The WAL could not be folded into the database at shutdown (is the disk full?); every acknowledged write is in the WAL, and the next start folds it in.");
            synced.map_err(|e| format!("the WAL could not be checkpointed ({err}) nor synced ({e})"))?;
        }
        conn.close().map_err(|(_, err)| format!("closing the database failed: {err}"))?;
        self.registry.stopped(names::WRITER);
        tracing::info!("Writer closed the database cleanly.");
        Ok(())
    }
}

impl Handler<Ping> for WriterActor {
    type Result = Result<(), String>;

    fn handle(&mut self, _: Ping, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, _| actor.ping())
    }
}

impl Handler<Shutdown> for WriterActor {
    type Result = Result<(), String>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| actor.shut_down(ctx))
    }
}

impl crate::guard::Guarded for WriterActor {
    const NAME: &'static str = names::WRITER;
    fn registry(&self) -> &ActorRegistry {
        &self.registry
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<Inject> for WriterActor {
    type Result = ();

    fn handle(&mut self, Inject(fault): Inject, ctx: &mut Context<Self>) {
        use crate::fault::Fault;
        match fault {
            Fault::PanicInNextBatch | Fault::PanicInHandler => self.panic_in_next_batch = true,
            Fault::Stall(duration) => std::thread::sleep(duration),
            Fault::PanicNow => {
                if let Err(panic) = catch_panic(|| panic!("injected fault: writer panic")) {
                    self.last_failure = Some(panic);
                    ctx.stop();
                }
            }
        }
    }
}

mod checkpointer;
mod handle;
mod maintain;
pub use maintain::{Bookkeeping, Maintenance};
mod replace;
use checkpointer::Checkpointer;
pub use handle::WriterHandle;
use replace::Replace;
pub use replace::SafetyBackup;
pub(crate) use replace::{HoldWrites, ReleaseWrites};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_is_durable_against_power_loss_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let conn =
            open_with(&StoreConfig::at(dir.path().join("atlas.db")), &crate::domain::SystemClock, true, true).unwrap();
        let level: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0)).unwrap();
        assert_eq!(level, 2, "synchronous = FULL: an acknowledged commit survives a power loss in WAL mode");
    }
}
