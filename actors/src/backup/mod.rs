//! The Backup actor: makes, verifies and prunes backups (one operation at a time), for the scheduler's
//! `backup` and `backup_verify` jobs and for the admin API. Every operation is audited through the writer,
//! in the name of who asked: every request names them (`BackupHandle::ask(request, by)`, the scheduler's
//! `RunJob { by }`). A restore verifies the backup, takes a safety backup, and has the writer swap the
//! file while it holds every queued command; the read pool is reopened after. With off-site storage
//! configured, each new backup is uploaded (then remote retention runs), and a remote backup can be
//! listed and restored.

mod checksum;
mod error;
pub use error::BackupError;
pub mod file;
pub mod offsite;
pub mod owner;
mod point;
mod promote;
pub use promote::Promotion;
mod restore;

use crate::domain::Record;
use crate::domain::{Actor as Requester, Clock, Command};
use crate::pitr::rebuild::PointReport;
use crate::pitr::{Target, PITR_DRILL};
use crate::registry::{names, ActorRegistry};
use crate::scheduler::RunJob;
use crate::store::{ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use file::{BackupOptions, Manifest};
use offsite::{Offsite, OffsiteConfig};
use restore::{restore, Restoring, Source};
use std::path::PathBuf;
use std::sync::Arc;

pub const BACKUP: &str = "backup";
pub const BACKUP_VERIFY: &str = "backup_verify";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    pub database: PathBuf,
    pub dir: PathBuf,
    /// Local backups kept (the newest verified one is always kept too).
    pub keep: usize,
    pub options: BackupOptions,
    /// Off-site copies; `None` = local only.
    pub offsite: Option<OffsiteConfig>,
    /// Point-in-time recovery (`[pitr]`); `None` = off. Its snapshots outlive `offsite.keep` for
    /// `pitr.keep_days`.
    pub pitr: Option<crate::pitr::PitrConfig>,
}

/// What the actor can be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupRequest {
    Create,
    Verify(String),
    VerifyNewest,
    List,
    /// Restore this backup (after verifying it and taking a safety backup of the current database).
    Restore(String),
    /// Replace the database with this plain database file (the golden copy), the same way.
    ResetTo(PathBuf),
    /// Upload this local backup off-site (again).
    Upload(String),
    /// Backups in off-site storage.
    ListRemote,
    /// Download this off-site backup, then restore it like a local one.
    RestoreRemote(String),
    /// Rebuild the database as it was at `to` from a snapshot and the shipped changes (`pitr/`), then
    /// swap it in like any restore; with `verify_only`, check the rebuilt copy and throw it away.
    RestoreToPoint {
        to: Target,
        from_remote: bool,
        verify_only: bool,
    },
    /// Make this database the bucket's owner (`owner.rs`) and upload a backup to start its chain.
    Promote,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one answer per request; boxing would only add noise at every match
pub enum BackupAnswer {
    One(Manifest),
    Many(Vec<Manifest>),
    Point(PointReport),
    Promoted(Box<promote::Promotion>),
}

impl BackupAnswer {
    /// The backups a listing answered (one answer as a list of one).
    pub fn manifests(self) -> Vec<Manifest> {
        match self {
            Self::One(manifest) => vec![manifest],
            Self::Many(all) => all,
            Self::Point(_) | Self::Promoted(_) => Vec::new(),
        }
    }

    /// The one backup a request answered.
    pub fn manifest(self) -> Result<Manifest, String> {
        match self {
            Self::One(manifest) => Ok(manifest),
            _ => Err("the backup actor answered something other than one backup".into()),
        }
    }
}

#[derive(Message)]
#[rtype(result = "Result<BackupAnswer, BackupError>")]
struct Ask(BackupRequest, Requester);

struct BackupActor {
    /// What every request works with; each request gets a copy stamped with the time it started.
    work: Work,
    clock: Arc<dyn Clock>,
    registry: ActorRegistry,
    /// One operation at a time, in arrival order; held by the running operation's detached task, so a
    /// restart of the actor never lets a second operation (or a leftover sweep) overlap it.
    turn: Arc<tokio::sync::Mutex<()>>,
}

crate::guarded_actor!(BackupActor, names::BACKUP);

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(BackupActor);

impl Actor for BackupActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::BACKUP, ctx);
    }
}

impl actix::Supervised for BackupActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::BACKUP, None);
    }
}

