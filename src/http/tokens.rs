//! /api/v1/admin/tokens: the same commands as `atlas token …`.

use super::auth::{Admin, Auth};
use super::dto::{CreateTokenBody, CreatedTokenDto, ErrorBody, TokenDto, TokenList};
use super::error::ApiError;
use super::extract::{parse_opt, ApiJson};
use super::gate::{read, submit};
use super::AppState;
use actix_web::{delete, get, post, web, HttpResponse};
use atlas_actors::domain::{Applied, Command, Role};
use atlas_actors::store::queries::tokens;

/// List tokens (never their secrets).
#[utoipa::path(tag = "admin", responses((status = 200, body = TokenList), (status = 403, body = ErrorBody)))]
#[get("/admin/tokens")]
pub async fn list(state: web::Data<AppState>, _auth: Auth<Admin>) -> Result<HttpResponse, ApiError> {
    let items = read(&state, tokens::list).await?;
    Ok(HttpResponse::Ok().json(TokenList { items: items.into_iter().map(TokenDto::from).collect() }))
}

/// Create a token; the response is the only place its secret appears.
#[utoipa::path(tag = "admin", request_body = CreateTokenBody, responses(
    (status = 201, body = CreatedTokenDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/admin/tokens")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    body: ApiJson<CreateTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let role = parse_opt::<Role>("role", Some(&body.role))?.unwrap_or(Role::Viewer);
    let (token, command) = crate::tokens::new_token_command(&body.name, role);
    let outcome = state.handles.writer.submit(command, auth.caller.actor()).await?;
    let Applied::Token(record) = outcome.applied else {
        return Err(ApiError::unavailable("the writer answered with something other than a token"));
    };
    Ok(HttpResponse::Created().json(CreatedTokenDto { token, record: record.into() }))
}

/// Revoke a token at once.
#[utoipa::path(tag = "admin", params(("name" = String, Path)), responses(
    (status = 200, body = TokenDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/admin/tokens/{name}")]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth<Admin>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    submit(&state, &auth.caller, Command::RevokeToken { name: name.into_inner() }).await
}
