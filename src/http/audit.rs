//! /api/v1/audit: the events written with every change (and every refused request).

use super::auth::{Auth, Read};
use super::dto::{AuditQuery, ErrorBody, EventPage, Payload};
use super::error::ApiError;
use super::extract::{page, ApiQuery};
use super::gate::read;
use super::AppState;
use actix_web::{get, web, HttpResponse};
use atlas_actors::store::queries::events::{self, EventFilter};

/// List audit events, newest first.
#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, body = EventPage), (status = 400, body = ErrorBody)))]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = EventFilter {
        aggregate_type: q.aggregate_type,
        aggregate_id: q.aggregate_id,
        actor: q.actor,
        event_type: q.event_type,
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    // The trail pages by event number: a cursor that holds no number would quietly start over.
    if page.after.as_ref().is_some_and(|after| !after.at.is_empty() || after.id.parse::<u64>().is_err()) {
        return Err(ApiError::bad_request("invalid cursor: is not a cursor returned by this API"));
    }
    let listed = read(&state, move |conn| events::list(conn, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(EventPage::from(listed).shown_to(auth.caller.role)))
}
