//! The SheetsSync actor: owns the Sheets client and the cached spreadsheet structure, and runs the
//! scheduler's sync jobs one at a time (a cycle never overlaps another). With `[sheets] enabled = false`
//! every job answers that it is disabled and Atlas runs without Google.
//!
//! Quota: a cycle that meets Google's 429 is deferred, not failed. Until the deferral ends (Google's
//! `Retry-After`, else one per-minute window, doubling while quota keeps running out, at most 15
//! minutes) jobs answer "deferred" without calling Google. Only an hour without success alerts (health).

use super::client::{SheetInfo, SheetsClient, SheetsConfig};
use super::contract::Layout;
use super::cycle::{CycleError, Mirror};
use super::export::MirrorScope;
use crate::domain::{Actor as Requester, Clock};
use crate::registry::{names, ActorRegistry};
use crate::scheduler::RunJob;
use crate::store::queries::sync_state;
use crate::store::{ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use serde::Serialize;
use std::sync::Arc;

/// Import then export.
pub const SHEETS_SYNC: &str = "sheets_sync";
/// Export only.
pub const SHEETS_EXPORT: &str = "sheets_export";
/// Export only, and only when a critical error appeared since the last export.
pub const SHEETS_CRITICAL: &str = "sheets_critical_export";

#[derive(Clone, Debug, PartialEq)]
pub struct SheetsSyncConfig {
    pub client: SheetsConfig,
    pub scope: MirrorScope,
    pub layout: Layout,
    /// The spreadsheet owner's Google account (`sheets.owner`), `None` when not set.
    pub owner: Option<String>,
    pub allow_self_approval: bool,
    pub allow_partial_payload: bool,
}

/// Google's quota window is per minute.
const QUOTA_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest deferral while quota keeps running out.
const MAX_DEFERRAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How long to put syncing off after the `streak`-th quota refusal in a row.
pub fn deferral(retry_after: Option<std::time::Duration>, streak: u32) -> std::time::Duration {
    let doubled = QUOTA_WINDOW.saturating_mul(2u32.saturating_pow(streak.saturating_sub(1).min(8)));
    retry_after.unwrap_or(doubled).clamp(std::time::Duration::from_secs(1), MAX_DEFERRAL)
}

/// What a sync run did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SyncSummary {
    pub mode: String,
    /// Set when the cycle was put off (quota): why, and when the next attempt may go.
    pub deferred: Option<String>,
    pub edits_applied: u64,
    pub edits_refused: u64,
    pub cells_written: usize,
    pub rows_deleted: usize,
    pub tabs_created: usize,
    pub broken_tabs: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Import then export.
    Full,
    ExportOnly,
}

#[derive(Message)]
#[rtype(result = "Result<SyncSummary, String>")]
struct SyncNow(SyncMode, Requester);

/// What one sync leaves for the next.
#[derive(Default)]
struct Between {
    /// No call to Google before this instant (quota), and how many quota refusals came in a row.
    deferred_until: Option<std::time::Instant>,
    quota_streak: u32,
    client: Option<SheetsClient>,
    structure: Option<Vec<SheetInfo>>,
}

struct SheetsSyncActor {
    config: Option<Arc<SheetsSyncConfig>>,
    /// Locked by the running sync's detached task: one sync at a time, in arrival order, surviving a
    /// restart of the actor.
    between: Arc<tokio::sync::Mutex<Between>>,
    writer: WriterHandle,
    readers: ReaderPool,
    clock: Arc<dyn Clock>,
    registry: ActorRegistry,
}

crate::guarded_actor!(SheetsSyncActor, names::SHEETS);

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(SheetsSyncActor);

impl Actor for SheetsSyncActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::SHEETS, ctx);
    }
}

impl actix::Supervised for SheetsSyncActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // The tab structure is read afresh after a failure (unless a sync holds it right now).
        if let Ok(mut between) = self.between.try_lock() {
            between.structure = None;
        }
        self.registry.restarting(names::SHEETS, None);
    }
}

