//! Administration (admin role): tokens, backups (create, verify, restore with a typed confirmation),
//! the Sheets mirror, scheduled jobs, event sinks (enable one a 410 disabled), database maintenance and
//! expiring stale approvals. Each action is
//! the command or actor request the matching admin API route sends, under the signed-in admin's name.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::page;
use super::super::{back_to, ConsoleError};
use super::confirm::{self, Ask, Confirmed};
use super::Empty;
use crate::http::auth::Admin;
use crate::http::dto::{BackupDto, JobStatusDto, TokenDto};
use crate::http::gate::{self, read};
use actix_web::web::{post, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::backup::BackupRequest;
use atlas_actors::domain::clock::format_timestamp;
use atlas_actors::domain::{Applied, Command, Role};
use atlas_actors::scheduler::RunNowError;
use atlas_actors::store::queries::{approvals, sync_state, tokens};
use atlas_actors::store::Maintenance;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(super::at("/admin", "GET").route(web::get().to(overview)))
        .service(super::at("/admin/tokens", "POST").route(post().to(create_token)))
        .service(super::at("/admin/tokens/{name}/revoke", "POST").route(post().to(revoke_token)))
        .service(super::at("/admin/backups", "POST").route(post().to(create_backup)))
        .service(super::at("/admin/backups/{id}/verify", "POST").route(post().to(verify_backup)))
        .service(super::at("/admin/backups/{id}/restore", "POST").route(post().to(restore_backup)))
        .service(super::at("/admin/sync", "POST").route(post().to(sync_now)))
        .service(super::at("/admin/schedules/{job}/run", "POST").route(post().to(run_job)))
        .service(super::at("/admin/db/{action}", "POST").route(post().to(maintain)))
        .service(super::at("/admin/approvals/expire", "POST").route(post().to(expire_approvals)))
        .service(super::at("/admin/sinks/{name}/enable", "POST").route(post().to(enable_sink)));
}

pub struct Direction {
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Overview {
    chrome: Chrome,
    tokens: Vec<TokenDto>,
    backups: Vec<BackupDto>,
    backup_problem: Option<String>,
    sheets_enabled: bool,
    directions: Vec<Direction>,
    jobs: Vec<JobStatusDto>,
    sinks: Vec<atlas_actors::sinks::queue::SinkStatus>,
}

async fn overview(signed: Signed<Admin>) -> Result<HttpResponse, ConsoleError> {
    let state = &signed.state;
    let tokens = read(state, tokens::list).await?.into_iter().map(TokenDto::from).collect();
    let (backups, backup_problem) = match state.handles.backup.ask(BackupRequest::List, signed.caller.actor()).await {
        Ok(answer) => (answer.manifests().into_iter().map(BackupDto::from).collect(), None),
        Err(err) => (Vec::new(), Some(err.into())),
    };
    let directions = read(state, sync_state::all)
        .await?
        .into_iter()
        .map(|d| {
            let detail = match (&d.last_success_at, &d.last_error) {
                (_, Some(err)) if d.consecutive_failures > 0 => {
                    format!("failing ({} in a row): {err}", d.consecutive_failures)
                }
                (Some(at), _) => {
                    format!("last success {at}; {} edits applied, {} rejected", d.edits_applied, d.edits_rejected)
                }
                (None, _) => format!("last attempt {}", d.last_attempt_at),
            };
            Direction { name: d.direction, detail }
        })
        .collect();
    let jobs = state.handles.scheduler.list().await.map_err(crate::http::ApiError::unavailable)?;
    let names = state.handles.sinks.names.clone();
    let sinks = read(state, move |conn| {
        names.iter().map(|name| atlas_actors::sinks::queue::status(conn, name)).collect::<rusqlite::Result<Vec<_>>>()
    })
    .await?;
    page(&Overview {
        chrome: signed.chrome(),
        tokens,
        backups,
        backup_problem,
        sheets_enabled: state.handles.sheets.enabled(),
        directions,
        jobs: jobs.into_iter().map(JobStatusDto::from).collect(),
        sinks,
    })
}

/// A sink its receiver disabled (410 Gone) delivers again: the API's `EnableSink`, audited.
async fn enable_sink(posted: Posted<Admin, Empty>, name: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let sink = name.into_inner();
    let enable = Command::EnableSink { sink: sink.clone() };
    let result = signed.state.handles.writer.submit(enable, signed.caller.actor()).await;
    let said = result.map(|_| format!("Sink {sink} delivers again, its waiting deliveries first."));
    Ok(done(signed, said.map_err(|err| format!("Sink {sink} was not enabled: {err}"))))
}

fn done(signed: &Signed<Admin>, result: Result<String, String>) -> HttpResponse {
    match result {
        Ok(text) => signed.flash(true, text),
        Err(text) => signed.flash(false, text),
    }
    back_to("/console/admin")
}

#[derive(serde::Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn create_token(posted: Posted<Admin, NewToken>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let role = match posted.form.role.parse::<Role>() {
        Ok(role) => role,
        Err(err) => return Ok(done(signed, Err(format!("role: {err}")))),
    };
    let (token, command) = crate::tokens::new_token_command(posted.form.name.trim(), role);
    match gate::command(&signed.state, &signed.caller, command).await {
        Ok(Applied::Token(record)) => {
            signed.flash_secret(format!("Token {} ({}) created.", record.name, record.role), token);
            Ok(back_to("/console/admin"))
        }
        Ok(_) => Ok(done(signed, Err("the writer answered with something other than a token".into()))),
        Err(err) => Ok(done(signed, Err(format!("Token not created: {}", err.message)))),
    }
}

