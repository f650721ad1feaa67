//! A task or a project, with its related rows (a task's project, runs and approvals; a project's tasks),
//! edited through the same gated update commands as the API's PATCH: only the fields that changed are
//! sent, pinned to the version the form showed.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::page;
use super::super::{back_to, ConsoleError};
use super::Empty;
use crate::http::auth::{Change, Read};
use crate::http::dto::{Payload, ProjectDto, RunDto, TaskDto};
use crate::http::extract::{page as paging, parse_id, parse_opt};
use crate::http::gate::{self, read, Gated};
use crate::http::ApiError;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::command::{ProjectPatch, TaskPatch};
use atlas_actors::domain::{Command, ProjectId, ProjectStatus, TaskId, TaskStatus};
use atlas_actors::store::queries::projects;
use atlas_actors::store::queries::runs::{self, RunFilter};
use atlas_actors::store::queries::tasks::{self, TaskFilter};

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    chrome: Chrome,
    task: TaskDto,
    /// The task's project's name.
    project: String,
    command: String,
    runs: Vec<RunDto>,
}

pub async fn task(signed: Signed<Read>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("task id", &id, TaskId::parse)?;
    let lookup = id.clone();
    let found = read(&signed.state, move |conn| tasks::get(conn, &lookup)).await?;
    let role = signed.caller.role;
    let task = TaskDto::from(found.ok_or_else(|| ApiError::not_found(format!("task {id} not found")))?).shown_to(role);
    let filter = RunFilter { task_id: Some(id), status: None };
    let paged = paging(Some("20"), None)?;
    let runs = read(&signed.state, move |conn| runs::list(conn, &filter, &paged)).await?;
    let command = task.command.as_ref().map(|argv| argv.join(" ")).unwrap_or_default();
    let runs = runs.items.into_iter().map(|r| RunDto::from(r).shown_to(role)).collect();
    let projects = super::names::project_names(&signed.state, vec![task.project_id.clone()], role).await?;
    let project = projects.of(&task.project_id).to_owned();
    page(&TaskPage { chrome: signed.chrome(), task, project, command, runs })
}

#[derive(serde::Deserialize)]
pub struct TaskForm {
    expected_version: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    priority: String,
}

/// The new value when the form changed it.
fn changed(now: &str, form: &str) -> Option<String> {
    (form.trim() != now).then(|| form.trim().to_owned())
}

/// Where a change went: applied, waiting for approval, or refused (back to the form, as typed).
fn report<N: crate::http::auth::Need, T>(
    posted: &Posted<N, T>,
    what: &str,
    page: &str,
    sent: Result<(Gated, atlas_actors::domain::Applied), ApiError>,
) -> HttpResponse {
    let signed = &posted.signed;
    match sent {
        Ok((Gated::Requested, _)) => signed.flash(true, format!("The change to {what} now waits for approval.")),
        Ok((Gated::Applied, _)) => signed.flash(true, format!("{what} changed.")),
        Err(err) => return posted.refused(format!("{what} was not changed: {}", err.message), page),
    }
    back_to(page)
}

pub async fn edit_task(posted: Posted<Change, TaskForm>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("task id", &id, TaskId::parse)?;
    let (signed, form) = (&posted.signed, &posted.form);
    let here = format!("/console/tasks/{id}");
    let lookup = id.clone();
    let now = read(&signed.state, move |conn| tasks::get_live(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("task {id} not found")))?;
    let priority = match changed(&now.priority.to_string(), &form.priority) {
        Some(text) => match text.parse::<i64>() {
            Ok(priority) => Some(priority),
            Err(_) => return Ok(posted.refused(format!("priority: {text:?} is not a whole number"), &here)),
        },
        None => None,
    };
    let status = match parse_opt::<TaskStatus>("status", changed(now.status.as_str(), &form.status).as_deref()) {
        Ok(status) => status,
        Err(err) => return Ok(posted.refused(err.message, &here)),
    };
    let patch = TaskPatch {
        title: changed(&now.title, &form.title),
        description: changed(now.description.as_deref().unwrap_or(""), &form.description),
        status,
        assignee: changed(&now.assignee, &form.assignee),
        priority,
        command: None,
        cwd: None,
        timeout_s: None,
        env: None,
    };
    if patch == TaskPatch::default() {
        signed.flash(false, "Nothing changed.");
        return Ok(back_to(&here));
    }
    let command = Command::UpdateTask { id: id.clone(), expected_version: Some(form.expected_version), patch };
    let sent = gate::change(&signed.state, &signed.caller, command).await;
    Ok(report(&posted, &format!("Task {id}"), &here, sent))
}

pub async fn run_task(posted: Posted<Change, Empty>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let task = crate::http::tasks::live_task(&signed.state, &id).await?;
    let (task_id, title) = (task.id.clone(), task.title.clone());
    let change = crate::http::tasks::queue_run(&signed.state, task)?;
    match gate::change(&signed.state, &signed.caller, change).await {
        Ok((Gated::Requested, _)) => {
            signed.flash(true, format!("A run of {title:?} now waits for approval (Approvals, the queue)."))
        }
        Ok((Gated::Applied, _)) => signed.flash(true, format!("A run of {title:?} is queued (Runs).")),
        Err(err) => signed.flash(false, format!("Not queued: {}", err.message)),
    }
    Ok(back_to(&format!("/console/tasks/{task_id}")))
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    chrome: Chrome,
    project: ProjectDto,
    tasks: Vec<TaskDto>,
    charts: Vec<super::super::charts::Chart>,
}

pub async fn project(signed: Signed<Read>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("project id", &id, ProjectId::parse)?;
    let lookup = id.clone();
    let found = read(&signed.state, move |conn| projects::get(conn, &lookup)).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("project {id} not found")))?;
    let project = ProjectDto::from(found).shown_to(signed.caller.role);
    let filter = TaskFilter { project_id: Some(id), status: None, assignee: None };
    let paged = paging(Some("50"), None)?;
    let listed = read(&signed.state, move |conn| tasks::list(conn, &filter, &paged)).await?;
    let charts = super::trends::charts(&signed.state, Some(project.id.clone()), signed.caller.role).await?;
    page(&ProjectPage {
        chrome: signed.chrome(),
        charts,
        project,
        tasks: listed.items.into_iter().map(|t| TaskDto::from(t).shown_to(signed.caller.role)).collect(),
    })
}

#[derive(serde::Deserialize)]
pub struct ProjectForm {
    expected_version: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
}

pub async fn edit_project(
    posted: Posted<Change, ProjectForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("project id", &id, ProjectId::parse)?;
    let (signed, form) = (&posted.signed, &posted.form);
    let here = format!("/console/projects/{id}");
    let lookup = id.clone();
    let now = read(&signed.state, move |conn| projects::get_live(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {id} not found")))?;
    let status = match parse_opt::<ProjectStatus>("status", changed(now.status.as_str(), &form.status).as_deref()) {
        Ok(status) => status,
        Err(err) => return Ok(posted.refused(err.message, &here)),
    };
    let patch = ProjectPatch {
        name: changed(&now.name, &form.name),
        description: changed(now.description.as_deref().unwrap_or(""), &form.description),
        status,
    };
    if patch == ProjectPatch::default() {
        signed.flash(false, "Nothing changed.");
        return Ok(back_to(&here));
    }
    let command = Command::UpdateProject { id: id.clone(), expected_version: Some(form.expected_version), patch };
    let sent = gate::change(&signed.state, &signed.caller, command).await;
    Ok(report(&posted, &format!("Project {id}"), &here, sent))
}
