//! /api/v1/projects

use super::auth::{Auth, Change, Read};
use super::dto::{
    ApprovalDto, CreateProjectBody, ErrorBody, PatchProjectBody, Payload, ProjectDto, ProjectPage, ProjectQuery,
};
use super::error::ApiError;
use super::extract::{page, parse_id, parse_opt, ApiJson, ApiQuery};
use super::gate::{read, submit_change};
use super::AppState;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use atlas_actors::domain::{Command, NewProject, ProjectId, ProjectPatch, ProjectStatus};
use atlas_actors::store::queries::projects;

/// List live projects, newest first.
#[utoipa::path(tag = "projects", params(ProjectQuery), responses(
    (status = 200, body = ProjectPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/projects")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let status = parse_opt::<ProjectStatus>("status", q.status.as_deref())?;
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| projects::list(conn, status, &page)).await?;
    Ok(HttpResponse::Ok().json(ProjectPage::from(listed).shown_to(auth.caller.role)))
}

/// One live project.
#[utoipa::path(tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, body = ProjectDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/projects/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("project id", &id, ProjectId::parse)?;
    let lookup = id.clone();
    let found = read(&state, move |conn| projects::get_live(conn, &lookup)).await?;
    let project = found.ok_or_else(|| ApiError::not_found(format!("project {id} not found")))?;
    Ok(HttpResponse::Ok().json(ProjectDto::from(project).shown_to(auth.caller.role)))
}

/// Create a project (201), or request it (202) when the policy gates it.
#[utoipa::path(tag = "projects", request_body = CreateProjectBody, responses(
    (status = 201, body = ProjectDto), (status = 202, body = ApprovalDto), (status = 400, body = ErrorBody)))]
#[post("/projects")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    body: ApiJson<CreateProjectBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let change = Command::CreateProject(NewProject {
        id: ProjectId::generate(),
        name: body.name,
        description: body.description,
    });
    submit_change(&state, &auth.caller, change).await
}

/// Change a project (200), or request the change (202).
#[utoipa::path(tag = "projects", params(("id" = String, Path)), request_body = PatchProjectBody, responses(
    (status = 200, body = ProjectDto), (status = 202, body = ApprovalDto), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[patch("/projects/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    id: web::Path<String>,
    body: ApiJson<PatchProjectBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("project id", &id, ProjectId::parse)?;
    let body = body.0;
    let patch = ProjectPatch {
        name: body.name,
        description: body.description,
        status: parse_opt("status", body.status.as_deref())?,
    };
    submit_change(&state, &auth.caller, Command::UpdateProject { id, expected_version: body.expected_version, patch })
        .await
}

/// Soft-delete a project; gated by the default policy (202).
#[utoipa::path(tag = "projects", params(("id" = String, Path)), responses(
    (status = 200, body = ProjectDto), (status = 202, body = ApprovalDto), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[delete("/projects/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("project id", &id, ProjectId::parse)?;
    submit_change(&state, &auth.caller, Command::DeleteProject { id }).await
}
