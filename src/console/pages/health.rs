//! Health: readiness and its checks, every actor, the operational checks, alerts firing, and (for an
//! admin) the backups with their last verification.

use super::super::guard::{Chrome, Signed};
use super::super::render::page;
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
    operations: Vec<(String, String)>,
    alerts: Vec<String>,
    backups: Option<Vec<BackupDto>>,
}

/// A nested JSON object as `a.b.c = value` lines.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&name, inner, out);
            }
        }
        serde_json::Value::String(text) => out.push((prefix.to_owned(), text.clone())),
        serde_json::Value::Null => out.push((prefix.to_owned(), "—".into())),
        other => out.push((prefix.to_owned(), other.to_string())),
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
    let mut operations = Vec::new();
    if let Some(ops) = &report.operations {
        flatten("", &serde_json::to_value(ops).unwrap_or_default(), &mut operations);
    }
    let backups = if signed.caller.role.allows(atlas_actors::domain::Permission::Administer) {
        match state.handles.backup.ask(BackupRequest::List, signed.caller.actor()).await {
            Ok(answer) => Some(answer.manifests().into_iter().map(BackupDto::from).collect()),
            Err(_) => Some(Vec::new()),
        }
    } else {
        None
    };
    page(&Report {
        chrome: signed.chrome(),
        ready: report.ready,
        checks,
        actors,
        operations,
        alerts: report.alerts,
        backups,
    })
}