/// The revoke form's path for a token name, the name percent-encoded as one path segment.
fn revoke_action(name: &str) -> String {
    let mut url = url::Url::parse("http://atlas/console/admin/tokens").expect("a fixed URL");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(name).push("revoke");
    }
    url.path().to_owned()
}

async fn revoke_token(posted: Posted<Admin, Confirmed>, name: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let name = name.into_inner();
    if !posted.form.yes() {
        let yourself = if name == signed.caller.name { " This is the token you are signed in with." } else { "" };
        return confirm::ask(
            signed,
            Ask {
                title: format!("Revoke token {name}?"),
                sentence: format!(
                    "Everything using it (scripts, agents, console sign-ins) is refused from the next request, \
                     and it cannot be restored: a new token must be made and handed out.{yourself}"
                ),
                action: revoke_action(&name),
                fields: Vec::new(),
                button: "Revoke it",
                back: "/console/admin",
            },
        );
    }
    let result = gate::command(&signed.state, &signed.caller, Command::RevokeToken { name: name.clone() }).await;
    Ok(done(
        signed,
        result.map(|_| format!("Token {name} revoked.")).map_err(|e| format!("Not revoked: {}", e.message)),
    ))
}

async fn backup(signed: &Signed<Admin>, request: BackupRequest) -> Result<BackupDto, String> {
    signed.state.handles.backup.ask(request, signed.caller.actor()).await?.manifest().map(BackupDto::from)
}

async fn create_backup(posted: Posted<Admin, Empty>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    tracing::info!(by = %signed.caller.name, "Backup requested from the console.");
    let result = backup(signed, BackupRequest::Create).await;
    Ok(done(signed, result.map(|b| format!("Backup {} made ({} bytes).", b.id, b.size_bytes))))
}

async fn verify_backup(posted: Posted<Admin, Empty>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    tracing::info!(by = %signed.caller.name, backup = ?id, "Backup verification requested from the console.");
    let result = backup(signed, BackupRequest::Verify(id.into_inner())).await.and_then(|b| match b.verified_ok {
        Some(true) => Ok(format!("Backup {} verified.", b.id)),
        _ => Err(format!("Backup {} failed verification: {}", b.id, b.verify_detail.unwrap_or_default())),
    });
    Ok(done(signed, result))
}

#[derive(serde::Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// A restore replaces the live database: the admin types the backup's id to confirm it.
async fn restore_backup(posted: Posted<Admin, Confirm>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let id = id.into_inner();
    if posted.form.confirm.trim() != id {
        return Ok(done(signed, Err(format!("Not restored: type the backup's id ({id}) to confirm a restore."))));
    }
    tracing::warn!(by = %signed.caller.name, backup = ?id, "Restore requested from the console.");
    let result = backup(signed, BackupRequest::Restore(id)).await;
    Ok(done(
        signed,
        result.map(|b| format!("Restored backup {}; the previous database was kept as a safety backup.", b.id)),
    ))
}

