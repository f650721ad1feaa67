//! The Backup actor: makes, verifies and prunes backups (one operation at a time), for the scheduler's
//! `backup` and `backup_verify` jobs and for the admin API. Every operation is audited through the writer.
//! A restore verifies the backup, takes a safety backup, and has the writer swap the file while it holds
//! every queued command; the read pool is reopened after. Off-site copies and the golden copy are still
//! to come (issue 6).

pub mod file;

use crate::domain::{Actor as Requester, Clock, Command};
use crate::registry::{names, ActorRegistry};
use crate::scheduler::RunJob;
use crate::store::{ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use file::{BackupOptions, Manifest};
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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupAnswer {
    One(Manifest),
    Many(Vec<Manifest>),
}

#[derive(Message)]
#[rtype(result = "Result<BackupAnswer, String>")]
struct Ask(BackupRequest);

struct BackupActor {
    config: Arc<BackupConfig>,
    writer: WriterHandle,
    readers: ReaderPool,
    clock: Arc<dyn Clock>,
    registry: ActorRegistry,
}

impl Actor for BackupActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.registry.running(names::BACKUP);
    }
}

impl actix::Supervised for BackupActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::BACKUP, None);
    }
}

async fn audit(writer: &WriterHandle, id: &str, action: &str, ok: bool, detail: &str) {
    let command = Command::RecordBackup { id: id.to_owned(), action: action.to_owned(), ok, detail: detail.to_owned() };
    if let Err(err) = writer.submit(command, Requester::new("backup")).await {
        tracing::warn!(error = %err, "Could not audit a backup operation.");
    }
}

/// What a restore puts in place.
enum Source {
    Backup(String),
    Golden(PathBuf),
}

/// Verify, safety backup, swap through the writer, reopen the readers. The original stays on failure.
async fn restore(
    config: Arc<BackupConfig>,
    writer: WriterHandle,
    readers: ReaderPool,
    now: chrono::DateTime<chrono::Utc>,
    source: Source,
) -> Result<BackupAnswer, String> {
    let blocking = config.clone();
    let prepared = tokio::task::spawn_blocking(move || -> Result<(Manifest, PathBuf), String> {
        let config = blocking;
        let staged = config.database.with_extension("db.restore-tmp");
        match source {
            Source::Backup(id) => {
                let chosen = file::verify(&config.dir, &id, now)?;
                if chosen.verified_ok != Some(true) {
                    return Err(format!(
                        "backup {id} failed verification ({}); nothing was restored",
                        chosen.verify_detail.clone().unwrap_or_default()
                    ));
                }
                file::materialize(&config.dir, &chosen, &staged)?;
                Ok((chosen, staged))
            }
            Source::Golden(path) => Ok((file::stage_golden(&path, &staged)?, staged)),
        }
    })
    .await
    .map_err(|err| format!("the restore task failed: {err}"))??;
    let (chosen, staged) = prepared;
    let safety_copy = config.database.with_extension("db.safety-tmp");
    readers.release();
    let swapped = writer.replace_database(staged.clone(), safety_copy.clone()).await;
    let reopened = readers.reopen();
    let _ = std::fs::remove_file(&staged);
    if let Err(why) = swapped {
        let _ = std::fs::remove_file(&safety_copy);
        return Err(why);
    }
    reopened?;
    // The copy the writer took (with every acknowledged write) becomes a proper, verified-able backup.
    let blocking = config.clone();
    let copy = safety_copy.clone();
    let safety = tokio::task::spawn_blocking(move || file::create(&copy, &blocking.dir, &blocking.options, now))
        .await
        .map_err(|err| format!("the safety backup task failed: {err}"))?;
    let _ = std::fs::remove_file(&safety_copy);
    let safety =
        safety.map_err(|err| format!("restored, but the safety copy could not be stored as a backup: {err}"))?;
    // Audited in the restored database (the old one, with its events, is the safety backup).
    audit(&writer, &safety.id, "created", true, &format!("safety backup before restoring {}", chosen.id)).await;
    audit(&writer, &chosen.id, "restored", true, &format!("safety backup {}", safety.id)).await;
    tracing::warn!(backup = %chosen.id, safety = %safety.id, "Database restored from a backup.");
    Ok(BackupAnswer::One(chosen))
}

