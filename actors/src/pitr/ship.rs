//! The shipper: every `pitr.ship_every_s`, the outbox goes off-site in segments, and each segment's rows
//! leave the outbox only once its upload is confirmed. An empty outbox uploads nothing. Failures back off
//! (doubling, at most five minutes); the lag they cause is what Health alerts on. The shipper also sees
//! that a snapshot starts the chain it ships (asking Backup for one after a migration or a restore) and
//! prunes segments no kept snapshot needs. Only the bucket's owner ships or prunes (`backup/owner.rs`):
//! any other database keeps its outbox, and the lag it causes is alerted on like any failure.

use super::segment;
use super::{PitrBase, PitrConfig, PitrMonitor};
use crate::backoff::Backoff;
use crate::backup::file::{self, Manifest};
use crate::backup::offsite::Offsite;
use crate::backup::owner;
use crate::backup::{BackupHandle, BackupRequest};
use crate::domain::{format_timestamp, Clock};
use crate::registry::{names, ActorRegistry};
use crate::store::{Bookkeeping, ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows read per segment at most (a segment is also cut at `segment_max_bytes`).
const ROWS_PER_SEGMENT: usize = 10_000;
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Segment retention runs at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Everything a cycle needs, cloned out of the actor.
#[derive(Clone)]
struct Work {
    config: PitrConfig,
    offsite: Offsite,
    writer: WriterHandle,
    readers: ReaderPool,
    backup: BackupHandle,
    backup_dir: PathBuf,
    monitor: PitrMonitor,
    clock: Arc<dyn Clock>,
    /// When the next attempt may run after a failure, and when retention last ran.
    timing: Arc<Mutex<Timing>>,
}

#[derive(Default)]
struct Timing {
    retry_at: Option<Instant>,
    pruned_at: Option<Instant>,
}

struct Shipper {
    work: Work,
    registry: ActorRegistry,
    /// One cycle at a time; a tick that finds one running is skipped.
    turn: Arc<tokio::sync::Mutex<()>>,
}

crate::guarded_actor!(Shipper, names::PITR);

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(Shipper);

impl Actor for Shipper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::PITR, ctx);
        crate::guard::every(ctx, self.work.config.ship_every, self.turn.clone(), |actor: &Self| {
            let work = actor.work.clone();
            async move { work.cycle(false).await }
        });
    }
}

impl actix::Supervised for Shipper {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::PITR, None);
    }
}

/// Ship what is waiting now, after any cycle running (a graceful stop; `atlas pitr ship`).
#[derive(Message)]
#[rtype(result = "()")]
struct ShipNow;

impl Handler<ShipNow> for Shipper {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: ShipNow, ctx: &mut Context<Self>) -> Self::Result {
        let (turn, work) = (self.turn.clone(), self.work.clone());
        crate::guard::handle(self, ctx, |actor, ctx| {
            crate::guard::detached(actor, ctx, async move {
                let _turn = turn.lock_owned().await;
                work.cycle(true).await;
            })
        })
    }
}

impl Work {
    /// One cycle: ship, then see to the chain's snapshot and to retention. Failures are recorded.
    async fn cycle(&self, now_regardless: bool) {
        let retry_at = self.timing.lock().ok().and_then(|t| t.retry_at);
        if !now_regardless && retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        let outcome = async {
            self.ship().await?;
            self.see_to_base().await?;
            self.prune_when_due().await
        }
        .await;
        let failures = match &outcome {
            Ok(()) => 0,
            Err(_) => self.monitor.snapshot().consecutive_failures + 1,
        };
        if let Ok(mut timing) = self.timing.lock() {
            timing.retry_at = (failures > 0).then(|| {
                let backoff = Backoff::new(self.config.ship_every.saturating_mul(2), MAX_BACKOFF);
                Instant::now() + backoff.after(failures)
            });
        }
        let now = format_timestamp(self.clock.now());
        self.monitor.update(|state| {
            state.cycles += 1;
            state.consecutive_failures = failures;
            if let Err(why) = &outcome {
                tracing::error!(error = %why, failures, "Point-in-time shipping FAILED; retrying with backoff.");
                state.last_upload_error = Some(format!("{now}: {why}"));
            }
        });
    }

