//! /api/v1/admin/db: database health and statistics, vacuum and checkpoint (admin only; audited).

use super::auth::{Admin, Auth, Caller};
use super::dto::{DbHealthDto, DbStatsDto, ErrorBody, MaintenanceDto};
use super::error::ApiError;
use super::gate::read;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::store::queries::db_info;
use atlas_actors::store::Maintenance;

/// Integrity quick check, page counts and WAL size.
#[utoipa::path(tag = "admin", responses((status = 200, body = DbHealthDto), (status = 403, body = ErrorBody)))]
#[get("/admin/db/health")]
pub async fn health(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let path = state.database.clone();
    let health = read(&state, move |conn| db_info::health(conn, &path)).await?;
    Ok(HttpResponse::Ok().json(DbHealthDto::from(health)))
}

/// Rows per table and file sizes.
#[utoipa::path(tag = "admin", responses((status = 200, body = DbStatsDto), (status = 403, body = ErrorBody)))]
#[get("/admin/db/stats")]
pub async fn stats(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let path = state.database.clone();
    let stats = read(&state, move |conn| db_info::stats(conn, &path)).await?;
    Ok(HttpResponse::Ok().json(DbStatsDto::from(stats)))
}

/// Runs a maintenance action on the writer and audits it under the caller (the API's route and the
/// console's button); answers what it did.
pub async fn maintain(state: &AppState, caller: &Caller, what: Maintenance) -> Result<String, ApiError> {
    Ok(state.handles.writer.maintain(what, caller.actor()).await?)
}

async fn answer(state: &AppState, auth: &Auth<Admin>, what: Maintenance) -> Result<HttpResponse, ApiError> {
    let detail = maintain(state, &auth.caller, what).await?;
    Ok(HttpResponse::Ok().json(MaintenanceDto { action: what.name().to_owned(), detail }))
}

/// Rebuilds the database file (after queued writes; writers wait while it runs).
#[utoipa::path(tag = "admin", responses((status = 200, body = MaintenanceDto), (status = 503, body = ErrorBody)))]
#[post("/admin/db/vacuum")]
pub async fn vacuum(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    answer(&state, &auth, Maintenance::Vacuum).await
}

/// Folds the WAL into the database file and truncates it.
#[utoipa::path(tag = "admin", responses((status = 200, body = MaintenanceDto), (status = 503, body = ErrorBody)))]
#[post("/admin/db/checkpoint")]
pub async fn checkpoint(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    answer(&state, &auth, Maintenance::Checkpoint).await
}