/// Runs one request on a blocking thread and audits it.
async fn perform(
    config: Arc<BackupConfig>,
    writer: WriterHandle,
    readers: ReaderPool,
    now: chrono::DateTime<chrono::Utc>,
    request: BackupRequest,
) -> Result<BackupAnswer, String> {
    match request {
        BackupRequest::Restore(id) => return restore(config, writer, readers, now, Source::Backup(id)).await,
        BackupRequest::ResetTo(path) => return restore(config, writer, readers, now, Source::Golden(path)).await,
        _ => {}
    }
    let blocking = config.clone();
    let work = request.clone();
    let answer = tokio::task::spawn_blocking(move || -> Result<(BackupAnswer, Vec<String>), String> {
        let config = blocking;
        match work {
            BackupRequest::Create => {
                let manifest = file::create(&config.database, &config.dir, &config.options, now)?;
                let pruned = file::prune(&config.dir, config.keep)?;
                Ok((BackupAnswer::One(manifest), pruned))
            }
            BackupRequest::Verify(id) => Ok((BackupAnswer::One(file::verify(&config.dir, &id, now)?), Vec::new())),
            BackupRequest::VerifyNewest => {
                let newest = file::list(&config.dir)?.into_iter().next().ok_or("there is no backup to verify yet")?;
                Ok((BackupAnswer::One(file::verify(&config.dir, &newest.id, now)?), Vec::new()))
            }
            BackupRequest::List => Ok((BackupAnswer::Many(file::list(&config.dir)?), Vec::new())),
            BackupRequest::Restore(_) | BackupRequest::ResetTo(_) => Err("a restore is not a blocking request".into()),
        }
    })
    .await
    .map_err(|err| format!("the backup task failed: {err}"))??;
    let (answer, pruned) = answer;
    if let BackupAnswer::One(manifest) = &answer {
        match request {
            BackupRequest::Create => {
                tracing::info!(backup = %manifest.id, bytes = manifest.size_bytes, "Backup created.");
                audit(
                    &writer,
                    &manifest.id,
                    "created",
                    true,
                    &format!("{} bytes, sha256 {}", manifest.size_bytes, manifest.sha256),
                )
                .await;
            }
            _ => {
                let ok = manifest.verified_ok == Some(true);
                if !ok {
                    tracing::error!(backup = %manifest.id, detail = ?manifest.verify_detail, "Backup verification FAILED.");
                }
                audit(&writer, &manifest.id, "verified", ok, manifest.verify_detail.as_deref().unwrap_or("")).await;
            }
        }
    }
    for id in pruned {
        audit(&writer, &id, "pruned", true, &format!("retention keeps {}", config.keep)).await;
    }
    Ok(answer)
}

impl Handler<Ask> for BackupActor {
    type Result = AtomicResponse<Self, Result<BackupAnswer, String>>;

    fn handle(&mut self, Ask(request): Ask, _: &mut Context<Self>) -> Self::Result {
        let work = perform(self.config.clone(), self.writer.clone(), self.readers.clone(), self.clock.now(), request);
        AtomicResponse::new(Box::pin(work.into_actor(self)))
    }
}

impl Handler<RunJob> for BackupActor {
    type Result = AtomicResponse<Self, Result<String, String>>;

    fn handle(&mut self, RunJob { job }: RunJob, _: &mut Context<Self>) -> Self::Result {
        let request = if job == BACKUP { BackupRequest::Create } else { BackupRequest::VerifyNewest };
        let work = perform(self.config.clone(), self.writer.clone(), self.readers.clone(), self.clock.now(), request);
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|answer, _, _| match answer? {
            BackupAnswer::One(m) if m.verified_ok == Some(false) => {
                Err(format!("backup {} failed verification: {}", m.id, m.verify_detail.unwrap_or_default()))
            }
            BackupAnswer::One(m) if m.verified_ok == Some(true) => Ok(format!("backup {} verified", m.id)),
            BackupAnswer::One(m) => Ok(format!("backup {} created ({} bytes)", m.id, m.size_bytes)),
            BackupAnswer::Many(all) => Ok(format!("{} backups", all.len())),
        })))
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
        let config = Arc::new(config);
        Self { addr: Supervisor::start(move |_| BackupActor { config, writer, readers, clock, registry }) }
    }

    pub async fn ask(&self, request: BackupRequest) -> Result<BackupAnswer, String> {
        self.addr.send(Ask(request)).await.map_err(|err| format!("the backup actor is not running ({err})"))?
    }

    pub fn jobs(&self) -> Recipient<RunJob> {
        self.addr.clone().recipient()
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}