    /// Uploads the outbox segment by segment, trimming each once stored; returns when it is empty.
    async fn ship(&self) -> Result<(), String> {
        loop {
            let limit = self.config.segment_max_bytes;
            let (standing, records) = self
                .readers
                .read(move |conn| Ok((owner::standing(conn)?, super::outbox_rows(conn, ROWS_PER_SEGMENT, limit)?)))
                .await
                .map_err(|e| format!("cannot read the outbox: {e}"))?;
            let Some(mut standing) = standing else { return Ok(()) };
            standing.instance = owner::instance_of(self.readers.database())?;
            let timeline = standing.timeline.clone();
            self.monitor.update(|state| {
                if state.timeline.as_deref() != Some(timeline.as_str()) {
                    // A restore forked the history: nothing said about the old chain holds for this one.
                    *state = super::status::ShipperState { timeline: Some(timeline.clone()), ..state.clone() };
                    (state.base, state.shipped_through_seq, state.shipped_through_at) = (None, None, None);
                }
            });
            let (Some(first), Some(last)) = (records.first(), records.last()) else { return Ok(()) };
            let (first, last_seq, last_at) = (first.seq, last.seq, last.committed_at.clone());
            let body = segment::encode(&records);
            let size = body.len() as u64;
            let owned = self.offsite.owned_by(&standing, false).await?;
            owned.put_object(&segment::name(&timeline, first, last_seq), body).await?;
            self.writer
                .keep_books(Bookkeeping::TrimOutbox { timeline: timeline.clone(), through_seq: last_seq })
                .await
                .map_err(|e| format!("segment {first}-{last_seq} is stored, but the outbox was not trimmed: {e}"))?;
            let now = format_timestamp(self.clock.now());
            tracing::debug!(first, last = last_seq, bytes = size, "Changes shipped off-site.");
            self.monitor.update(|state| {
                state.shipped_through_seq = Some(last_seq);
                state.shipped_through_at = Some(last_at);
                state.last_upload_at = Some(now);
                state.last_upload_error = None;
                state.segments_uploaded += 1;
                state.bytes_uploaded += size;
            });
            if records.len() < ROWS_PER_SEGMENT && size < limit as u64 {
                return Ok(());
            }
        }
    }

