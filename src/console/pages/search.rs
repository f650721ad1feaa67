//! One search box over projects, tasks, approvals, runs (their output included) and errors, read from
//! the index the writer keeps (`store::queries::search`). A viewer searches the redacted text: a record
//! whose match lies only in what redaction hides is not shown, so no one learns a secret by guessing it.

use super::super::guard::{Chrome, Signed};
use super::super::render::page;
use super::super::ConsoleError;
use crate::http::auth::Read;
use crate::http::gate::read;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::Role;
use atlas_actors::sheets::sanitize::redact;
use atlas_actors::store::queries::search::{self, excerpt, holds_all, Hit, QueryError, MAX_HITS};

/// One result as the page shows it.
pub struct Found {
    pub kind: String,
    pub id: String,
    pub href: String,
    pub title: Vec<(String, bool)>,
    pub excerpt: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct Results {
    chrome: Chrome,
    q: String,
    problem: Option<String>,
    found: Vec<Found>,
}

#[derive(serde::Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
}

fn href(hit: &Hit) -> String {
    match hit.kind.as_str() {
        "project" => format!("/console/projects/{}", hit.id),
        "task" => format!("/console/tasks/{}", hit.id),
        "approval" => format!("/console/approvals/{}", hit.id),
        "run" => format!("/console/runs/{}", hit.id),
        _ => "/console/errors?resolved=all".into(),
    }
}

/// The hit as `role` may see it, or `None` when what matched is hidden from that role.
fn shown(mut hit: Hit, words: &[String], role: Role) -> Option<Found> {
    if role == Role::Viewer {
        (hit.title, hit.body) = (redact(&hit.title), redact(&hit.body));
        if !holds_all(&format!("{}\n{}", hit.title, hit.body), words) {
            return None;
        }
    }
    Some(Found {
        href: href(&hit),
        title: excerpt(&hit.title, words, 160),
        excerpt: excerpt(&hit.body, words, 180),
        kind: hit.kind,
        id: hit.id,
    })
}

pub async fn results(signed: Signed<Read>, query: web::Query<Query>) -> Result<HttpResponse, ConsoleError> {
    let q = query.q.trim().to_owned();
    let role = signed.caller.role;
    let (mut problem, mut found) = (None, Vec::new());
    match search::words(&q) {
        Err(QueryError::Empty) => {}
        Err(err) => problem = Some(err.to_string()),
        Ok(words) => {
            let terms = words.clone();
            // A viewer's hits are re-checked on redacted text: read more to fill a page after that.
            let limit = if role == Role::Viewer { MAX_HITS * 4 } else { MAX_HITS };
            let hits =
                read(&signed.state, move |conn| Ok(search::search(conn, &terms, limit).map_err(|e| e.to_string())))
                    .await?;
            match hits {
                Ok(hits) => found = hits.into_iter().filter_map(|h| shown(h, &words, role)).take(MAX_HITS).collect(),
                Err(err) => problem = Some(format!("the search could not run: {err}")),
            }
        }
    }
    page(&Results { chrome: signed.chrome(), q, problem, found })
}
