//! The store's own options. The binary's settings fill this in; the store never reads files or env.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// SQLite's `synchronous` setting for the writer: NORMAL is safe in WAL mode against a process crash,
/// FULL also survives power loss at the cost of an fsync per commit (one per batch, with group commit).
/// FULL is the default: an acknowledged write must survive a power loss too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Normal,
    Full,
}

impl Synchronous {
    pub fn pragma_value(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// The one database file.
    pub path: PathBuf,
    /// How long a connection waits for a lock held by another process (milliseconds).
    pub busy_timeout_ms: u32,
    pub synchronous: Synchronous,
    /// Page cache per connection, in KiB.
    pub cache_size_kib: u32,
    /// The WAL file is truncated to this size after checkpoints (bytes).
    pub journal_size_limit_bytes: u64,
    /// Read-only connections in the pool.
    pub read_pool_size: u32,
    /// Commands that may wait in the writer's mailbox before senders are made to wait.
    pub writer_mailbox_capacity: usize,
    /// Commands applied in one transaction at most.
    pub writer_max_batch: usize,
    /// Interval of the background PASSIVE checkpoints (`writer/checkpointer.rs`); zero leaves
    /// checkpoints to SQLite, inside the commit that crosses 1,000 WAL pages.
    pub checkpoint_every: std::time::Duration,
    /// How long a read waits for a pooled connection before it is refused as busy (503, `Retry-After`).
    pub read_wait: std::time::Duration,
    /// The start-up `quick_check` stops after this long (a passing check is not waited for forever).
    pub start_check_budget: std::time::Duration,
    /// Record each batch's changes as a changeset in `pitr_outbox` (point-in-time recovery; `capture/`).
    pub capture_changes: bool,
    /// Which events each `[[sinks]]` entry receives (`sinks.rs`); empty: no sink.
    pub sink_routes: Vec<super::sinks::SinkRoute>,
    /// `[approvals] quorum` (`quorum.rs`): rules needing more than one reviewer.
    pub quorum: crate::domain::Quorum,
    /// `[approvals] policy` (`gate.rs`): the changes applied only once approved, whatever door sent them.
    pub policy: crate::domain::ApprovalPolicy,
    /// `[approvals] allow_self_approval` (`gate.rs`), decided in the writer for every door.
    pub allow_self_approval: bool,
}

impl StoreConfig {
    /// Defaults for a database at `path`; used by tests and by the settings' defaults.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            busy_timeout_ms: 30_000,
            synchronous: Synchronous::Full,
            cache_size_kib: 4_096,
            journal_size_limit_bytes: 64 * 1024 * 1024,
            read_pool_size: 4,
            writer_mailbox_capacity: 4_096,
            writer_max_batch: 1_024,
            checkpoint_every: std::time::Duration::from_millis(100),
            start_check_budget: std::time::Duration::from_secs(10),
            read_wait: std::time::Duration::from_millis(1000),
            capture_changes: false,
            sink_routes: Vec::new(),
            quorum: crate::domain::Quorum::default(),
            policy: crate::domain::ApprovalPolicy::default_policy(),
            allow_self_approval: false,
        }
    }
}
