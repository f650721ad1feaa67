//! /api/v1/tasks

use super::auth::{Auth, Change, Read};
use super::dto::{
    ApprovalDto, CreateTaskBody, ErrorBody, PatchTaskBody, Payload, RunDto, TaskDto, TaskPage, TaskQuery,
};
use super::error::ApiError;
use super::extract::{page, parse_id, parse_opt, ApiJson, ApiQuery};
use super::gate::{read, submit_change};
use super::AppState;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use atlas_actors::domain::command::NewRun;
use atlas_actors::domain::{Command, EnvValue, NewTask, ProjectId, RunEnv, RunId, TaskId, TaskPatch, TaskStatus};
use atlas_actors::store::queries::tasks::{self, TaskFilter};

/// List live tasks, newest first.
#[utoipa::path(tag = "tasks", params(TaskQuery), responses(
    (status = 200, body = TaskPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/tasks")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    query: ApiQuery<TaskQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let filter = TaskFilter {
        project_id: q.project_id.as_deref().map(|id| parse_id("project_id", id, ProjectId::parse)).transpose()?,
        status: parse_opt::<TaskStatus>("status", q.status.as_deref())?,
        assignee: q.assignee,
    };
    let page = page(q.limit.as_deref(), q.cursor.as_deref())?;
    let listed = read(&state, move |conn| tasks::list(conn, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(TaskPage::from(listed).shown_to(auth.caller.role)))
}

/// The `QueueRun` change for a run of the task's command (the API's run and the console's re-queue). An
/// executor-profile command is pinned now to the argv its profile resolves to: that is what gets approved.
pub fn queue_run(state: &AppState, task: atlas_actors::domain::Task) -> Result<Command, ApiError> {
    let command = task.command.ok_or_else(|| {
        ApiError::from(atlas_actors::domain::CommandError::Conflict(format!("task {} has no command to run", task.id)))
    })?;
    let id = RunId::generate();
    let executor = state
        .handles
        .runner
        .config()
        .resolve(&command, task.cwd.as_deref(), task.id.as_str(), id.as_str())
        .map_err(|why| {
            ApiError::from(atlas_actors::domain::CommandError::Conflict(format!("cannot run task {}: {why}", task.id)))
        })?;
    let (cwd, timeout_s, env) = (task.cwd, task.timeout_s, task.env);
    Ok(Command::QueueRun(NewRun { id, task_id: task.id, command, cwd, timeout_s, env, executor }))
}

/// A request's `env`: each variable a text or `{"secret": NAME}`, the error naming the variable.
fn parse_env(raw: Option<serde_json::Value>) -> Result<Option<RunEnv>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let serde_json::Value::Object(entries) = raw else {
        return Err(ApiError::bad_request("env: must be an object of variable names"));
    };
    let mut env = RunEnv::new();
    for (name, value) in entries {
        let parsed = serde_json::from_value::<EnvValue>(value).map_err(|_| {
            ApiError::bad_request(format!(
                "env.{name}: must be a text or {{\"secret\": NAME}} (a secret is named, never given)"
            ))
        })?;
        env.insert(name, parsed);
    }
    Ok(Some(env))
}

pub async fn live_task(state: &AppState, raw: &str) -> Result<atlas_actors::domain::Task, ApiError> {
    let id = parse_id("task id", raw, TaskId::parse)?;
    let lookup = id.clone();
    read(state, move |conn| tasks::get_live(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("task {id} not found")))
}

/// One live task.
#[utoipa::path(tag = "tasks", params(("id" = String, Path)), responses(
    (status = 200, body = TaskDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tasks/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(TaskDto::from(live_task(&state, &id).await?).shown_to(auth.caller.role)))
}

/// Create a task (201), or request it (202): the default policy gates tasks created by agents.
#[utoipa::path(tag = "tasks", request_body = CreateTaskBody, responses(
    (status = 201, body = TaskDto), (status = 202, body = ApprovalDto), (status = 400, body = ErrorBody)))]
#[post("/tasks")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    body: ApiJson<CreateTaskBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let change = Command::CreateTask(NewTask {
        id: TaskId::generate(),
        project_id: parse_id("project_id", &body.project_id, ProjectId::parse)?,
        title: body.title,
        description: body.description,
        status: parse_opt("status", body.status.as_deref())?,
        assignee: body.assignee,
        priority: body.priority,
        command: body.command,
        cwd: body.cwd,
        timeout_s: body.timeout_s,
        env: parse_env(body.env)?.unwrap_or_default(),
    });
    submit_change(&state, &auth.caller, change).await
}

/// Change a task (200), or request the change (202).
#[utoipa::path(tag = "tasks", params(("id" = String, Path)), request_body = PatchTaskBody, responses(
    (status = 200, body = TaskDto), (status = 202, body = ApprovalDto), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[patch("/tasks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    id: web::Path<String>,
    body: ApiJson<PatchTaskBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("task id", &id, TaskId::parse)?;
    let body = body.0;
    let patch = TaskPatch {
        title: body.title,
        description: body.description,
        status: parse_opt("status", body.status.as_deref())?,
        assignee: body.assignee,
        priority: body.priority,
        command: body.command,
        cwd: body.cwd,
        timeout_s: body.timeout_s,
        env: parse_env(body.env)?,
    };
    submit_change(&state, &auth.caller, Command::UpdateTask { id, expected_version: body.expected_version, patch })
        .await
}

/// Soft-delete a task; gated by the default policy (202).
#[utoipa::path(tag = "tasks", params(("id" = String, Path)), responses(
    (status = 200, body = TaskDto), (status = 202, body = ApprovalDto), (status = 404, body = ErrorBody)))]
#[delete("/tasks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id("task id", &id, TaskId::parse)?;
    submit_change(&state, &auth.caller, Command::DeleteTask { id }).await
}

/// Request a run of the task's command: an `execute`, gated by the default policy (202); a queued run (201)
/// where the policy lets the caller run it directly.
#[utoipa::path(tag = "tasks", params(("id" = String, Path)), responses(
    (status = 201, body = RunDto), (status = 202, body = ApprovalDto), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/tasks/{id}/run")]
pub async fn run(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let task = live_task(&state, &id).await?;
    let change = queue_run(&state, task)?;
    submit_change(&state, &auth.caller, change).await
}
