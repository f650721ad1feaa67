//! Response bodies of the admin endpoints: schedules, Sheets sync, backups, database.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct JobStatusDto {
    pub job: String,
    /// As configured: an interval, a cron expression or `off`.
    pub schedule: String,
    pub running: bool,
    pub last_started_at: Option<String>,
    pub last_finished_at: Option<String>,
    /// success | failed
    pub last_outcome: Option<String>,
    pub last_detail: Option<String>,
    pub next_run_at: Option<String>,
}

impl From<atlas_actors::scheduler::JobStatus> for JobStatusDto {
    fn from(s: atlas_actors::scheduler::JobStatus) -> Self {
        Self {
            job: s.job,
            schedule: s.schedule,
            running: s.running,
            last_started_at: s.last_started_at,
            last_finished_at: s.last_finished_at,
            last_outcome: s.last_outcome,
            last_detail: s.last_detail,
            next_run_at: s.next_run_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    pub items: Vec<JobStatusDto>,
}

#[derive(Serialize, ToSchema)]
pub struct JobReportDto {
    pub job: String,
    pub ok: bool,
    pub detail: String,
    pub started_at: String,
    pub finished_at: String,
}

impl From<atlas_actors::scheduler::JobReport> for JobReportDto {
    fn from(r: atlas_actors::scheduler::JobReport) -> Self {
        Self { job: r.job, ok: r.ok, detail: r.detail, started_at: r.started_at, finished_at: r.finished_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncDirectionDto {
    /// import | export
    pub direction: String,
    pub last_attempt_at: String,
    pub last_success_at: Option<String>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    /// API requests the last attempt made.
    pub last_requests: i64,
    /// Totals since the first sync.
    pub edits_applied: i64,
    pub edits_rejected: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SyncStatusDto {
    pub enabled: bool,
    pub directions: Vec<SyncDirectionDto>,
}

impl SyncStatusDto {
    pub fn new(enabled: bool, directions: Vec<atlas_actors::store::queries::sync_state::SyncState>) -> Self {
        let directions = directions
            .into_iter()
            .map(|d| SyncDirectionDto {
                direction: d.direction,
                last_attempt_at: d.last_attempt_at,
                last_success_at: d.last_success_at,
                consecutive_failures: d.consecutive_failures,
                last_error: d.last_error,
                last_requests: d.last_requests,
                edits_applied: d.edits_applied,
                edits_rejected: d.edits_rejected,
            })
            .collect();
        Self { enabled, directions }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncSummaryDto {
    /// full | export
    pub mode: String,
    /// Set when Google's quota put the cycle off: why, and when the next attempt may go.
    pub deferred: Option<String>,
    pub edits_applied: u64,
    pub edits_refused: u64,
    pub cells_written: usize,
    pub rows_deleted: usize,
    pub tabs_created: usize,
    /// Tabs whose structure a human changed (skipped by the import, repaired by the export).
    pub broken_tabs: Vec<String>,
}

impl From<atlas_actors::sheets::actor::SyncSummary> for SyncSummaryDto {
    fn from(s: atlas_actors::sheets::actor::SyncSummary) -> Self {
        Self {
            mode: s.mode,
            deferred: s.deferred,
            edits_applied: s.edits_applied,
            edits_refused: s.edits_refused,
            cells_written: s.cells_written,
            rows_deleted: s.rows_deleted,
            tabs_created: s.tabs_created,
            broken_tabs: s.broken_tabs,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BackupDto {
    pub id: String,
    pub file: String,
    pub compressed: bool,
    pub size_bytes: u64,
    /// `blake3:<hex>`; a bare SHA-256 hex digest for backups made before BLAKE3.
    pub checksum: String,
    pub page_count: i64,
    pub schema_version: u32,
    pub row_counts: std::collections::BTreeMap<String, i64>,
    pub started_at: String,
    pub finished_at: String,
    pub verified_at: Option<String>,
    pub verified_ok: Option<bool>,
    pub verify_detail: Option<String>,
    /// When the off-site copy was stored (local backups only).
    pub uploaded_at: Option<String>,
    /// Why the last off-site upload failed.
    pub upload_error: Option<String>,
}

impl From<atlas_actors::backup::file::Manifest> for BackupDto {
    fn from(m: atlas_actors::backup::file::Manifest) -> Self {
        Self {
            id: m.id,
            file: m.file,
            compressed: m.compressed,
            size_bytes: m.size_bytes,
            checksum: m.checksum,
            page_count: m.page_count,
            schema_version: m.schema_version,
            row_counts: m.row_counts,
            started_at: m.started_at,
            finished_at: m.finished_at,
            verified_at: m.verified_at,
            verified_ok: m.verified_ok,
            verify_detail: m.verify_detail,
            uploaded_at: m.uploaded_at,
            upload_error: m.upload_error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BackupList {
    pub items: Vec<BackupDto>,
}

#[derive(Serialize, ToSchema)]
pub struct DbHealthDto {
    /// "ok", or the first problems `PRAGMA quick_check` found.
    pub quick_check: String,
    pub page_size: i64,
    pub page_count: i64,
    pub freelist_count: i64,
    pub wal_bytes: u64,
}

impl From<atlas_actors::store::queries::db_info::DbHealth> for DbHealthDto {
    fn from(h: atlas_actors::store::queries::db_info::DbHealth) -> Self {
        Self {
            quick_check: h.quick_check,
            page_size: h.page_size,
            page_count: h.page_count,
            freelist_count: h.freelist_count,
            wal_bytes: h.wal_bytes,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DbStatsDto {
    pub rows: std::collections::BTreeMap<String, i64>,
    pub database_bytes: u64,
    pub wal_bytes: u64,
}

impl From<atlas_actors::store::queries::db_info::DbStats> for DbStatsDto {
    fn from(s: atlas_actors::store::queries::db_info::DbStats) -> Self {
        Self { rows: s.rows, database_bytes: s.database_bytes, wal_bytes: s.wal_bytes }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MaintenanceDto {
    /// vacuum | checkpoint
    pub action: String,
    pub detail: String,
}