/// Everything one request needs, cloned out of the actor.
#[derive(Clone)]
struct Work {
    config: Arc<BackupConfig>,
    /// Opened once; an error (bad endpoint) is kept and reported by each off-site request.
    offsite: Option<Result<Offsite, BackupError>>,
    writer: WriterHandle,
    readers: ReaderPool,
    now: chrono::DateTime<chrono::Utc>,
    /// Who asked: the token's name (HTTP, console), `cli:<user>`, or `scheduler`; every event of the
    /// operation is theirs.
    by: Requester,
}

impl Work {
    /// Records what the operation did, in the caller's name.
    async fn audit(&self, id: &str, action: &str, ok: bool, detail: &str) {
        let command = Command::Record(Record::Backup {
            id: id.to_owned(),
            action: action.to_owned(),
            ok,
            detail: detail.to_owned(),
        });
        if let Err(err) = self.writer.submit(command, self.by.clone()).await {
            tracing::warn!(error = %err, "Could not audit a backup operation.");
        }
    }

    fn offsite(&self) -> Result<&Offsite, BackupError> {
        match &self.offsite {
            Some(Ok(offsite)) => Ok(offsite),
            Some(Err(why)) => Err(why.clone()),
            None => Err(BackupError::Refused("off-site storage is not configured (offsite.enabled = false)".into())),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&BackupConfig) -> Result<T, BackupError> + Send + 'static,
    ) -> Result<T, BackupError> {
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || f(&config)).await.map_err(|err| format!("the backup task failed: {err}"))?
    }

    /// Uploads a local backup, records the outcome in its manifest and the audit trail, then prunes remotely.
    async fn upload(&self, id: &str) -> Result<Manifest, BackupError> {
        let offsite = self.offsite()?.clone();
        let manifest = file::load(&self.config.dir, id)?;
        let standing = owner::live_standing(&self.readers).await?;
        let foreign = manifest.pitr.as_ref().map(|base| base.timeline.clone()).filter(|t| *t != standing.timeline);
        let owned = match foreign {
            Some(other) => Err(BackupError::Refused(format!(
                "backup {id} belongs to timeline {other}, not to this database's ({}); only a database's own \
                 backups go to the bucket",
                standing.timeline
            ))),
            None => offsite.owned_by(&standing, true).await,
        };
        let outcome = match &owned {
            Ok(owned) => owned.upload(&self.config.dir, &manifest).await,
            Err(why) => Err(why.clone().context(&format!("off-site upload of {} not attempted", manifest.file))),
        };
        let (dir, now) = (self.config.dir.clone(), self.now);
        let (id_owned, recorded) = (id.to_owned(), outcome.clone());
        let manifest = self.blocking(move |_| file::record_upload(&dir, &id_owned, now, &recorded)).await?;
        match &outcome {
            Ok(()) => {
                tracing::info!(backup = %id, "Backup uploaded off-site.");
                self.audit(id, "uploaded", true, "off-site copy stored").await;
                let keep_days = self.config.pitr.as_ref().map(|p| p.keep_days);
                let cutoff = keep_days
                    .map(|days| crate::domain::format_timestamp(self.now - chrono::Duration::days(days.into())));
                let recent_snapshot = |m: &Manifest| {
                    m.pitr.is_some() && cutoff.as_deref().is_some_and(|cutoff| m.finished_at.as_str() > cutoff)
                };
                let pruned = match &owned {
                    Ok(owned) => owned.prune(recent_snapshot).await,
                    Err(why) => Err(why.clone()),
                };
                match pruned {
                    Ok(pruned) => {
                        for old in pruned {
                            self.audit(&old, "pruned_remote", true, &format!("remote keeps {}", offsite.keep)).await;
                        }
                    }
                    Err(why) => tracing::warn!(error = %why, "Off-site retention failed."),
                }
            }
            Err(why) => {
                tracing::error!(backup = %id, error = %why, "Off-site upload FAILED.");
                self.audit(id, "uploaded", false, why.message()).await;
            }
        }
        Ok(manifest)
    }

    async fn create(&self) -> Result<Manifest, BackupError> {
        let now = self.now;
        let (manifest, pruned) = self
            .blocking(move |config| {
                let manifest = file::create(&config.database, &config.dir, &config.options, now)?;
                Ok((manifest, file::prune(&config.dir, config.keep)?))
            })
            .await?;
        tracing::info!(backup = %manifest.id, bytes = manifest.size_bytes, "Backup created.");
        let detail = format!("{} bytes, checksum {}", manifest.size_bytes, manifest.checksum);
        self.audit(&manifest.id, "created", true, &detail).await;
        for id in pruned {
            self.audit(&id, "pruned", true, &format!("retention keeps {}", self.config.keep)).await;
        }
        if self.offsite.is_some() {
            return self.upload(&manifest.id).await;
        }
        Ok(manifest)
    }

    async fn verify(&self, id: Option<String>) -> Result<Manifest, BackupError> {
        let now = self.now;
        let manifest = self
            .blocking(move |config| {
                let id = match id {
                    Some(id) => id,
                    None => file::list(&config.dir)?.into_iter().next().ok_or("there is no backup to verify yet")?.id,
                };
                file::verify(&config.dir, &id, now)
            })
            .await?;
        let ok = manifest.verified_ok == Some(true);
        if !ok {
            tracing::error!(backup = %manifest.id, detail = ?manifest.verify_detail, "Backup verification FAILED.");
        }
        self.audit(&manifest.id, "verified", ok, manifest.verify_detail.as_deref().unwrap_or("")).await;
        Ok(manifest)
    }

    async fn restore(&self, source: Source, from_remote: bool) -> Result<BackupAnswer, BackupError> {
        let (chosen, _) = restore(self, source, Restoring { to: None, from_remote, detail: String::new() }).await?;
        self.start_chain().await;
        Ok(BackupAnswer::One(chosen))
    }

    /// The request; after a failure, whatever it left half-made is removed.
    async fn perform(self, request: BackupRequest) -> Result<BackupAnswer, BackupError> {
        let outcome = self.clone().perform_once(request).await;
        if outcome.is_err() {
            let _ = self.blocking(|config| Ok(file::sweep_leftovers(&config.dir))).await;
        }
        outcome
    }

    async fn perform_once(self, request: BackupRequest) -> Result<BackupAnswer, BackupError> {
        match request {
            BackupRequest::Create => self.create().await.map(BackupAnswer::One),
            BackupRequest::Verify(id) => self.verify(Some(id)).await.map(BackupAnswer::One),
            BackupRequest::VerifyNewest => self.verify(None).await.map(BackupAnswer::One),
            BackupRequest::List => self.blocking(|config| file::list(&config.dir)).await.map(BackupAnswer::Many),
            BackupRequest::Restore(id) => self.restore(Source::Backup(id), false).await,
            BackupRequest::ResetTo(path) => self.restore(Source::Golden(path), false).await,
            BackupRequest::Upload(id) => {
                let manifest = self.upload(&id).await?;
                match manifest.upload_error {
                    Some(why) => Err(BackupError::Offsite(why)),
                    None => Ok(BackupAnswer::One(manifest)),
                }
            }
            BackupRequest::ListRemote => self.offsite()?.list().await.map(BackupAnswer::Many),
            BackupRequest::RestoreRemote(id) => {
                let downloaded = self.offsite()?.download(&id, &self.config.dir).await?;
                let restored = self.restore(Source::Backup(downloaded.id.clone()), true).await?;
                // Audited after the swap, so the record lives in the restored database.
                self.audit(&downloaded.id, "downloaded", true, "fetched from off-site storage").await;
                Ok(restored)
            }
            BackupRequest::RestoreToPoint { to, from_remote, verify_only } => {
                self.restore_to_point(to, from_remote, verify_only).await
            }
            BackupRequest::Promote => self.promote().await,
        }
    }
}

