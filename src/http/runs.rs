//! /api/v1/runs (read-only here; runs are queued through approvals and run by the Runner).

use super::auth::{Auth, Read};
use super::dto::{ErrorBody, RunDto, RunPage, RunQuery};
use super::error::ApiError;
use super::extract::{page, parse_id, parse_opt, ApiQuery};
use super::gate::read;
use super::AppState;
use actix_web::{get, web, HttpResponse};
use atlas_actors::domain::{RunId, RunStatus, TaskId};
use atlas_actors::store::queries::runs::{self, RunFilter};

/// List runs, newest first.
#[utoipa::path(tag = "runs", params(RunQuery), responses((status = 200, body = RunPage), (status = 400, body = ErrorBody)))]
#[get("/runs")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Read>,
    query: ApiQuery<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = RunFilter {
        task_id: q.task_id.as_deref().map(|id| parse_id("task_id", id, TaskId::parse)).transpose()?,
        status: parse_opt::<RunStatus>("status", q.status.as_deref())?,
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| runs::list(conn, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(RunPage::from(listed)))
}

/// One run.
#[utoipa::path(tag = "runs", params(("id" = String, Path)), responses(
    (status = 200, body = RunDto), (status = 404, body = ErrorBody)))]
#[get("/runs/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    _auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let lookup = id.clone();
    let found = read(&state, move |conn| runs::get(conn, &lookup)).await?;
    Ok(HttpResponse::Ok().json(RunDto::from(found.ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?)))
}