    /// A chain is only restorable from a snapshot: when no uploaded backup starts the chain now being
    /// written (a new database, a migration, a restore), Backup is asked for one.
    async fn see_to_base(&self) -> Result<(), String> {
        let position = self
            .readers
            .read(|conn| {
                let schema: u32 = conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0))?;
                super::base_of(conn, schema)
            })
            .await
            .map_err(|e| format!("cannot read the database's timeline: {e}"))?;
        let Some(position) = position else { return Ok(()) };
        let dir = self.backup_dir.clone();
        let local = tokio::task::spawn_blocking(move || file::list(&dir)).await.map_err(|e| e.to_string())??;
        if let Some(base) = local.iter().find(|m| starts(m, &position)) {
            let id = base.id.clone();
            self.monitor.update(|state| (state.base, state.base_error) = (Some(id), None));
            return Ok(());
        }
        tracing::info!(timeline = %position.timeline, schema = position.schema_version,
            "No snapshot starts this recovery chain yet; taking a backup.");
        let made = self
            .backup
            .ask(BackupRequest::Create, crate::domain::Actor::system())
            .await
            .map_err(String::from)
            .and_then(|answer| match answer {
                crate::backup::BackupAnswer::One(m) if m.upload_error.is_none() => Ok(m),
                crate::backup::BackupAnswer::One(m) => {
                    Err(format!("backup {} was made but not uploaded: {}", m.id, m.upload_error.unwrap_or_default()))
                }
                _ => Err("the backup actor answered something else".into()),
            });
        match made {
            Ok(manifest) => {
                self.monitor.update(|state| (state.base, state.base_error) = (Some(manifest.id), None));
                Ok(())
            }
            Err(why) => {
                let why = format!("no snapshot starts the recovery chain: {why}");
                self.monitor.update(|state| (state.base, state.base_error) = (None, Some(why.clone())));
                Err(why)
            }
        }
    }

    /// Deletes segments no kept snapshot needs, at most once an hour.
    async fn prune_when_due(&self) -> Result<(), String> {
        let due = self.timing.lock().ok().is_some_and(|t| t.pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY));
        if !due {
            return Ok(());
        }
        let standing = owner::live_standing(&self.readers).await?;
        let owned = self.offsite.owned_by(&standing, true).await?;
        let bases: Vec<PitrBase> = self.offsite.list().await?.into_iter().filter_map(|m| m.pitr).collect();
        let current = self.monitor.snapshot().timeline.unwrap_or_default();
        let cutoff = self.clock.now() - chrono::Duration::days(i64::from(self.config.keep_days));
        let segments = self.offsite.list_folder("pitr").await?;
        for name in super::retention::unneeded(&segments, &bases, &current, cutoff) {
            owned.delete_object(&name).await?;
        }
        if let Ok(mut timing) = self.timing.lock() {
            timing.pruned_at = Some(Instant::now());
        }
        Ok(())
    }
}

/// Whether `manifest` is an uploaded snapshot starting the chain `position` is in.
fn starts(manifest: &Manifest, position: &PitrBase) -> bool {
    manifest.uploaded_at.is_some()
        && manifest.upload_error.is_none()
        && manifest.verified_ok != Some(false)
        && manifest
            .pitr
            .as_ref()
            .is_some_and(|base| base.timeline == position.timeline && base.schema_version == position.schema_version)
}

/// The shipper's door; without `[pitr]` it holds only the (disabled) monitor.
#[derive(Clone)]
pub struct PitrHandle {
    addr: Option<Addr<Shipper>>,
    pub monitor: PitrMonitor,
}

/// What the shipper is started with.
pub struct ShipperParts {
    pub config: PitrConfig,
    pub offsite: Offsite,
    pub writer: WriterHandle,
    pub readers: ReaderPool,
    pub backup: BackupHandle,
    pub backup_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub registry: ActorRegistry,
}

impl PitrHandle {
    pub fn disabled() -> Self {
        Self { addr: None, monitor: PitrMonitor::new(false, 0.0) }
    }

    pub fn start(parts: ShipperParts) -> Self {
        let monitor = PitrMonitor::new(true, parts.config.max_lag.as_secs_f64());
        let registry = parts.registry.clone();
        let work = Work {
            config: parts.config,
            offsite: parts.offsite,
            writer: parts.writer,
            readers: parts.readers,
            backup: parts.backup,
            backup_dir: parts.backup_dir,
            monitor: monitor.clone(),
            clock: parts.clock,
            timing: Arc::default(),
        };
        let turn = Arc::default();
        let addr = Supervisor::start(move |_| Shipper { work, registry, turn });
        Self { addr: Some(addr), monitor }
    }

    /// Ships what is waiting (after the cycle running, if any); gives up after `within`.
    pub async fn ship_now(&self, within: Duration) {
        if let Some(addr) = &self.addr {
            if tokio::time::timeout(within, addr.send(ShipNow)).await.is_err() {
                tracing::warn!("Shipping the outbox did not finish in time; it goes at the next start.");
            }
        }
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        if let Some(addr) = &self.addr {
            let _ = addr.send(crate::fault::Inject(fault)).await;
        }
    }

    pub fn is_alive(&self) -> bool {
        self.addr.as_ref().is_none_or(Addr::connected)
    }
}