impl BackupRequest {
    /// What the health report shows while it runs.
    fn label(&self) -> String {
        match self {
            Self::Create => "backup create".into(),
            Self::Verify(id) => format!("backup verify {id}"),
            Self::VerifyNewest => "backup verify newest".into(),
            Self::List => "backup list".into(),
            Self::Restore(id) => format!("restore {id}"),
            Self::ResetTo(_) => "reset to the golden copy".into(),
            Self::Upload(id) => format!("upload {id}"),
            Self::ListRemote => "list off-site backups".into(),
            Self::RestoreRemote(id) => format!("restore off-site {id}"),
            Self::RestoreToPoint { to, verify_only: true, .. } => format!("point-in-time drill to {to}"),
            Self::RestoreToPoint { to, .. } => format!("point-in-time restore to {to}"),
            Self::Promote => "promote to the bucket's owner".into(),
        }
    }
}

impl BackupActor {
    /// The operation, run off the actor's loop (its heartbeat goes on) after the ones before it.
    fn operation(
        &self,
        request: BackupRequest,
        by: Requester,
    ) -> impl std::future::Future<Output = Result<BackupAnswer, BackupError>> {
        let (work, clock, registry, turn) =
            (self.work.clone(), self.clock.clone(), self.registry.clone(), self.turn.clone());
        async move {
            let _turn = turn.lock_owned().await;
            let _shown = registry.begin(names::BACKUP, &request.label());
            crate::fault_point!(registry, names::BACKUP);
            Work { now: clock.now(), by, ..work }.perform(request).await
        }
    }
}

