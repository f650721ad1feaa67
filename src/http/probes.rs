//! Liveness and readiness probes (the only routes that need no token) and the admin health report.

use super::AppState;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde_json::json;

/// The process runs and its HTTP workers answer (no token needed).
#[utoipa::path(tag = "probes", security(()), responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive", "version": env!("CARGO_PKG_VERSION") }))
}

/// 200 when the writer and the read pool answer, migrations are current and every actor beats, else 503.
/// Without a token it says only that, and the names of what fails; with any valid token (a viewer's will
/// do) it shows each check, each actor and the last operational checks (they do not make it 503). The
/// detail (paths, errors, requester names) is for the team, not for whoever can reach the port.
#[utoipa::path(tag = "probes", security(()), responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let report = match state.handles.health.readiness().await {
        Ok(report) => {
            serde_json::to_value(&report).unwrap_or_else(|e| json!({ "ready": false, "error": e.to_string() }))
        }
        Err(err) => json!({
            "ready": false,
            "checks": { "health": { "ok": false, "detail": err } },
            "actors": state.handles.registry.snapshot(),
        }),
    };
    let mut response = match report["ready"].as_bool() {
        Some(true) => HttpResponse::Ok(),
        _ => HttpResponse::ServiceUnavailable(),
    };
    if super::auth::caller(&state, &req).await.is_some() {
        return response.json(report);
    }
    response.json(json!({ "ready": report["ready"].as_bool() == Some(true), "failing": failing(&report) }))
}

/// The names of the readiness checks that fail and of the actors that do not run (`actor:<name>`).
fn failing(report: &serde_json::Value) -> Vec<String> {
    let checks = report["checks"].as_object().into_iter().flatten();
    let actors = report["actors"].as_object().into_iter().flatten();
    checks
        .filter(|(_, check)| check["ok"].as_bool() != Some(true))
        .map(|(name, _)| name.clone())
        .chain(actors.filter(|(_, actor)| actor["state"] != "running").map(|(name, _)| format!("actor:{name}")))
        .collect()
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
