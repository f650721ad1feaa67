//! Point-in-time recovery over HTTP (admin only): `GET /api/v1/admin/pitr` (how far back and how far
//! behind: the newest restorable point, the lag, the outbox, the last upload error) and
//! `POST /api/v1/admin/restore` (rebuild to a time or `latest` and swap it in, or only check it).

use super::auth::{Admin, Auth};
use super::dto::ErrorBody;
use super::error::ApiError;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::backup::{BackupAnswer, BackupRequest};
use atlas_actors::pitr::{OutboxFigures, Target};

/// The newest restorable point, the lag and the outbox size, the shipper's last upload and error.
#[utoipa::path(tag = "admin", responses(
    (status = 200, description = "enabled, restorable_through, lag_seconds, max_lag_seconds, outbox {rows, bytes, \
        oldest_committed_at}, shipper {last_upload_at, last_upload_error, base, …}"),
    (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[get("/admin/pitr")]
pub async fn status(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let outbox = state.handles.readers.read(OutboxFigures::read).await.map_err(ApiError::from_read)?;
    Ok(HttpResponse::Ok().json(state.handles.pitr.monitor.report(outbox, chrono::Utc::now())))
}

/// `{"to": "<RFC 3339 time> | latest", "confirm": true}`; `verify_only` rebuilds and checks without
/// swapping (no confirmation needed); `from_remote` takes the snapshot from the bucket.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointRestoreBody {
    pub to: String,
    #[serde(default)]
    pub confirm: bool,
    #[serde(default)]
    pub verify_only: bool,
    #[serde(default)]
    pub from_remote: bool,
}

/// Rebuilds the database as it was at `to` from the newest snapshot before it and the shipped changes,
/// checks it (integrity_check, row counts against the changes, no event after the target), then swaps
/// it in through the safety-first restore (runs it finds running are marked interrupted). 400 for a bad
/// body, 409 when it cannot be rebuilt (the original stays), 503 when the bucket cannot be reached.
#[utoipa::path(tag = "admin", request_body = PointRestoreBody, responses(
    (status = 200, description = "target, base, changes_applied, restored_through, ended_by, integrity, \
        row_counts, verify_only, safety_backup"),
    (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/admin/restore")]
pub async fn restore(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    body: super::extract::ApiJson<PointRestoreBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let to = Target::parse(&body.to)
        .and_then(|to| to.not_in_future(chrono::Utc::now()))
        .map_err(|why| ApiError::bad_request(format!("to: {why}")))?;
    if !body.confirm && !body.verify_only {
        return Err(ApiError::bad_request(
            "confirm: a restore replaces the live database: send {\"to\": …, \"confirm\": true} (or \"verify_only\": true)",
        ));
    }
    tracing::warn!(by = %auth.caller.name, to = %to, verify_only = body.verify_only, "Point-in-time restore requested.");
    let request = BackupRequest::RestoreToPoint { to, from_remote: body.from_remote, verify_only: body.verify_only };
    match state.handles.backup.ask(request, auth.caller.actor()).await {
        Ok(BackupAnswer::Point(report)) => Ok(HttpResponse::Ok().json(report)),
        Ok(_) => Err(ApiError::unavailable("the backup actor answered something else")),
        Err(why) => Err(why.into()),
    }
}