const DISABLED: &str = "Sheets sync is disabled ([sheets] enabled = false)";

/// The work of one sync, outside the actor so it can be awaited exclusively.
async fn sync(
    config: Arc<SheetsSyncConfig>,
    client: Option<SheetsClient>,
    mut structure: Option<Vec<SheetInfo>>,
    deps: (WriterHandle, ReaderPool, Arc<dyn Clock>),
    mode: SyncMode,
    by: Requester,
) -> (Option<SheetsClient>, Option<Vec<SheetInfo>>, Result<SyncSummary, CycleError>) {
    let (writer, readers, clock) = deps;
    let client = match client {
        Some(client) => client,
        None => match SheetsClient::connect(config.client.clone()).await {
            Ok(client) => client,
            Err(err) => return (None, None, Err(CycleError::Sheets(err))),
        },
    };
    let mirror = Mirror {
        client: &client,
        readers: &readers,
        writer: &writer,
        clock: clock.as_ref(),
        scope: &config.scope,
        layout: &config.layout,
        owner: config.owner.as_deref(),
        allow_self_approval: config.allow_self_approval,
        allow_partial_payload: config.allow_partial_payload,
        requested_by: &by,
    };
    let outcome = match mode {
        SyncMode::Full => mirror.cycle(&mut structure).await.map(|report| SyncSummary {
            mode: "full".into(),
            deferred: None,
            edits_applied: report.edits_applied,
            edits_refused: report.edits_refused,
            cells_written: report.export.cells_written,
            rows_deleted: report.export.rows_deleted,
            tabs_created: report.export.tabs_created,
            broken_tabs: report.broken_tabs,
        }),
        SyncMode::ExportOnly => mirror.export_only(&mut structure).await.map(|export| SyncSummary {
            mode: "export".into(),
            deferred: None,
            edits_applied: 0,
            edits_refused: 0,
            cells_written: export.cells_written,
            rows_deleted: export.rows_deleted,
            tabs_created: export.tabs_created,
            broken_tabs: Vec::new(),
        }),
    };
    (Some(client), structure, outcome)
}

fn deferred_summary(mode: SyncMode, why: String) -> SyncSummary {
    SyncSummary {
        mode: if mode == SyncMode::Full { "full".into() } else { "export".into() },
        deferred: Some(why),
        edits_applied: 0,
        edits_refused: 0,
        cells_written: 0,
        rows_deleted: 0,
        tabs_created: 0,
        broken_tabs: Vec::new(),
    }
}

fn job_text(outcome: Result<SyncSummary, String>) -> Result<String, String> {
    outcome.map(|s| {
        if let Some(deferred) = s.deferred {
            return deferred;
        }
        format!(
            "{}: {} edit(s) applied, {} refused, {} cell(s) written, {} row(s) removed, {} tab(s) created",
            s.mode, s.edits_applied, s.edits_refused, s.cells_written, s.rows_deleted, s.tabs_created
        )
    })
}

