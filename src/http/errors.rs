//! /api/v1/errors: the Errors_Hotlist.

use super::auth::{Auth, Read, Resolve};
use super::dto::{ErrorBody, ErrorDto, ErrorPage, ErrorQuery, Payload, ResolveBody};
use super::error::ApiError;
use super::extract::{page, parse_bool, parse_error_sort, parse_id, parse_opt, ApiJson, ApiQuery};
use super::gate::{read, submit};
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::{Command, ErrorId, Severity};
use atlas_actors::store::queries::hotlist::{self, ErrorFilter};

/// List hotlist entries, newest first, or most severe first (`sort=severity`).
#[utoipa::path(tag = "errors", params(ErrorQuery), responses((status = 200, body = ErrorPage), (status = 400, body = ErrorBody)))]
#[get("/errors")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<ErrorQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = ErrorFilter {
        resolved: parse_bool("resolved", q.resolved.as_deref())?,
        severity: parse_opt::<Severity>("severity", q.severity.as_deref())?,
        by_severity: parse_error_sort(q.sort.as_deref())?,
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| hotlist::list(conn, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ErrorPage::from(listed).shown_to(auth.caller.role)))
}

/// One hotlist entry.
#[utoipa::path(tag = "errors", params(("id" = String, Path)), responses(
    (status = 200, body = ErrorDto), (status = 404, body = ErrorBody)))]
#[get("/errors/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("error id", &id, ErrorId::parse)?;
    let lookup = id.clone();
    let found = read(&state, move |conn| hotlist::get(conn, &lookup)).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("error {id} not found")))?;
    Ok(HttpResponse::Ok().json(ErrorDto::from(found).shown_to(auth.caller.role)))
}

/// Resolve an entry (one way: 409 if it is already resolved).
#[utoipa::path(tag = "errors", params(("id" = String, Path)), request_body = ResolveBody, responses(
    (status = 200, body = ErrorDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/errors/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    auth: Auth<Resolve>,
    id: web::Path<String>,
    body: ApiJson<ResolveBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("error id", &id, ErrorId::parse)?;
    let body = body.0;
    submit(&state, &auth.caller, Command::ResolveError { id, resolution: body.resolution, notes: body.notes }).await
}
