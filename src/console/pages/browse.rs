//! The data browser's pages: every table with its capped count, a table's rows (indexed sorts, column
//! filters, keyset pages, CSV/JSON export, links to related rows), the SQL box and the canned queries.
//! All of it runs through `http::browse`, under the same guards, slots and audit as the JSON twins.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{link, page};
use super::super::ConsoleError;
use crate::http::auth::Read;
use crate::http::browse::{rows_request, run_sql, table_list, table_page};
use actix_web::{web, HttpRequest, HttpResponse};
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
    let n = info.rows.to_string();
    let grouped =
        n.as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(",");
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

/// A value as a cell shows it.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[derive(Template)]
#[template(path = "sql.html")]
struct SqlPage {
    chrome: Chrome,
    sql: String,
    canned: Vec<Canned>,
    answer: Option<SqlAnswer>,
    cells: Vec<Vec<String>>,
    refusal: Option<String>,
}

async fn answer(signed: Signed<Read>, sql: String) -> Result<HttpResponse, ConsoleError> {
    let canned = canned(&signed);
    if sql.trim().is_empty() {
        return page(&SqlPage { chrome: signed.chrome(), sql, canned, answer: None, cells: Vec::new(), refusal: None });
    }
    let result = run_sql(&signed.state, &signed.caller, sql.clone()).await;
    let chrome = signed.chrome();
    match result {
        Ok(answer) => {
            let cells = answer.rows.iter().map(|row| row.iter().map(cell).collect()).collect();
            page(&SqlPage { chrome, sql, canned, answer: Some(answer), cells, refusal: None })
        }
        Err(err) if err.status == actix_web::http::StatusCode::BAD_REQUEST => {
            let mut response =
                page(&SqlPage { chrome, sql, canned, answer: None, cells: Vec::new(), refusal: Some(err.message) })?;
            *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct CannedQuery {
    #[serde(default)]
    query: String,
}

/// The SQL box; `?query=<name>` runs a canned query (a link, so it is a GET: the session cookie is
/// `SameSite=Strict`, so another site cannot make a browser follow it signed in).
pub async fn canned_query(signed: Signed<Read>, query: web::Query<CannedQuery>) -> Result<HttpResponse, ConsoleError> {
    if query.query.is_empty() {
        return answer(signed, String::new()).await;
    }
    let sql = signed.console.queries.get(&query.query).cloned().ok_or_else(|| {
        ConsoleError::Api(crate::http::ApiError::not_found(format!("query: no canned query named {:?}", query.query)))
    })?;
    answer(signed, sql).await
}

#[derive(serde::Deserialize)]
pub struct SqlForm {
    #[serde(default)]
    sql: String,
}

pub async fn query(posted: Posted<Read, SqlForm>) -> Result<HttpResponse, ConsoleError> {
    answer(posted.signed, posted.form.sql).await
}

pub struct Column {
    pub name: String,
    pub sortable: bool,
    pub hidden: bool,
    pub filter: String,
    pub sort_up: String,
    pub sort_down: String,
}

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    chrome: Chrome,
    table: String,
    count: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    next: Option<String>,
    here: String,
}

/// Where a value leads: an id of a task, project, run or approval opens its page.
fn related(table: &str, column: &str, text: &str) -> Option<String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let kind = match (table, column) {
        (_, "project_id") | ("projects", "id") => "projects",
        (_, "task_id") | ("tasks", "id") => "tasks",
        (_, "run_id") | ("runs", "id") => "runs",
        (_, "approval_id") | ("approvals", "id") => "approvals",
        _ => return None,
    };
    Some(format!("/console/{kind}/{text}"))
}

pub async fn table(
    signed: Signed<Read>,
    name: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let name = name.into_inner();
    let pairs: Vec<(String, String)> = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ConsoleError::Bad(format!("query: {e}")))?
        .into_inner();
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.clone());
    // An empty filter box means no filter, not "equals the empty string".
    let kept: Vec<(String, String)> = pairs.iter().filter(|(k, v)| k != "format" && !v.is_empty()).cloned().collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let max_rows = signed.state.browser.max_rows;
    let mut request = rows_request(&query, max_rows, &signed.caller)?;
    if format.is_some() {
        request.limit = max_rows;
    }
    let info = table_list(&signed.state).await?.into_iter().find(|t| t.name == name);
    let rows = table_page(&signed.state, name.clone(), request).await?;
    if let Some(format) = format {
        return super::super::export::respond(&name, &format, &rows, &kept, max_rows);
    }
    let info = info.ok_or_else(|| crate::http::ApiError::not_found(format!("table: there is no table {name:?}")))?;
    let without = |drop: &[&str]| -> Vec<(String, String)> {
        kept.iter().filter(|(k, _)| !drop.contains(&k.as_str())).cloned().collect()
    };
    let with = |base: Vec<(String, String)>, key: &str, value: &str| {
        let mut all = base;
        all.push((key.to_owned(), value.to_owned()));
        format!("/console/browse/tables/{name}?{}", serde_urlencoded::to_string(&all).unwrap_or_default())
    };
    let columns: Vec<Column> = info
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            sortable: c.sortable,
            hidden: c.hidden,
            filter: kept.iter().find(|(k, _)| k == &c.name).map(|(_, v)| v.clone()).unwrap_or_default(),
            sort_up: with(without(&["sort", "cursor"]), "sort", &c.name),
            sort_down: with(without(&["sort", "cursor"]), "sort", &format!("-{}", c.name)),
        })
        .collect();
    let cells = rows
        .rows
        .iter()
        .map(|row| {
            rows.columns
                .iter()
                .zip(row)
                .map(|(column, value)| {
                    let text = cell(value);
                    Cell { href: related(&name, column, &text), text }
                })
                .collect()
        })
        .collect();
    let next = rows.next_cursor.as_ref().map(|c| with(without(&["cursor"]), "cursor", c));
    let here = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let count = count(&info);
    let mut column_names = vec![Column {
        name: "rowid".into(),
        sortable: false,
        hidden: false,
        filter: String::new(),
        sort_up: String::new(),
        sort_down: String::new(),
    }];
    column_names.extend(columns);
    page(&TablePage { chrome: signed.chrome(), table: name, count, columns: column_names, rows: cells, next, here })
}
