//! Health: readiness and its checks, every actor, the operational checks, alerts firing, and (for an
//! admin) the backups with their last verification.

use super::super::guard::{Chrome, Signed};
use super::super::render::{age, page};
use super::super::ConsoleError;
use crate::http::auth::Read;
use crate::http::dto::BackupDto;
use actix_web::HttpResponse;
use askama::Template;
use atlas_actors::backup::BackupRequest;

pub struct Line {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// One operational check as a person reads it: its level as a badge, its sentence, its number rounded.
pub struct OpsLine {
    pub name: String,
    /// ok | warn | critical
    pub level: String,
    pub detail: String,
    pub value: String,
}

pub struct ActorLine {
    pub name: String,
    pub state: String,
    pub restarts: u64,
    pub heartbeat: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "health.html")]
struct Report {
    chrome: Chrome,
    ready: bool,
    checks: Vec<Line>,
    actors: Vec<ActorLine>,
    operations: Vec<OpsLine>,
    /// When the operational checks ran, as an age and as the exact time.
    checked: Option<(String, String)>,
    reminders: Vec<String>,
    alerts: Vec<String>,
    backups: Option<Vec<BackupDto>>,
    charts: Vec<super::super::charts::Chart>,
}

/// A check's number, rounded to what a person compares: whole numbers as such, others to two places.
fn rounded(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

pub async fn report(signed: Signed<Read>) -> Result<HttpResponse, ConsoleError> {
    let state = &signed.state;
    let report = state.handles.health.readiness().await.map_err(crate::http::ApiError::unavailable)?;
    let checks = report
        .checks
        .iter()
        .map(|(name, check)| Line { name: (*name).to_owned(), ok: check.ok, detail: check.detail.clone() })
        .collect();
    let actors = report
        .actors
        .iter()
        .map(|(name, a)| ActorLine {
            name: (*name).to_owned(),
            state: format!("{:?}", a.state).to_lowercase(),
            restarts: a.restarts,
            heartbeat: a.last_heartbeat.map(atlas_actors::domain::clock::format_timestamp).unwrap_or_default(),
            note: a.operation.clone().or_else(|| a.last_error.clone()).unwrap_or_default(),
        })
        .collect();
    let (mut operations, mut checked, mut reminders) = (Vec::new(), None, Vec::new());
    if let Some(ops) = &report.operations {
        operations = ops
            .checks
            .iter()
            .map(|(name, check)| OpsLine {
                name: name.replace('_', " "),
                level: format!("{:?}", check.level).to_lowercase(),
                detail: check.detail.clone(),
                value: rounded(check.value),
            })
            .collect();
        // The most urgent first, then by name.
        operations.sort_by_key(|line| (line.level != "critical", line.level != "warn", line.name.clone()));
        checked = Some((age(&ops.checked_at), ops.checked_at.clone()));
        reminders = ops
            .reminders
            .iter()
            .map(|r| {
                format!("{} ({}), requested by {} {} ago", r.summary, r.approval, r.requested_by, age(&r.requested_at))
            })
            .collect();
    }
    let backups = if signed.caller.role.allows(atlas_actors::domain::Permission::Administer) {
        match state.handles.backup.ask(BackupRequest::List, signed.caller.actor()).await {
            Ok(answer) => Some(answer.manifests().into_iter().map(BackupDto::from).collect()),
            Err(_) => Some(Vec::new()),
        }
    } else {
        None
    };
    let charts = super::trends::charts(&signed.state, None, signed.caller.role).await?;
    page(&Report {
        chrome: signed.chrome(),
        ready: report.ready,
        checks,
        actors,
        operations,
        checked,
        reminders,
        alerts: report.alerts,
        backups,
        charts,
    })
}