impl Handler<Ask> for BackupActor {
    type Result = ResponseFuture<Result<BackupAnswer, BackupError>>;

    fn handle(&mut self, Ask(request, by): Ask, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| crate::guard::detached(actor, ctx, actor.operation(request, by)))
    }
}

impl Handler<RunJob> for BackupActor {
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, RunJob { job, by }: RunJob, ctx: &mut Context<Self>) -> Self::Result {
        let request = match job {
            BACKUP => BackupRequest::Create,
            PITR_DRILL => BackupRequest::RestoreToPoint { to: Target::Latest, from_remote: true, verify_only: true },
            _ => BackupRequest::VerifyNewest,
        };
        if job == PITR_DRILL && self.work.config.pitr.is_none() {
            return Box::pin(async {
                Ok("point-in-time recovery is off (pitr.enabled = false); nothing to drill".into())
            });
        }
        crate::guard::handle(self, ctx, |actor, ctx| {
            let operation = actor.operation(request, by);
            crate::guard::detached(actor, ctx, async move { job_summary(operation.await) })
        })
    }
}

/// The scheduler's one line about a backup job.
fn job_summary(answer: Result<BackupAnswer, BackupError>) -> Result<String, String> {
    match answer? {
        BackupAnswer::One(m) if m.verified_ok == Some(false) => {
            Err(format!("backup {} failed verification: {}", m.id, m.verify_detail.unwrap_or_default()))
        }
        BackupAnswer::One(m) if m.verified_ok == Some(true) => Ok(format!("backup {} verified", m.id)),
        BackupAnswer::One(Manifest { id, upload_error: Some(why), .. }) => {
            Err(format!("backup {id} was made locally, but its off-site upload failed: {why}"))
        }
        BackupAnswer::One(m) => Ok(format!("backup {} created ({} bytes)", m.id, m.size_bytes)),
        BackupAnswer::Many(all) => Ok(format!("{} backups", all.len())),
        BackupAnswer::Promoted(done) => Ok(format!("timeline {} owns the bucket", done.owner.timeline)),
        BackupAnswer::Point(report) => Ok(format!(
            "rebuilt to {} from snapshot {} and {} changes: integrity ok, row counts match",
            report.restored_through.unwrap_or(report.target),
            report.base,
            report.changes_applied
        )),
    }
}

/// The only door to the Backup actor.
#[derive(Clone)]
pub struct BackupHandle {
    addr: Addr<BackupActor>,
}

impl BackupHandle {
    pub fn start(
        config: BackupConfig,
        writer: WriterHandle,
        readers: ReaderPool,
        clock: Arc<dyn Clock>,
        registry: ActorRegistry,
    ) -> Self {
        // No operation runs yet: what a crash left half-made goes now.
        file::sweep_leftovers(&config.dir);
        let offsite = config.offsite.as_ref().map(Offsite::open);
        if let Some(Err(why)) = &offsite {
            tracing::error!(error = %why, "Off-site storage cannot be used; backups stay local.");
        }
        let by = Requester::system();
        let work = Work { config: Arc::new(config), offsite, writer, readers, now: clock.now(), by };
        let turn = Arc::default();
        Self { addr: Supervisor::start(move |_| BackupActor { work, clock, registry, turn }) }
    }

    /// Runs `request` for `by`, whose name every event it records carries.
    pub async fn ask(&self, request: BackupRequest, by: Requester) -> Result<BackupAnswer, BackupError> {
        let stopped = |err| BackupError::Failed(format!("the backup actor is not running ({err})"));
        self.addr.send(Ask(request, by)).await.map_err(stopped)?
    }

    pub fn jobs(&self) -> Recipient<RunJob> {
        self.addr.clone().recipient()
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}
