//! `/api/v1/admin/sinks` (admin only): each sink's queue (waiting, delivered, dead, last error, the dead
//! letters, whether it is disabled), a dead delivery's retry, and enabling a sink a 410 disabled.

use super::auth::{Admin, Auth};
use super::dto::ErrorBody;
use super::error::ApiError;
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::Command;
use atlas_actors::sinks::queue;

/// Every configured sink's queue and dead letters.
#[utoipa::path(tag = "admin", responses(
    (status = 200, description = "items: [{name, waiting, delivered, dead, last_error, dead_letters}]"),
    (status = 403, body = ErrorBody)))]
#[get("/admin/sinks")]
pub async fn list(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let names = state.handles.sinks.names.clone();
    let items = state
        .handles
        .readers
        .read(move |conn| names.iter().map(|name| queue::status(conn, name)).collect::<rusqlite::Result<Vec<_>>>())
        .await
        .map_err(ApiError::from_read)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Delivers to a sink again after its receiver answered 410 Gone (its waiting deliveries go first);
/// audited. 404 when that sink is not disabled.
#[utoipa::path(tag = "admin", params(("name" = String, Path)), responses(
    (status = 200, description = "{name, enabled: true}"), (status = 404, body = ErrorBody)))]
#[post("/admin/sinks/{name}/enable")]
pub async fn enable(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sink = name.into_inner();
    state.handles.writer.submit(Command::EnableSink { sink: sink.clone() }, auth.caller.actor()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "name": sink, "enabled": true })))
}

/// Puts a dead delivery back in its queue (attempts from zero, due now); audited. 404 when no dead
/// delivery has that id.
#[utoipa::path(tag = "admin", params(("delivery_id" = String, Path)), responses(
    (status = 200, description = "{delivery_id, queued: true}"), (status = 404, body = ErrorBody)))]
#[post("/admin/sinks/deliveries/{delivery_id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    delivery_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let delivery_id = delivery_id.into_inner().to_ascii_lowercase();
    if delivery_id.len() > 64 || !delivery_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request("delivery_id: not a delivery id (hex, as X-Atlas-Delivery carries it)"));
    }
    let retry = Command::RetryDelivery { delivery_id: delivery_id.clone() };
    state.handles.writer.submit(retry, auth.caller.actor()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "delivery_id": delivery_id, "queued": true })))
}
