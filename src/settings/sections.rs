//! One struct per config section, each with its defaults. Every field is documented in
//! `config/atlas.toml`, which a test keeps equal to these defaults.

use atlas_actors::backup::file::BackupOptions;
use atlas_actors::domain::policy::DEFAULT_RULES;
use atlas_actors::domain::Severity;
use atlas_actors::health::HealthConfig;
use atlas_actors::runner::executor::ExecutorSpec;
use atlas_actors::runner::RunnerConfig;
use atlas_actors::store::{StoreConfig, Synchronous};
use atlas_actors::supervisor::JOBS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Where the API listens. Loopback by default: reach it through an SSH tunnel.
    pub addr: SocketAddr,
    /// HTTP worker threads.
    pub workers: usize,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_s: u64,
    /// Largest request body accepted, bytes; larger ones get 400.
    pub max_body_bytes: usize,
    /// Seconds a request body may take to arrive; a slower one gets 408 (a trickled body never holds a
    /// worker for ever).
    pub body_timeout_s: u64,
    /// Open connections each worker serves at once; more wait in the listen backlog. Each costs buffers:
    /// this bounds what a flood of connections can take from a small VM.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 2,
            shutdown_timeout_s: 5,
            max_body_bytes: 65_536,
            body_timeout_s: 30,
            max_connections: 256,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// The SQLite file; its directory is created on start.
    pub path: PathBuf,
    /// Milliseconds a connection waits for a lock held by another process.
    pub busy_timeout_ms: u32,
    /// `normal` (safe against crashes in WAL mode) or `full` (also against power loss).
    pub synchronous: Synchronous,
    /// Page cache per connection, KiB.
    pub cache_size_kib: u32,
    /// Size the WAL is truncated to after a checkpoint, bytes.
    pub journal_size_limit_bytes: u64,
    /// Read-only connections in the pool.
    pub read_pool_size: u32,
    /// Seconds the start-up `quick_check` may take before it is cut short (and the start goes on).
    pub start_check_s: u64,
    /// Milliseconds a read waits for a free pooled connection before it is answered 503 `busy`.
    pub read_wait_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        let store = StoreConfig::at("data/atlas.db");
        Self {
            path: store.path,
            busy_timeout_ms: store.busy_timeout_ms,
            synchronous: store.synchronous,
            cache_size_kib: store.cache_size_kib,
            journal_size_limit_bytes: store.journal_size_limit_bytes,
            read_pool_size: store.read_pool_size,
            start_check_s: store.start_check_budget.as_secs(),
            read_wait_ms: store.read_wait.as_millis() as u64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterSettings {
    /// Commands that may queue in the writer's mailbox before senders wait.
    pub mailbox_capacity: usize,
    /// Most commands applied in one transaction.
    pub max_batch: usize,
    /// Milliseconds between background WAL checkpoints (off the commit path); 0 leaves them to SQLite
    /// alone, inside the commit that crosses 1,000 WAL pages (which also bounds the WAL with the checkpointer).
    pub checkpoint_every_ms: u64,
}

impl Default for WriterSettings {
    fn default() -> Self {
        let store = StoreConfig::at("");
        Self {
            mailbox_capacity: store.writer_mailbox_capacity,
            max_batch: store.writer_max_batch,
            checkpoint_every_ms: store.checkpoint_every.as_millis() as u64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Milliseconds one probe of a part may take before it counts as down.
    pub probe_timeout_ms: u64,
    /// Seconds without a heartbeat after which an actor counts as down (and the watchdog is not fed).
    pub heartbeat_stale_s: u64,
    /// Free space below this (MiB) under the data or backup directory is critical.
    pub disk_min_free_mib: u64,
    /// A WAL larger than this (MiB) is a warning (checkpoints are not keeping up).
    pub wal_max_mib: u64,
    /// Minutes without a successful Sheets sync (each direction) before it is critical.
    pub sync_stale_after_m: u64,
    /// Hours after which the newest backup is too old.
    pub backup_max_age_h: u64,
    /// Hours a pending approval may wait.
    pub approval_max_age_h: u64,
    /// Minutes an unresolved critical error may stay unacknowledged.
    pub critical_unacked_after_m: u64,
    /// Percent of Sheets edits refused over 24 h above which imports are unhealthy.
    pub validation_failure_pct: f64,
    /// Fewer Sheets edits than this in 24 h are too few to judge the rate.
    pub validation_min_sample: u32,
    /// The mirror contract's goals, over 7 days; crossing one is a warning: the mean time from an
    /// approval's request to its decision, the mean time to resolve a critical error, and the percent of
    /// Sheets syncs that completed and of Sheets edits that passed validation.
    pub outcome_decision_mean_max_h: f64,
    pub outcome_critical_resolution_max_h: f64,
    pub outcome_sync_completion_min_pct: f64,
    pub outcome_validation_pass_min_pct: f64,
    /// Restarts of one actor within `restart_window_m` that raise an alert.
    pub restart_alert_threshold: u64,
    pub restart_window_m: u64,
    /// Seconds between alert evaluations of readiness and restarts (the other checks run with health_check).
    pub alert_check_s: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        let code = HealthConfig::default();
        Self {
            probe_timeout_ms: code.probe_timeout.as_millis() as u64,
            heartbeat_stale_s: code.heartbeat_stale_after.num_seconds() as u64,
            disk_min_free_mib: 1024,
            wal_max_mib: 256,
            sync_stale_after_m: 60,
            backup_max_age_h: 26,
            approval_max_age_h: 24,
            critical_unacked_after_m: 120,
            validation_failure_pct: 5.0,
            validation_min_sample: 10,
            outcome_decision_mean_max_h: 4.0,
            outcome_critical_resolution_max_h: 24.0,
            outcome_sync_completion_min_pct: 99.0,
            outcome_validation_pass_min_pct: 95.0,
            restart_alert_threshold: code.restart_alert_threshold,
            restart_window_m: code.restart_window.num_minutes() as u64,
            alert_check_s: 30,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalSettings {
    /// Changes that wait for a human: `type:action` or `type:action@role`, `*` for any.
    pub policy: Vec<String>,
    /// Whether the requester of a change may approve it themselves.
    pub allow_self_approval: bool,
    /// Hours after which a pending approval expires; 0 keeps them pending forever.
    pub expire_after_h: u64,
    /// Hours after which a pending approval is reminded of, by name, through the alert channels (again
    /// once a day while it waits); 0 = never.
    pub remind_after_h: f64,
    /// Rules (the policy's `type:action` patterns) needing more than one distinct reviewer:
    /// `{ "deployment:execute" = 2 }`. Unlisted rules need one; the requester never counts.
    pub quorum: BTreeMap<String, u32>,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            policy: DEFAULT_RULES.iter().map(|rule| (*rule).to_owned()).collect(),
            allow_self_approval: false,
            expire_after_h: 0,
            remind_after_h: 24.0,
            quorum: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerSettings {
    /// Runs executing at once.
    pub max_concurrent: usize,
    /// Seconds a run may take when its task sets no `timeout_s`.
    pub default_timeout_s: u64,
    /// Bytes of stdout (and of stderr) kept per run: the head and the tail, with a marker for the cut.
    pub output_limit_bytes: usize,
    /// Environment variables passed to commands; nothing else is.
    pub env_allowlist: Vec<String>,
    /// Seconds between fallback polls for queued runs (commits wake the runner at once).
    pub poll_interval_s: u64,
    /// Hotlist severity for a failed run.
    pub failed_severity: Severity,
    /// Hotlist severity for a timed-out run.
    pub timed_out_severity: Severity,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        let runner = RunnerConfig::default();
        Self {
            max_concurrent: runner.max_concurrent,
            default_timeout_s: runner.default_timeout.as_secs(),
            output_limit_bytes: runner.output_limit_bytes,
            env_allowlist: runner.env_allowlist,
            poll_interval_s: runner.poll_interval.as_secs(),
            failed_severity: runner.failed_severity,
            timed_out_severity: runner.timed_out_severity,
        }
    }
}

/// Executor templates by name (`[executors.NAME]`); none by default.
pub type ExecutorSettings = BTreeMap<String, ExecutorSpec>;

/// Profiles: name → executors tried in order (`[profiles]`); none by default.
pub type ProfileSettings = BTreeMap<String, Vec<String>>;

/// Job → schedule. Every job is listed with its default.
pub fn default_schedules() -> BTreeMap<String, String> {
    JOBS.iter().map(|(job, schedule)| ((*job).to_owned(), (*schedule).to_owned())).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Text,
    /// One JSON object per line (journald-friendly).
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `atlas=debug,actix_web=warn`, …
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SheetsSettings {
    /// Off by default: Atlas runs fully without Google.
    pub enabled: bool,
    /// The spreadsheet's id (from its URL).
    pub spreadsheet_id: String,
    /// A service-account key (JSON); its `token_uri` is used for OAuth.
    pub credentials_file: PathBuf,
    /// Google's API root; must end with `/`.
    pub api_base_url: String,
    /// Seconds one API call may take.
    pub request_timeout_s: u64,
    /// Attempts per call for 429, 5xx and timeouts (exponential backoff with jitter between them).
    pub max_attempts: u32,
    /// Rows a tab may have; a tab with more (an editor pasting junk) is refused aloud, never read whole.
    pub max_rows: u32,
    /// Days a decided approval stays in Pending_Approvals.
    pub decided_approvals_days: u32,
    /// How many of the newest runs the Runs tab shows.
    pub runs_shown: u32,
    /// Days a resolved error stays in Errors_Hotlist.
    pub resolved_errors_days: u32,
    /// `reviewers` (default): each reviewer decides in their own protected column after H, and Status is
    /// an outcome only Atlas writes. `shared`: the seed contract's Status column, every decision recorded
    /// as `shared_reviewer` (not attributable to a person).
    pub approval_mode: ApprovalModeSetting,
    /// The Atlas token name shared-mode decisions are recorded as (required with `approval_mode = "shared"`).
    pub shared_reviewer: String,
    /// Whether a sheet decision counts on a row whose payload is not shown whole (redacted or cut).
    pub allow_partial_payload_approval: bool,
    /// Atlas token name -> that person's Google account e-mail: one decision column each, in name order.
    pub reviewers: BTreeMap<String, String>,
    /// The spreadsheet owner's Google account. Google lists the owner among every protected range's
    /// editors and never lets anyone remove it, so a reviewer column may have it as its one extra editor;
    /// required with reviewer columns, and must not be a reviewer.
    pub owner: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalModeSetting {
    #[default]
    Reviewers,
    Shared,
}

impl Default for SheetsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            spreadsheet_id: String::new(),
            credentials_file: PathBuf::from("config/sheets-credentials.json"),
            api_base_url: "https://sheets.googleapis.com/".into(),
            request_timeout_s: 30,
            max_attempts: 3,
            max_rows: 20_000,
            decided_approvals_days: 7,
            runs_shown: 100,
            resolved_errors_days: 30,
            approval_mode: ApprovalModeSetting::Reviewers,
            shared_reviewer: String::new(),
            allow_partial_payload_approval: false,
            reviewers: BTreeMap::new(),
            owner: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Where local backups and their manifests go (created on demand).
    pub dir: PathBuf,
    /// Local backups kept; the newest verified one is always kept as well.
    pub keep: usize,
    /// gzip the copies.
    pub compress: bool,
    /// Pages copied per step of SQLite's backup API.
    pub pages_per_step: i32,
    /// Milliseconds between steps.
    pub step_pause_ms: u64,
    /// A protected seed database for `atlas init --golden` / `atlas reset --to-golden` ("" = none).
    pub golden_path: PathBuf,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("backups"),
            keep: 7,
            compress: true,
            pages_per_step: BackupOptions::default().pages_per_step,
            step_pause_ms: BackupOptions::default().pause_between_steps.as_millis() as u64,
            golden_path: PathBuf::new(),
        }
    }
}