async fn sync_now(posted: Posted<Admin, Empty>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let sheets = &signed.state.handles.sheets;
    if !sheets.enabled() {
        return Ok(done(signed, Err("Sheets sync is disabled ([sheets] enabled = false).".into())));
    }
    tracing::info!(by = %signed.caller.name, "Sheets sync requested from the console.");
    let result = sheets.sync_now(atlas_actors::sheets::actor::SyncMode::Full, signed.caller.actor()).await;
    Ok(done(
        signed,
        result.map(|summary| {
            format!(
                "Sync done: {}",
                serde_json::to_string(&crate::http::dto::SyncSummaryDto::from(summary)).unwrap_or_default()
            )
        }),
    ))
}

async fn run_job(posted: Posted<Admin, Empty>, job: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    tracing::info!(job = ?job, by = %signed.caller.name, "Job run requested from the console.");
    let result = signed.state.handles.scheduler.run_now(&job, signed.caller.actor()).await;
    Ok(done(
        signed,
        result
            .map(|r| {
                format!(
                    "Job {job} ran: {}",
                    serde_json::to_string(&crate::http::dto::JobReportDto::from(r)).unwrap_or_default()
                )
            })
            .map_err(|e| match e {
                RunNowError::UnknownJob(job) => format!("There is no scheduled job named {job:?}."),
                RunNowError::AlreadyRunning(job) => format!("Job {job} is already running."),
                RunNowError::Unavailable(why) => format!("Job {job} did not run: {why}"),
            }),
    ))
}

async fn maintain(posted: Posted<Admin, Empty>, action: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let what = match action.as_str() {
        "vacuum" => Maintenance::Vacuum,
        "checkpoint" => Maintenance::Checkpoint,
        other => return Err(ConsoleError::Bad(format!("action: {other:?} is neither vacuum nor checkpoint"))),
    };
    let result = crate::http::db::maintain(&signed.state, &signed.caller, what).await;
    Ok(done(
        signed,
        result.map(|detail| format!("{action}: {detail}")).map_err(|e| format!("{action} failed: {}", e.message)),
    ))
}

const MAX_EXPIRE_HOURS: u32 = 10 * 366 * 24;

#[derive(serde::Deserialize)]
pub struct Expire {
    #[serde(default)]
    older_than_hours: String,
    #[serde(default)]
    confirmed: String,
}

/// Expires every approval pending longer than the given hours (the housekeeper's own command, on demand).
async fn expire_approvals(posted: Posted<Admin, Expire>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    // At most ten years back: beyond that nothing is pending, and chrono's range ends not far after.
    let hours = match posted.form.older_than_hours.trim().parse::<u32>() {
        Ok(hours) if (1..=MAX_EXPIRE_HOURS).contains(&hours) => hours,
        _ => {
            let why = format!("older_than_hours: a whole number of hours from 1 to {MAX_EXPIRE_HOURS}");
            return Ok(posted.refused(why, "/console/admin"));
        }
    };
    let cutoff = format_timestamp(chrono::Utc::now() - chrono::Duration::hours(hours.into()));
    if posted.form.confirmed != "yes" {
        let before = cutoff.clone();
        let count = read(&signed.state, move |conn| approvals::count_pending_before(conn, &before)).await?;
        return confirm::ask(
            signed,
            Ask {
                title: format!("Expire {count} approvals?"),
                sentence: format!(
                    "{count} approvals have waited longer than {hours} h. Expiring closes them for good: \
                     none of them can be approved afterwards, and their requesters must ask again."
                ),
                action: "/console/admin/approvals/expire".into(),
                fields: vec![("older_than_hours", hours.to_string())],
                button: "Expire them",
                back: "/console/admin",
            },
        );
    }
    let result =
        gate::command(&signed.state, &signed.caller, Command::ExpireApprovals { requested_before: cutoff }).await;
    Ok(done(
        signed,
        match result {
            Ok(Applied::Expired(n)) => Ok(format!("{n} approvals pending over {hours} h expired.")),
            Ok(_) => Ok("Expired.".into()),
            Err(err) => Err(format!("Not expired: {}", err.message)),
        },
    ))
}
