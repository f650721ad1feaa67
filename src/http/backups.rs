//! /api/v1/admin/backups: list, make, verify, upload and restore backups, local or off-site (admin only;
//! every call audited).

use super::auth::{Admin, Auth};
use super::dto::{BackupDto, BackupList, ErrorBody};
use super::error::ApiError;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::backup::{BackupAnswer, BackupRequest};

async fn ask(state: &AppState, request: BackupRequest, auth: &Auth<Admin>) -> Result<BackupAnswer, ApiError> {
    Ok(state.handles.backup.ask(request, auth.caller.actor()).await?)
}

/// Local backups, newest first, with their manifests and last verification.
#[utoipa::path(tag = "admin", responses((status = 200, body = BackupList), (status = 403, body = ErrorBody)))]
#[get("/admin/backups")]
pub async fn list(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let items = ask(&state, BackupRequest::List, &auth).await?.manifests().into_iter().map(BackupDto::from).collect();
    Ok(HttpResponse::Ok().json(BackupList { items }))
}

/// Backups in off-site storage, newest first, as their uploaded manifests describe them. 409 when off-site
/// storage is not configured, 503 when it cannot be reached.
#[utoipa::path(tag = "admin", responses((status = 200, body = BackupList), (status = 409, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
#[get("/admin/backups/remote")]
pub async fn list_remote(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let items =
        ask(&state, BackupRequest::ListRemote, &auth).await?.manifests().into_iter().map(BackupDto::from).collect();
    Ok(HttpResponse::Ok().json(BackupList { items }))
}

/// Uploads a local backup to off-site storage (again), then applies remote retention.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), responses(
    (status = 200, body = BackupDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/admin/backups/{id}/upload")]
pub async fn upload(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    tracing::info!(by = %auth.caller.name, backup = ?id, "Off-site upload requested.");
    one(ask(&state, BackupRequest::Upload(id.into_inner()), &auth).await?, actix_web::http::StatusCode::OK)
}

/// Downloads an off-site backup into the local backup directory, then restores it exactly like a local one
/// (verified first, safety backup, atomic swap). 400 without `{"confirm": true}`.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), request_body = RestoreBody, responses(
    (status = 200, body = BackupDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/admin/backups/remote/{id}/restore")]
pub async fn restore_remote(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    id: web::Path<String>,
    body: super::extract::ApiJson<RestoreBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.confirmed()?;
    tracing::warn!(by = %auth.caller.name, backup = ?id, "Restore from off-site storage requested.");
    one(ask(&state, BackupRequest::RestoreRemote(id.into_inner()), &auth).await?, actix_web::http::StatusCode::OK)
}

fn one(answer: BackupAnswer, status: actix_web::http::StatusCode) -> Result<HttpResponse, ApiError> {
    let manifest = answer.manifest().map_err(ApiError::unavailable)?;
    Ok(HttpResponse::build(status).json(BackupDto::from(manifest)))
}

/// Makes a backup now (an online copy; writers are not blocked), then applies retention. With off-site
/// storage configured the backup is uploaded too; read `upload_error` (the local backup exists either way).
#[utoipa::path(tag = "admin", responses((status = 201, body = BackupDto), (status = 503, body = ErrorBody)))]
#[post("/admin/backups")]
pub async fn create(state: web::Data<AppState>, auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    tracing::info!(by = %auth.caller.name, "Backup requested.");
    one(ask(&state, BackupRequest::Create, &auth).await?, actix_web::http::StatusCode::CREATED)
}

/// Verifies a backup: checksum, decompression, integrity_check, row counts. 200 either way; read `verified_ok`.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), responses(
    (status = 200, body = BackupDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/admin/backups/{id}/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    tracing::info!(by = %auth.caller.name, backup = ?id, "Backup verification requested.");
    one(ask(&state, BackupRequest::Verify(id.into_inner()), &auth).await?, actix_web::http::StatusCode::OK)
}

/// `{"confirm": true}`, nothing else: a restore replaces the live database.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    pub confirm: bool,
}

impl RestoreBody {
    fn confirmed(&self) -> Result<(), ApiError> {
        match self.confirm {
            true => Ok(()),
            false => Err(ApiError::bad_request("a restore replaces the live database: send {\"confirm\": true}")),
        }
    }
}

/// Restores a backup: verifies it, takes a safety backup of the current database, swaps the file while
/// the writer holds queued commands, reopens readers. 400 without `{"confirm": true}`; a failed restore
/// leaves the original database in place.
#[utoipa::path(tag = "admin", params(("id" = String, Path)), request_body = RestoreBody, responses(
    (status = 200, body = BackupDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/admin/backups/{id}/restore")]
pub async fn restore(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    id: web::Path<String>,
    body: super::extract::ApiJson<RestoreBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.confirmed()?;
    tracing::warn!(by = %auth.caller.name, backup = ?id, "Restore requested.");
    one(ask(&state, BackupRequest::Restore(id.into_inner()), &auth).await?, actix_web::http::StatusCode::OK)
}
