//! /api/v1/runs: runs are queued through approvals (or by admins directly) and executed by the Runner.

use super::auth::{Auth, Read, Review};
use super::dto::{ErrorBody, LiveRedactor, Payload, RunDto, RunPage, RunQuery};
use super::error::ApiError;
use super::extract::{page, parse_id, parse_status, ApiQuery};
use super::gate::read;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::{CommandError, Role, RunId, RunStatus, TaskId};
use atlas_actors::runner::CancelError;
use atlas_actors::store::queries::runs::{self, RunFilter};
use futures_util::StreamExt;
use tokio::sync::broadcast;

/// List runs, newest first.
#[utoipa::path(tag = "runs", params(RunQuery), responses((status = 200, body = RunPage), (status = 400, body = ErrorBody)))]
#[get("/runs")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = RunFilter {
        task_id: q.task_id.as_deref().map(|id| parse_id("task_id", id, TaskId::parse)).transpose()?,
        status: parse_status::<RunStatus>(q.status.as_deref())?,
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| runs::list(conn, &filter, &page)).await?;
    let mut page = RunPage::from(listed);
    page.items = page.items.into_iter().map(RunDto::excerpted).collect();
    Ok(HttpResponse::Ok().json(page.shown_to(auth.caller.role)))
}

/// One run.
#[utoipa::path(tag = "runs", params(("id" = String, Path)), responses(
    (status = 200, body = RunDto), (status = 404, body = ErrorBody)))]
#[get("/runs/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let lookup = id.clone();
    let found = read(&state, move |conn| runs::get(conn, &lookup)).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    Ok(HttpResponse::Ok().json(RunDto::from(found).shown_to(auth.caller.role)))
}

/// Cancel a run: a queued one at once, a running one by killing its whole process group. 409 when it
/// already ended.
#[utoipa::path(tag = "runs", params(("id" = String, Path)), responses(
    (status = 200, body = RunDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/runs/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    auth: Auth<Review>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    match state.handles.runner.cancel(&id, auth.caller.actor()).await {
        Ok(run) => Ok(HttpResponse::Ok().json(RunDto::from(run))),
        Err(CancelError::NotFound) => Err(ApiError::not_found(format!("run {id} not found"))),
        Err(CancelError::AlreadyFinished(status)) => {
            Err(ApiError::from(CommandError::Conflict(format!("run {id} already ended: it is {status}"))))
        }
        Err(CancelError::Unavailable(why)) => Err(ApiError::unavailable(why)),
    }
}

/// A live run's output as `role` may see it, until the run ends: what it printed so far, then each chunk
/// as printed; a viewer gets whole lines redacted together instead (`LiveRedactor`). Empty items are
/// left out.
pub fn live_output(
    role: Role,
    so_far: String,
    receiver: Option<broadcast::Receiver<Vec<u8>>>,
) -> impl futures_util::Stream<Item = Vec<u8>> {
    let redactor = (role == Role::Viewer).then(LiveRedactor::default);
    let start = (Some(so_far.into_bytes()), receiver, redactor, false);
    let items = futures_util::stream::unfold(start, |(head, mut receiver, mut redactor, done)| async move {
        if done {
            return None;
        }
        let next = match head {
            Some(head) => Some(head),
            None => loop {
                let Some(open) = receiver.as_mut() else { break None };
                match open.recv().await {
                    Ok(chunk) => break Some(chunk),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break None,
                }
            },
        };
        let (item, done) = match (next, redactor.as_mut()) {
            (Some(bytes), None) => (bytes, false),
            (Some(bytes), Some(viewer)) => (viewer.push(&String::from_utf8_lossy(&bytes)).into_bytes(), false),
            (None, Some(viewer)) => (viewer.finish().into_bytes(), true),
            (None, None) => return None,
        };
        Some((item, (None, receiver, redactor, done)))
    });
    items.filter(|item| std::future::ready(!item.is_empty()))
}

/// A run's stored output as `role` may see it (a viewer's redacted as a whole).
pub fn stored_output(run: &atlas_actors::domain::Run, role: Role) -> String {
    let output = run.output.clone().unwrap_or_default();
    match role {
        Role::Viewer => atlas_actors::sheets::sanitize::redact(&output),
        _ => output,
    }
}

/// The run's output: what it printed so far, streamed (chunked) while it runs; the stored output after.
/// A viewer's is redacted: live in whole lines, stored as a whole.
#[utoipa::path(tag = "runs", params(("id" = String, Path)), responses(
    (status = 200, description = "text/plain output, streamed while the run is live", content_type = "text/plain"),
    (status = 404, body = ErrorBody)))]
#[get("/runs/{id}/log")]
pub async fn log(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let role = auth.caller.role;
    if let Some(live) = state.handles.runner.follow(&id).await {
        let (so_far, receiver) = live.follow();
        let chunks =
            live_output(role, so_far, receiver).map(|bytes| Ok::<_, actix_web::Error>(web::Bytes::from(bytes)));
        return Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").streaming(chunks));
    }
    let lookup = id.clone();
    let run = read(&state, move |conn| runs::get(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(stored_output(&run, role)))
}
