//! Runs: state, duration and exit; one run with its output (followed live while it runs), cancel for a
//! reviewer, and re-queue of a finished run as a new gated request.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{between, link, page};
use super::super::{back_to, ConsoleError};
use super::confirm::{self, Ask, Confirmed};
use super::names::{self, Names};
use super::Empty;
use crate::http::auth::{Change, Read, Review};
use crate::http::dto::{Payload, RunDto};
use crate::http::extract::{page as paging, parse_id, parse_opt};
use crate::http::gate::{self, read, Gated};
use crate::http::ApiError;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::{RunId, RunStatus};
use atlas_actors::runner::CancelError;
use atlas_actors::store::queries::runs::{self, RunFilter};

pub struct Row {
    pub run: RunDto,
    pub took: String,
    /// The run's task's title.
    pub task: String,
}

impl Row {
    fn new(run: RunDto, titles: &Names) -> Self {
        let task = titles.of(&run.task_id).to_owned();
        Self { took: between(run.started_at.as_deref(), run.completed_at.as_deref()), run, task }
    }
}

#[derive(Template)]
#[template(path = "runs.html")]
struct List {
    chrome: Chrome,
    status: String,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
}

pub async fn list(signed: Signed<Read>, query: web::Query<ListQuery>) -> Result<HttpResponse, ConsoleError> {
    let status = query.status.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "all".into());
    let filter = RunFilter {
        task_id: None,
        status: if status == "all" { None } else { parse_opt::<RunStatus>("status", Some(&status))? },
    };
    let paged = paging(Some("50"), query.cursor.as_deref())?;
    let listed = read(&signed.state, move |conn| runs::list(conn, &filter, &paged)).await?;
    let role = signed.caller.role;
    let ids = listed.items.iter().map(|r| r.task_id.to_string()).collect();
    let titles = names::task_titles(&signed.state, ids, role).await?;
    let rows = listed.items.into_iter().map(|r| Row::new(RunDto::from(r).shown_to(role), &titles)).collect();
    let next = listed.next_cursor.map(|c| format!("/console/runs?{}", link(&[("status", &status), ("cursor", &c)])));
    page(&List { chrome: signed.chrome(), status, rows, next })
}

#[derive(Template)]
#[template(path = "run.html")]
struct One {
    chrome: Chrome,
    row: Row,
    live: bool,
    finished: bool,
}

pub async fn one(signed: Signed<Read>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let lookup = id.clone();
    let run = read(&signed.state, move |conn| runs::get(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    let finished = run.status.is_finished();
    let live = signed.state.handles.runner.follow(&id).await.is_some();
    let role = signed.caller.role;
    let titles = names::task_titles(&signed.state, vec![run.task_id.to_string()], role).await?;
    let row = Row::new(RunDto::from(run).shown_to(role), &titles);
    page(&One { chrome: signed.chrome(), row, live, finished })
}

pub async fn cancel(posted: Posted<Review, Confirmed>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let signed = &posted.signed;
    if !posted.form.yes() {
        let lookup = id.clone();
        let run = read(&signed.state, move |conn| runs::get(conn, &lookup))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
        if run.status.is_finished() {
            signed.flash(false, format!("Run {id} already ended: it is {}.", run.status));
            return Ok(back_to(&format!("/console/runs/{id}")));
        }
        let titles = names::task_titles(&signed.state, vec![run.task_id.to_string()], signed.caller.role).await?;
        let task = Some(titles.of(run.task_id.as_str())).filter(|t| !t.is_empty()).unwrap_or(run.task_id.as_str());
        let back = format!("/console/runs/{id}");
        return confirm::ask(
            signed,
            Ask {
                title: format!("Cancel the run of {task}?"),
                sentence: format!(
                    "It is {}. Cancelling stops its process now (SIGTERM, then SIGKILL after the grace \
                     period); it is recorded as cancelled by {}, and whatever it half-did stays half-done.",
                    run.status, signed.caller.name
                ),
                action: format!("/console/runs/{id}/cancel"),
                fields: Vec::new(),
                button: "Cancel the run",
                back: &back,
            },
        );
    }
    match signed.state.handles.runner.cancel(&id, signed.caller.actor()).await {
        Ok(_) => signed.flash(true, format!("Run {id} cancelled.")),
        Err(CancelError::NotFound) => return Err(ApiError::not_found(format!("run {id} not found")).into()),
        Err(CancelError::AlreadyFinished(status)) => {
            signed.flash(false, format!("Run {id} already ended: it is {status}."))
        }
        Err(CancelError::Unavailable(why)) => signed.flash(false, format!("Run {id} was not cancelled: {why}")),
    }
    Ok(back_to(&format!("/console/runs/{id}")))
}

/// A finished run's task, run again: the same `QueueRun` change the API's `POST /tasks/{id}/run` sends,
/// through the gate, so it waits for approval where the policy says so.
pub async fn requeue(posted: Posted<Change, Empty>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let signed = &posted.signed;
    let lookup = id.clone();
    let run = read(&signed.state, move |conn| runs::get(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    let task = crate::http::tasks::live_task(&signed.state, run.task_id.as_str()).await?;
    let change = crate::http::tasks::queue_run(&signed.state, task)?;
    match gate::change(&signed.state, &signed.caller, change).await {
        Ok((Gated::Requested, _)) => {
            signed.flash(true, format!("A new run of task {} now waits for approval.", run.task_id))
        }
        Ok((Gated::Applied, _)) => signed.flash(true, format!("A new run of task {} is queued.", run.task_id)),
        Err(err) => signed.flash(false, format!("Not re-queued: {}", err.message)),
    }
    Ok(back_to(&format!("/console/runs/{id}")))
}
