//! What point-in-time recovery can promise right now, for `GET /api/v1/admin/pitr`, `/metrics` and the
//! health report: the outbox (read from the database, so it holds across restarts) and the shipper's
//! last outcomes (kept in memory by [`PitrMonitor`]).

use crate::domain::parse_timestamp;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// The outbox as it stands: what is committed and not yet off the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxFigures {
    pub rows: i64,
    pub bytes: i64,
    pub oldest_committed_at: Option<String>,
}

impl OutboxFigures {
    pub fn read(conn: &Connection) -> rusqlite::Result<Self> {
        conn.query_row(
            "SELECT count(*), coalesce(sum(length(changeset)), 0), min(committed_at) FROM pitr_outbox",
            [],
            |r| Ok(Self { rows: r.get(0)?, bytes: r.get(1)?, oldest_committed_at: r.get(2)? }),
        )
    }

    /// How long the oldest unshipped change has waited (zero when everything is shipped).
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        let oldest = self.oldest_committed_at.as_deref().and_then(parse_timestamp);
        oldest.map_or(0.0, |at| ((now - at).num_milliseconds().max(0)) as f64 / 1000.0)
    }
}

/// The shipper's outcomes since this process started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShipperState {
    pub timeline: Option<String>,
    /// The newest change known to be off-site, and when it was committed.
    pub shipped_through_seq: Option<i64>,
    pub shipped_through_at: Option<String>,
    pub last_upload_at: Option<String>,
    pub last_upload_error: Option<String>,
    pub consecutive_failures: u32,
    /// Shipping cycles run since start, idle ones included (what a test or an operator waits on).
    pub cycles: u64,
    pub segments_uploaded: u64,
    pub bytes_uploaded: u64,
    /// The snapshot that starts the chain now being shipped (`None`: not seen yet).
    pub base: Option<String>,
    pub base_error: Option<String>,
}

/// Shared between the shipper (which writes) and the HTTP layer and Health (which read).
#[derive(Clone, Default)]
pub struct PitrMonitor {
    enabled: bool,
    max_lag_s: f64,
    state: Arc<Mutex<ShipperState>>,
}

impl PitrMonitor {
    pub fn new(enabled: bool, max_lag_s: f64) -> Self {
        Self { enabled, max_lag_s, state: Arc::default() }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn snapshot(&self) -> ShipperState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(super) fn update(&self, change: impl FnOnce(&mut ShipperState)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state);
        }
    }

    /// The report for the API, metrics and health.
    pub fn report(&self, outbox: OutboxFigures, now: DateTime<Utc>) -> PitrReport {
        let shipper = self.snapshot();
        let lag_seconds = outbox.lag_seconds(now);
        // With nothing waiting, every committed change is off-site; otherwise the newest shipped one.
        let restorable_through = if shipper.base.is_none() {
            None
        } else if outbox.rows == 0 {
            Some(crate::domain::format_timestamp(now))
        } else {
            shipper.shipped_through_at.clone()
        };
        PitrReport {
            enabled: self.enabled,
            restorable_through,
            lag_seconds,
            max_lag_seconds: self.max_lag_s,
            outbox,
            shipper,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PitrReport {
    pub enabled: bool,
    /// Up to when a restore from the bucket can go (`None`: no snapshot starts the current chain yet).
    pub restorable_through: Option<String>,
    pub lag_seconds: f64,
    pub max_lag_seconds: f64,
    pub outbox: OutboxFigures,
    pub shipper: ShipperState,
}
