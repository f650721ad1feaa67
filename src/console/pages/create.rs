//! Making things from the console: the projects list with a new-project form, and a new-task form on a
//! project's page. Each sends the API's own create command through the gate, so an agent's creation
//! waits for approval exactly as over `POST /projects` and `POST /tasks`; a refusal comes back to the
//! form with what was typed.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{link, page};
use super::super::{back_to, ConsoleError};
use crate::http::auth::{Change, Read};
use crate::http::dto::{Payload, ProjectDto};
use crate::http::extract::{page as paging, parse_id};
use crate::http::gate::{self, read, Gated};
use crate::http::ApiError;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::command::{NewProject, NewTask};
use atlas_actors::domain::{Applied, Command, ProjectId, TaskId};
use atlas_actors::store::queries::projects;

#[derive(Template)]
#[template(path = "projects.html")]
struct List {
    chrome: Chrome,
    rows: Vec<ProjectDto>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

pub async fn list(signed: Signed<Read>, query: web::Query<ListQuery>) -> Result<HttpResponse, ConsoleError> {
    let paged = paging(Some("50"), query.cursor.as_deref())?;
    let listed = read(&signed.state, move |conn| projects::list(conn, None, &paged)).await?;
    let role = signed.caller.role;
    let rows = listed.items.into_iter().map(|p| ProjectDto::from(p).shown_to(role)).collect();
    let next = listed.next_cursor.map(|c| format!("/console/projects?{}", link(&[("cursor", &c)])));
    page(&List { chrome: signed.chrome(), rows, next })
}

/// Where a creation went: to the new record's page, or to the approval it now waits in.
fn created<T>(
    posted: &Posted<Change, T>,
    what: &str,
    form_page: &str,
    sent: Result<(Gated, Applied), ApiError>,
) -> HttpResponse {
    let signed = &posted.signed;
    match sent {
        Ok((Gated::Requested, Applied::Approval(approval))) => {
            signed.flash(true, format!("The new {what} now waits for approval."));
            back_to(&format!("/console/approvals/{}", approval.id))
        }
        Ok((_, Applied::Project(project))) => {
            signed.flash(true, format!("Project {:?} created.", project.name));
            back_to(&format!("/console/projects/{}", project.id))
        }
        Ok((_, Applied::Task(task))) => {
            signed.flash(true, format!("Task {:?} created.", task.title));
            back_to(&format!("/console/tasks/{}", task.id))
        }
        Ok(_) => back_to(form_page),
        Err(err) => posted.refused(format!("The {what} was not created: {}", err.message), form_page),
    }
}

/// A command typed one argument per line, taken exactly: spaces and empty lines inside are arguments
/// too (`ssh-keygen -N "" -f key` is five lines, the third empty); only the line ends and the empty
/// lines after the last argument go.
fn argv_of(text: &str) -> Vec<String> {
    let mut argv: Vec<String> =
        text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned()).collect();
    while argv.last().is_some_and(String::is_empty) {
        argv.pop();
    }
    argv
}

/// Text fields: trimmed, and empty meaning "not given".
fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

#[derive(serde::Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create_project(posted: Posted<Change, ProjectForm>) -> Result<HttpResponse, ConsoleError> {
    let form = &posted.form;
    let change = Command::CreateProject(NewProject {
        id: ProjectId::generate(),
        name: form.name.trim().to_owned(),
        description: given(&form.description),
    });
    let sent = gate::change(&posted.signed.state, &posted.signed.caller, change).await;
    Ok(created(&posted, "project", "/console/projects", sent))
}

#[derive(serde::Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    priority: String,
    /// The command's argv, one argument per line, exactly (no shell, no quoting to get wrong).
    #[serde(default)]
    command: String,
}

pub async fn create_task(
    posted: Posted<Change, TaskForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let project_id = parse_id("project id", &id, ProjectId::parse)?;
    let here = format!("/console/projects/{project_id}");
    let form = &posted.form;
    let priority = match given(&form.priority).map(|p| p.parse::<i64>().map_err(|_| p)) {
        None => None,
        Some(Ok(priority)) => Some(priority),
        Some(Err(text)) => return Ok(posted.refused(format!("priority: {text:?} is not a whole number"), &here)),
    };
    let argv = argv_of(&form.command);
    let change = Command::CreateTask(NewTask {
        id: TaskId::generate(),
        project_id,
        title: form.title.trim().to_owned(),
        description: given(&form.description),
        status: None,
        assignee: given(&form.assignee),
        priority,
        command: Some(argv).filter(|argv| !argv.is_empty()),
        cwd: None,
        timeout_s: None,
        env: Default::default(),
    });
    let sent = gate::change(&posted.signed.state, &posted.signed.caller, change).await;
    Ok(created(&posted, "task", &here, sent))
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_line_is_one_argument_exactly() {
        assert_eq!(super::argv_of("ssh-keygen\r\n-N\r\n\r\n-f\r\nkey\r\n\r\n"), ["ssh-keygen", "-N", "", "-f", "key"]);
        assert_eq!(super::argv_of("printf\n[%s]\n  padded  "), ["printf", "[%s]", "  padded  "]);
        assert!(super::argv_of("\n\n").is_empty());
    }
}
