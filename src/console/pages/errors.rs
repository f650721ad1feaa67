//! The errors hotlist: unresolved first, with severity and age; resolve with a resolution.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{age, link, page};
use super::super::{back_to, ConsoleError};
use crate::http::auth::{Read, Resolve};
use crate::http::dto::{ErrorDto, Payload};
use crate::http::extract::{page as paging, parse_id, parse_opt};
use crate::http::gate::{self, read};
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::{Command, ErrorId, Severity};
use atlas_actors::store::queries::hotlist::{self, ErrorFilter};

pub struct Row {
    pub error: ErrorDto,
    pub age: String,
    /// The title of the task the error is about, when it names one.
    pub task: String,
}

#[derive(Template)]
#[template(path = "errors.html")]
struct List {
    chrome: Chrome,
    resolved: String,
    severity: String,
    sort: String,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    resolved: Option<String>,
    severity: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

pub async fn list(signed: Signed<Read>, query: web::Query<ListQuery>) -> Result<HttpResponse, ConsoleError> {
    let resolved = query.resolved.clone().unwrap_or_else(|| "no".into());
    let severity = query.severity.clone().unwrap_or_default();
    let sort = query.sort.clone().unwrap_or_else(|| "newest".into());
    let filter = ErrorFilter {
        resolved: match resolved.as_str() {
            "no" => Some(false),
            "yes" => Some(true),
            "all" => None,
            other => return Err(ConsoleError::Bad(format!("resolved: {other:?} is not yes, no or all"))),
        },
        severity: parse_opt::<Severity>("severity", Some(severity.as_str()).filter(|s| !s.is_empty()))?,
        by_severity: crate::http::extract::parse_error_sort(Some(sort.as_str()))?,
    };
    let paged = paging(Some("50"), query.cursor.as_deref())?;
    let listed = read(&signed.state, move |conn| hotlist::list(conn, &filter, &paged)).await?;
    let role = signed.caller.role;
    let ids = listed.items.iter().filter_map(|e| e.task_id.as_ref().map(ToString::to_string)).collect();
    let titles = super::names::task_titles(&signed.state, ids, role).await?;
    let rows = listed
        .items
        .into_iter()
        .map(|e| {
            let error = ErrorDto::from(e).shown_to(role);
            let task = error.task_id.as_deref().map(|id| titles.of(id).to_owned()).unwrap_or_default();
            Row { age: age(&error.occurred_at), error, task }
        })
        .collect();
    let next = listed.next_cursor.map(|c| {
        format!(
            "/console/errors?{}",
            link(&[("resolved", &resolved), ("severity", &severity), ("sort", &sort), ("cursor", &c)])
        )
    });
    page(&List { chrome: signed.chrome(), resolved, severity, sort, rows, next })
}

#[derive(serde::Deserialize)]
pub struct Resolution {
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    notes: String,
}

pub async fn resolve(posted: Posted<Resolve, Resolution>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("error id", &id, ErrorId::parse)?;
    let signed = &posted.signed;
    let notes = Some(posted.form.notes.trim().to_owned()).filter(|n| !n.is_empty());
    let command = Command::ResolveError { id: id.clone(), resolution: posted.form.resolution.clone(), notes };
    match gate::command(&signed.state, &signed.caller, command).await {
        Ok(_) => signed.flash(true, format!("Error {id} resolved.")),
        Err(err) => {
            return Ok(posted.refused(format!("Error {id} was not resolved: {}", err.message), "/console/errors"))
        }
    }
    Ok(back_to("/console/errors"))
}

/// Resolves every checked error with one resolution: one `ResolveError` command each, as the API's route
/// would send them one by one; the page says how many were resolved and why any were not.
pub async fn resolve_checked(posted: Posted<Resolve, Vec<(String, String)>>) -> Result<HttpResponse, ConsoleError> {
    let signed = &posted.signed;
    let ids: Vec<String> = posted.form.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).collect();
    let resolution = posted.form.iter().find(|(n, _)| n == "resolution").map(|(_, v)| v.clone()).unwrap_or_default();
    if ids.is_empty() {
        return Ok(posted.refused("Nothing resolved: check the errors to resolve first.", "/console/errors"));
    }
    if ids.len() > 200 {
        return Ok(posted.refused("Nothing resolved: at most 200 errors at once.", "/console/errors"));
    }
    let (mut done, mut refused) = (0, Vec::new());
    for raw in &ids {
        let id = match ErrorId::parse(raw) {
            Ok(id) => id,
            Err(err) => {
                refused.push(format!("{raw:?}: {err}"));
                continue;
            }
        };
        let command = Command::ResolveError { id: id.clone(), resolution: resolution.clone(), notes: None };
        match gate::command(&signed.state, &signed.caller, command).await {
            Ok(_) => done += 1,
            Err(err) => refused.push(format!("{id}: {}", err.message)),
        }
    }
    if refused.is_empty() {
        signed.flash(true, format!("{done} errors resolved."));
        Ok(back_to("/console/errors"))
    } else {
        let why = format!("{done} of {} errors resolved; not: {}", ids.len(), refused.join("; "));
        Ok(posted.refused(why, "/console/errors"))
    }
}
