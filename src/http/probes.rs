//! Liveness and readiness probes (the only routes that need no token) and the admin health report.

use super::AppState;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// The process runs and its HTTP workers answer (no token needed).
#[utoipa::path(tag = "probes", security(()), responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive", "version": env!("CARGO_PKG_VERSION") }))
}

/// 200 when the writer and the read pool answer, migrations are current and every actor beats, else 503
/// (no token needed). Also shows each actor and the last operational checks (they do not make it 503).
#[utoipa::path(tag = "probes", security(()), responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.handles.health.readiness().await {
        Ok(report) if report.ready => HttpResponse::Ok().json(report),
        Ok(report) => HttpResponse::ServiceUnavailable().json(report),
        Err(err) => HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "checks": { "health": { "ok": false, "detail": err } },
            "actors": state.handles.registry.snapshot(),
        })),
    }
}

/// The full health report: readiness, every actor (state, restarts, last heartbeat), operational checks run
/// now (disk, WAL, backups, Sheets sync, approvals, critical errors, validation failures), firing alerts,
/// and with `[pitr]` its figures (`pitr`: restorable point, lag, outbox, last upload error).
#[utoipa::path(tag = "admin", responses((status = 200, description = "the report"),
    (status = 403, body = super::dto::ErrorBody), (status = 503, body = super::dto::ErrorBody)))]
#[get("/admin/health")]
pub async fn admin_health(
    state: web::Data<AppState>,
    _auth: super::auth::Auth<super::auth::Admin>,
) -> Result<HttpResponse, super::ApiError> {
    let report = state.handles.health.full_report().await.map_err(super::ApiError::unavailable)?;
    let mut body = serde_json::to_value(report).map_err(|e| super::ApiError::unavailable(e.to_string()))?;
    // Point-in-time recovery's figures, as GET /api/v1/admin/pitr shows them.
    if state.handles.pitr.monitor.enabled() {
        let outbox = state
            .handles
            .readers
            .read(atlas_actors::pitr::OutboxFigures::read)
            .await
            .map_err(super::ApiError::from_read)?;
        body["pitr"] = serde_json::json!(state.handles.pitr.monitor.report(outbox, chrono::Utc::now()));
    }
    Ok(HttpResponse::Ok().json(body))
}
