//! /api/v1/approvals: the human side of the gate.

use super::auth::{Auth, Read, Review};
use super::dto::{ApprovalDto, ApprovalPage, ApprovalQuery, ErrorBody, Payload, ReviewBody};
use super::error::ApiError;
use super::extract::{page, parse_id, parse_opt, parse_status, ApiJson, ApiQuery};
use super::gate::{read, submit};
use super::AppState;
use actix_web::{get, post, web, HttpResponse};
use atlas_actors::domain::command::Decision;
use atlas_actors::domain::{ApprovalId, ApprovalStatus, Command, ItemType};
use atlas_actors::store::queries::approvals::{self, ApprovalFilter};

/// List approvals, newest request first.
#[utoipa::path(tag = "approvals", params(ApprovalQuery), responses(
    (status = 200, body = ApprovalPage), (status = 400, body = ErrorBody)))]
#[get("/approvals")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<ApprovalQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = ApprovalFilter {
        status: parse_status::<ApprovalStatus>(q.status.as_deref())?,
        item_type: parse_opt::<ItemType>("type", q.item_type.as_deref())?,
        order: Default::default(),
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| approvals::list(conn, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ApprovalPage::from(listed).shown_to(auth.caller.role)))
}

/// One approval with its notes.
#[utoipa::path(tag = "approvals", params(("id" = String, Path)), responses(
    (status = 200, body = ApprovalDto), (status = 404, body = ErrorBody)))]
#[get("/approvals/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("approval id", &id, ApprovalId::parse)?;
    let lookup = id.clone();
    let found = read(&state, move |conn| approvals::get(conn, &lookup)).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("approval {id} not found")))?;
    Ok(HttpResponse::Ok().json(ApprovalDto::from(found).shown_to(auth.caller.role)))
}

async fn review(
    state: &AppState,
    auth: Auth<Review>,
    id: &str,
    decision: Decision,
    notes: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("approval id", id, ApprovalId::parse)?;
    let command =
        Command::ReviewApproval { id, decision, notes, allow_self_approval: state.allow_self_approval, via: None };
    submit(state, &auth.caller, command).await
}

/// Approve: applies the stored change in the same transaction. 409 when it is no longer pending or its
/// target changed since the request; 403 for the requester themselves.
#[utoipa::path(tag = "approvals", params(("id" = String, Path)), request_body = ReviewBody, responses(
    (status = 200, body = ApprovalDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/approvals/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    auth: Auth<Review>,
    id: web::Path<String>,
    body: ApiJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    review(&state, auth, &id, Decision::Approve, body.0.notes).await
}

/// Reject: never applies anything.
#[utoipa::path(tag = "approvals", params(("id" = String, Path)), request_body = ReviewBody, responses(
    (status = 200, body = ApprovalDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/approvals/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    auth: Auth<Review>,
    id: web::Path<String>,
    body: ApiJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    review(&state, auth, &id, Decision::Reject, body.0.notes).await
}
