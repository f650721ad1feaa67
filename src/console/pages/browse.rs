//! The data browser's pages: every table with its capped count, the SQL box and the canned queries (a
//! table's own page is `table.rs`).
//! All of it runs through `http::browse`, under the same guards, slots and audit as the JSON twins.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{link, page};
use super::super::ConsoleError;
use super::table::{cell, grouped};
use crate::http::auth::Read;
use crate::http::browse::{run_sql, table_list};
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::store::browse::tables::TableInfo;
use atlas_actors::store::browse::SqlAnswer;

pub struct TableLine {
    pub name: String,
    pub count: String,
}

pub struct Canned {
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "browse.html")]
struct Index {
    chrome: Chrome,
    tables: Vec<TableLine>,
    canned: Vec<Canned>,
}

fn count(info: &TableInfo) -> String {
    let grouped = grouped(info.rows);
    if info.rows_capped {
        format!("{grouped}+")
    } else {
        grouped
    }
}

fn canned(signed: &Signed<Read>) -> Vec<Canned> {
    signed
        .console
        .queries
        .keys()
        .map(|name| Canned { name: name.clone(), href: format!("/console/browse/sql?{}", link(&[("query", name)])) })
        .collect()
}

pub async fn index(signed: Signed<Read>) -> Result<HttpResponse, ConsoleError> {
    let tables =
        table_list(&signed.state).await?.iter().map(|t| TableLine { name: t.name.clone(), count: count(t) }).collect();
    page(&Index { chrome: signed.chrome(), tables, canned: canned(&signed) })
}

/// The longest link to an SQL view (encoded): past it, a query is answered where it was posted, and
/// says it is too long to share as a link (servers and proxies refuse longer request lines).
const MAX_LINK: usize = 8_000;

#[derive(Template)]
#[template(path = "sql.html")]
struct SqlPage {
    chrome: Chrome,
    sql: String,
    canned: Vec<Canned>,
    answer: Option<SqlAnswer>,
    cells: Vec<Vec<String>>,
    refusal: Option<String>,
    /// This view's own URL (without `format`), when it is short enough to be one.
    link: Option<String>,
}

/// Where a query (`sql`) or a canned one (`?query=<name>`) is answered, if short enough to link to.
fn link_to(view: &[(&str, &str)]) -> Option<String> {
    let link = format!("/console/browse/sql?{}", link(view));
    (link.len() <= MAX_LINK).then_some(link)
}

async fn answer(
    signed: Signed<Read>,
    sql: String,
    link: Option<String>,
    format: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let canned = canned(&signed);
    if let Some(format) = format.as_deref().filter(|f| !["csv", "json"].contains(f)) {
        return Err(ConsoleError::Bad(format!("format: {format:?} is neither csv nor json")));
    }
    if sql.trim().is_empty() {
        let chrome = signed.chrome();
        return page(&SqlPage { chrome, sql, canned, answer: None, cells: Vec::new(), refusal: None, link: None });
    }
    let result = run_sql(&signed.state, &signed.caller, sql.clone()).await;
    let chrome = signed.chrome();
    match result {
        Ok(answer) => {
            if let Some(format) = format {
                return super::super::export::respond_answer(&format, &answer);
            }
            let cells = answer.rows.iter().map(|row| row.iter().map(cell).collect()).collect();
            page(&SqlPage { chrome, sql, canned, answer: Some(answer), cells, refusal: None, link })
        }
        Err(err) if err.status == actix_web::http::StatusCode::BAD_REQUEST => {
            let refusal = Some(err.message);
            let mut response =
                page(&SqlPage { chrome, sql, canned, answer: None, cells: Vec::new(), refusal, link: None })?;
            *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct SqlView {
    #[serde(default)]
    query: String,
    #[serde(default)]
    sql: String,
    format: Option<String>,
}

/// The SQL box as a view its URL says whole: `?sql=<SQL>` runs that query, `?query=<name>` a canned one,
/// `&format=csv|json` gives the answer as a file. A GET, so it can be shared and bookmarked: it only
/// reads, and the session cookie is `SameSite=Strict`, so another site cannot make a browser run it
/// signed in. Each run is audited as the API's are.
pub async fn sql_view(
    signed: Signed<Read>,
    view: web::Query<SqlView>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    // A link from another site (even a same-site one: another port, a sibling host) does not run a
    // query; the browser says where the navigation came from.
    let from = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
    if !["same-origin", "none"].contains(&from) {
        return Err(ConsoleError::CrossSite(
            "A query runs from this console's own pages, not from a link on another site.".into(),
        ));
    }
    let SqlView { query, sql, format } = view.into_inner();
    if !query.is_empty() && !sql.is_empty() {
        return Err(ConsoleError::Bad("query: give a canned query's name or sql, not both".into()));
    }
    if query.is_empty() {
        let link = link_to(&[("sql", &sql)]);
        return answer(signed, sql, link, format).await;
    }
    let canned = signed.console.queries.get(&query).cloned().ok_or_else(|| {
        ConsoleError::Api(crate::http::ApiError::not_found(format!("query: no canned query named {query:?}")))
    })?;
    let link = link_to(&[("query", &query)]);
    answer(signed, canned, link, format).await
}

#[derive(serde::Deserialize)]
pub struct SqlForm {
    #[serde(default)]
    sql: String,
}

/// The SQL box's form: sent on to the query's own URL (so the address bar holds a link to it), or, for a
/// query too long to be a link, answered here.
pub async fn query(posted: Posted<Read, SqlForm>) -> Result<HttpResponse, ConsoleError> {
    let sql = posted.form.sql;
    match link_to(&[("sql", &sql)]).filter(|_| !sql.trim().is_empty()) {
        Some(link) => Ok(super::super::back_to(&link)),
        None => answer(posted.signed, sql, None, None).await,
    }
}
