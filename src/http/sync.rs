//! /api/v1/admin/sync: the Sheets mirror's state, and a sync cycle on demand.

use super::auth::{Admin, Auth};
use super::dto::{ErrorBody, SyncStatusDto, SyncSummaryDto};
use super::error::ApiError;
use super::gate::read;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::CommandError;
use atlas_actors::sheets::actor::SyncMode;
use atlas_actors::store::queries::sync_state;

/// Whether the mirror is enabled, and each direction's last success, failures in a row and last error.
#[utoipa::path(tag = "admin", responses((status = 200, body = SyncStatusDto), (status = 403, body = ErrorBody)))]
#[get("/admin/sync")]
pub async fn status(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let directions = read(&state, sync_state::all).await?;
    Ok(HttpResponse::Ok().json(SyncStatusDto::new(state.handles.sheets.enabled(), directions)))
}

/// Runs a full cycle now (import, then export) and answers with what it did. 409 while the mirror is
/// disabled; 503 when Google Sheets could not be reached (the failure is recorded).
#[utoipa::path(tag = "admin", responses(
    (status = 200, body = SyncSummaryDto), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/admin/sync")]
pub async fn run(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    if !state.handles.sheets.enabled() {
        return Err(ApiError::from(CommandError::Conflict(
            "Sheets sync is disabled ([sheets] enabled = false)".into(),
        )));
    }
    tracing::info!(by = %auth.caller.name, "Sheets sync requested.");
    let summary =
        state.handles.sheets.sync_now(SyncMode::Full, auth.caller.actor()).await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(SyncSummaryDto::from(summary)))
}
