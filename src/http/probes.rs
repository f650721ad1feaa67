//! Liveness and readiness probes: the only routes that need no token.

use super::AppState;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// The process runs and its HTTP workers answer (no token needed).
#[utoipa::path(tag = "probes", security(()), responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive", "version": env!("CARGO_PKG_VERSION") }))
}

/// 200 when the writer and the read pool answer and migrations are current, else 503 (no token needed).
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
