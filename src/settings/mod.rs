//! Settings: code defaults < config file < `ATLAS_<SECTION>__<KEY>` environment variables < CLI flags.
//! Every section denies unknown keys; an error names the key and where its value came from.

mod load;
mod redact;

pub use load::{load, SettingsError, Sources};
pub use redact::redacted_toml;

use atlas_actors::domain::policy::DEFAULT_RULES;
use atlas_actors::domain::ApprovalPolicy;
use atlas_actors::health::HealthConfig;
use atlas_actors::store::{StoreConfig, Synchronous};
use atlas_actors::SupervisorConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The config file read when `--config` is not given, relative to the working directory (optional).
pub const DEFAULT_CONFIG_FILE: &str = "config/atlas.toml";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub writer: WriterSettings,
    pub health: HealthSettings,
    pub approvals: ApprovalSettings,
    pub log: LogSettings,
}

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
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 2,
            shutdown_timeout_s: 5,
            max_body_bytes: 65_536,
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
    /// Seconds between sweeps that expire old approvals.
    pub expiry_check_interval_s: u64,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            policy: DEFAULT_RULES.iter().map(|rule| (*rule).to_owned()).collect(),
            allow_self_approval: false,
            expire_after_h: 0,
            expiry_check_interval_s: 60,
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
}

impl Default for WriterSettings {
    fn default() -> Self {
        let store = StoreConfig::at("");
        Self { mailbox_capacity: store.writer_mailbox_capacity, max_batch: store.writer_max_batch }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Seconds between background readiness checks.
    pub check_interval_s: u64,
    /// Milliseconds one probe of a part may take before it counts as down.
    pub probe_timeout_ms: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        let health = HealthConfig::default();
        Self {
            check_interval_s: health.check_interval.as_secs(),
            probe_timeout_ms: health.probe_timeout.as_millis() as u64,
        }
    }
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

impl Settings {
    /// Range checks serde cannot express. Returns the dotted key and what is wrong.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        fn within(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), (&'static str, String)> {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err((key, format!("must be between {min} and {max}, got {value}")))
            }
        }
        within("http.workers", self.http.workers as u64, 1, 64)?;
        within("http.shutdown_timeout_s", self.http.shutdown_timeout_s, 1, 300)?;
        within("database.busy_timeout_ms", self.database.busy_timeout_ms.into(), 0, 600_000)?;
        within("database.cache_size_kib", self.database.cache_size_kib.into(), 64, 4 * 1024 * 1024)?;
        within("database.read_pool_size", self.database.read_pool_size.into(), 1, 64)?;
        within("writer.mailbox_capacity", self.writer.mailbox_capacity as u64, 16, 1_000_000)?;
        within("writer.max_batch", self.writer.max_batch as u64, 1, 100_000)?;
        within("health.check_interval_s", self.health.check_interval_s, 1, 86_400)?;
        within("health.probe_timeout_ms", self.health.probe_timeout_ms, 10, 60_000)?;
        within("http.max_body_bytes", self.http.max_body_bytes as u64, 1_024, 64 * 1024 * 1024)?;
        within("approvals.expire_after_h", self.approvals.expire_after_h, 0, 24 * 365)?;
        within("approvals.expiry_check_interval_s", self.approvals.expiry_check_interval_s, 1, 86_400)?;
        ApprovalPolicy::parse(&self.approvals.policy).map_err(|err| ("approvals.policy", err))?;
        if self.database.path.as_os_str().is_empty() {
            return Err(("database.path", "must not be empty".into()));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|err| ("log.level", format!("is not a valid log filter: {err}")))?;
        Ok(())
    }

    /// The approval gate's rules (validated at load time).
    pub fn approval_policy(&self) -> ApprovalPolicy {
        ApprovalPolicy::parse(&self.approvals.policy).unwrap_or_else(|_| ApprovalPolicy::default_policy())
    }

    /// The engine's view of these settings.
    pub fn supervisor_config(&self) -> SupervisorConfig {
        SupervisorConfig { store: self.store_config(), health: self.health_config() }
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            path: self.database.path.clone(),
            busy_timeout_ms: self.database.busy_timeout_ms,
            synchronous: self.database.synchronous,
            cache_size_kib: self.database.cache_size_kib,
            journal_size_limit_bytes: self.database.journal_size_limit_bytes,
            read_pool_size: self.database.read_pool_size,
            writer_mailbox_capacity: self.writer.mailbox_capacity,
            writer_max_batch: self.writer.max_batch,
        }
    }

    fn health_config(&self) -> HealthConfig {
        HealthConfig {
            check_interval: Duration::from_secs(self.health.check_interval_s),
            probe_timeout: Duration::from_millis(self.health.probe_timeout_ms),
        }
    }
}
