//! Records of what happened outside the database's own state: operations done elsewhere (a backup, an
//! alert, a maintenance, a restore), accesses that change nothing (a query, a sign-in, a refused
//! request), and a scheduled job's run. Each is its audit event; only `JobRun` also keeps a row (the job's
//! last run, `schedule_state`, which the scheduler reads to know what is due).

use crate::domain::access::Role;
use crate::domain::error::CommandError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Record {
    /// A backup was made, verified (well or not) or pruned; the files are the record, this is the audit.
    #[serde(rename = "record_backup")]
    Backup { id: String, action: String, ok: bool, detail: String },
    /// A restore swapped a database in: the restored database's first event, written in the transaction
    /// that opens it to commands, by whoever asked for the restore.
    #[serde(rename = "record_restore")]
    Restore(Restored),
    /// An alert went out (or could not): `kind` is `fired`, `reminded` or `resolved`; `delivered` says
    /// whether any channel took it (false when none is configured).
    #[serde(rename = "record_alert")]
    Alert { key: String, kind: String, detail: String, delivered: bool },
    /// A piece of news (the audit trail's event `event_id`) no retry got to one recipient (`channel:<name>`
    /// or `reviewer:<name>`): the Notifier gave up on it.
    #[serde(rename = "record_undelivered")]
    Undelivered { event_id: i64, recipient: String, detail: String },
    /// Audits database maintenance (a vacuum, a checkpoint) run on the writer's connection.
    #[serde(rename = "record_maintenance")]
    Maintenance { action: String, detail: String },
    /// The scheduler finished a job.
    #[serde(rename = "record_job_run")]
    JobRun { job: String, started_at: String, finished_at: String, ok: bool, detail: String },
    /// Audits a data-browser query (the SQL box): the SQL as asked and how it ended (rows, or the guard
    /// that refused it).
    #[serde(rename = "record_query")]
    Query { sql: String, outcome: String },
    /// Audits a web console sign-in (with the token's role) or sign-out.
    #[serde(rename = "record_session")]
    Session { signed_in: bool, role: Role },
    /// Audits an access that changes nothing by itself: a refused request (403), or an admin endpoint read.
    #[serde(rename = "record_access")]
    Access { method: String, path: String, role: Role, needed: String, allowed: bool },
}

/// A restore as the database it put in place records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    /// The backup restored; for a point-in-time restore, the snapshot the copy was rebuilt from.
    pub from: String,
    /// A point-in-time restore's target (`latest` or the time asked for); `None` for a backup as made.
    pub to: Option<String>,
    /// Fetched from off-site storage (`--from-remote`, a remote backup).
    pub from_remote: bool,
    /// The backup of the database replaced (its events included), taken before the swap.
    pub safety_backup: String,
    /// What was rebuilt or checked, in a sentence.
    pub detail: String,
}

/// What `Record::Backup` may report (each is its own event type).
pub const BACKUP_ACTIONS: &[&str] = &[
    "created",
    "verified",
    "pruned",
    "restored",
    "uploaded",
    "downloaded",
    "pruned_remote",
    "pitr_restored",
    "pitr_drilled",
    "promoted",
];

impl Record {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::JobRun { .. } => "schedule.job_ran",
            Self::Maintenance { .. } => "db.maintained",
            Self::Undelivered { .. } => "notify.undelivered",
            Self::Alert { kind, .. } => match kind.as_str() {
                "fired" => "alert.fired",
                "reminded" => "alert.reminded",
                _ => "alert.resolved",
            },
            Self::Restore(Restored { to: Some(_), .. }) => "backup.pitr_restored",
            Self::Restore(_) => "backup.restored",
            Self::Backup { action, ok, .. } => match (action.as_str(), ok) {
                ("created", _) => "backup.created",
                ("verified", true) => "backup.verified",
                ("verified", false) => "backup.verify_failed",
                ("restored", _) => "backup.restored",
                ("uploaded", true) => "backup.uploaded",
                ("uploaded", false) => "backup.upload_failed",
                ("downloaded", _) => "backup.downloaded",
                ("pruned_remote", _) => "backup.pruned_remote",
                ("pitr_restored", true) => "backup.pitr_restored",
                ("pitr_restored", false) => "backup.pitr_restore_failed",
                ("pitr_drilled", true) => "backup.pitr_drilled",
                ("pitr_drilled", false) => "backup.pitr_drill_failed",
                ("promoted", _) => "backup.promoted",
                _ => "backup.pruned",
            },
            Self::Query { .. } => "browser.queried",
            Self::Session { signed_in: true, .. } => "console.signed_in",
            Self::Session { signed_in: false, .. } => "console.signed_out",
            Self::Access { allowed: false, .. } => "access.denied",
            Self::Access { allowed: true, .. } => "access.admin",
        }
    }

    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Self::Query { sql, .. } if sql.trim().is_empty() || sql.chars().count() > super::MAX_QUERY_CHARS => {
                Err(CommandError::invalid("sql", format!("must be 1 to {} characters", super::MAX_QUERY_CHARS)))
            }
            Self::Backup { action, .. } if !BACKUP_ACTIONS.contains(&action.as_str()) => {
                Err(CommandError::invalid("action", format!("must be one of {BACKUP_ACTIONS:?}, got {action:?}")))
            }
            Self::Alert { kind, .. } if !["fired", "reminded", "resolved"].contains(&kind.as_str()) => {
                Err(CommandError::invalid("kind", format!("must be fired, reminded or resolved, got {kind:?}")))
            }
            Self::JobRun { job, .. } => super::validate::required_name("job", job),
            _ => Ok(()),
        }
    }
}