impl SheetsSyncActor {
    /// A sync after the ones before it, as a plain future (run detached by the handlers).
    fn sync_future(
        &self,
        mode: SyncMode,
        by: Requester,
    ) -> impl std::future::Future<Output = Result<SyncSummary, String>> {
        let (config, between, registry) = (self.config.clone(), self.between.clone(), self.registry.clone());
        let deps = (self.writer.clone(), self.readers.clone(), self.clock.clone());
        async move {
            let Some(config) = config else { return Err(DISABLED.to_owned()) };
            let mut between = between.lock().await;
            let _shown = registry.begin(names::SHEETS, if mode == SyncMode::Full { "sync" } else { "export" });
            crate::fault_point!(registry, names::SHEETS);
            if let Some(until) = between.deferred_until.filter(|until| *until > std::time::Instant::now()) {
                let left = until - std::time::Instant::now();
                let why = format!("deferred: Google's quota; next attempt in {}s", left.as_secs() + 1);
                return Ok(deferred_summary(mode, why));
            }
            let (client, structure) = (between.client.take(), between.structure.take());
            let (client, structure, outcome) = sync(config, client, structure, deps, mode, by).await;
            between.client = client;
            between.structure = structure;
            match outcome {
                Err(err) => match err.quota() {
                    Some(retry_after) => {
                        between.quota_streak += 1;
                        let wait = deferral(retry_after, between.quota_streak);
                        between.deferred_until = Some(std::time::Instant::now() + wait);
                        tracing::warn!(seconds = wait.as_secs(), "Google's quota is exhausted; Sheets sync deferred.");
                        Ok(deferred_summary(mode, format!("deferred: {err}; next attempt in {}s", wait.as_secs())))
                    }
                    None => Err(err.to_string()),
                },
                Ok(summary) => {
                    between.quota_streak = 0;
                    between.deferred_until = None;
                    Ok(summary)
                }
            }
        }
    }

    /// True when a critical error appeared since the last successful export (or none ever succeeded).
    fn critical_pending(&self) -> impl std::future::Future<Output = bool> + 'static {
        let readers = self.readers.clone();
        async move {
            readers
                .read(|conn| {
                    let since = sync_state::all(conn)?
                        .into_iter()
                        .find(|s| s.direction == "export")
                        .and_then(|s| s.last_success_at)
                        .unwrap_or_default();
                    conn.query_row(
                        "SELECT EXISTS (SELECT 1 FROM errors WHERE severity = 'critical' AND resolved = 0 AND occurred_at >= ?1)",
                        [since],
                        |row| row.get::<_, bool>(0),
                    )
                })
                .await
                .unwrap_or(true)
        }
    }
}

impl Handler<SyncNow> for SheetsSyncActor {
    type Result = ResponseFuture<Result<SyncSummary, String>>;

    fn handle(&mut self, SyncNow(mode, by): SyncNow, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| crate::guard::detached(actor, ctx, actor.sync_future(mode, by)))
    }
}

impl Handler<RunJob> for SheetsSyncActor {
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, RunJob { job, by }: RunJob, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| {
            crate::fault_point!(actor.registry, names::SHEETS);
            let enabled = actor.config.is_some();
            let (check, sync) = (
                actor.critical_pending(),
                actor.sync_future(
                    match job {
                        SHEETS_SYNC => SyncMode::Full,
                        _ => SyncMode::ExportOnly,
                    },
                    by,
                ),
            );
            crate::guard::detached(actor, ctx, async move {
                if !enabled {
                    return Ok(DISABLED.to_owned());
                }
                if job == SHEETS_CRITICAL && !check.await {
                    return Ok("no new critical errors".to_owned());
                }
                job_text(sync.await)
            })
        })
    }
}

/// The only door to the SheetsSync actor.
#[derive(Clone)]
pub struct SheetsSyncHandle {
    addr: Addr<SheetsSyncActor>,
    enabled: bool,
}

impl SheetsSyncHandle {
    /// `config` is `None` when Sheets sync is disabled.
    pub fn start(
        config: Option<SheetsSyncConfig>,
        writer: WriterHandle,
        readers: ReaderPool,
        clock: Arc<dyn Clock>,
        registry: ActorRegistry,
    ) -> Self {
        let enabled = config.is_some();
        let config = config.map(Arc::new);
        let addr = Supervisor::start(move |_| SheetsSyncActor {
            config,
            between: Arc::default(),
            writer,
            readers,
            clock,
            registry,
        });
        Self { addr, enabled }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Runs a sync now and waits for it (after any sync already running).
    /// A cycle now, for `by` (its sync records carry their name).
    pub async fn sync_now(&self, mode: SyncMode, by: Requester) -> Result<SyncSummary, String> {
        self.addr
            .send(SyncNow(mode, by))
            .await
            .map_err(|err| format!("the Sheets sync actor is not running ({err})"))?
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
