//! /api/v1/browse: the data browser's JSON twins. Read-only pool only, under the guards of
//! `atlas_actors::store::browse`; every SQL query is audited (`browser.queried`, through the writer) with
//! how it ended, before it is answered. No token hash leaves through the browser: it reads as NULL in a
//! column, an expression or a WHERE clause.

use super::auth::{Auth, Caller, Read};
use super::dto::{BrowseSqlBody, ErrorBody};
use super::error::ApiError;
use super::extract::ApiJson;
use super::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use atlas_actors::domain::command::MAX_QUERY_CHARS;
use atlas_actors::domain::Record;
use atlas_actors::domain::{Command, Role};
use atlas_actors::store::browse::{self, RowsPage, RowsRefusal, RowsRequest, SqlAnswer, SqlLimits};

/// Run one read-only SQL statement (SELECT, WITH or EXPLAIN) under the browser's time limit and row cap.
/// Token hashes read as NULL. A refusal is a 400 whose message names the guard (statement kind, time limit).
#[utoipa::path(tag = "browse", request_body = BrowseSqlBody, responses(
    (status = 200, description = "columns, rows, truncated, elapsed_ms"), (status = 400, body = ErrorBody)))]
#[post("/browse/sql")]
pub async fn sql(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    body: ApiJson<BrowseSqlBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run_sql(&state, &auth.caller, body.0.sql).await?))
}

/// Runs a browser query for a caller (the API's SQL box and the console's): refused when too long, limited
/// to the browser's slots, and answered only once the query and how it ended are on record.
pub async fn run_sql(state: &AppState, caller: &Caller, query: String) -> Result<SqlAnswer, ApiError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        let refusal = format!("sql: at most {MAX_QUERY_CHARS} characters");
        audit(state, caller, atlas_actors::domain::text::clip(&query), format!("refused: {refusal}")).await?;
        return Err(ApiError::bad_request(refusal));
    }
    let limits = SqlLimits { hide_payloads: caller.role == Role::Viewer, ..state.browser };
    let ran = async {
        let _slot = slot(state)?;
        // A restore in progress answers 503 `restoring`, as every read does.
        state.handles.readers.read(|_| Ok(())).await.map_err(ApiError::from_read)?;
        match crate::browser_query::run(&state.isolation, &state.database, &query, limits).await {
            crate::browser_query::Outcome::Answer(answer) => Ok(Ok(answer)),
            crate::browser_query::Outcome::Refused(why) => Ok(Err(why)),
            crate::browser_query::Outcome::Unavailable(why) => Err(ApiError::unavailable(why)),
        }
    };
    let answer: Result<SqlAnswer, String> = match ran.await {
        Ok(answer) => answer,
        Err(unserved) => {
            // Busy, restoring or unavailable: not run, and on record all the same.
            let outcome = format!("not run: {}", unserved.message.chars().take(OUTCOME_CHARS).collect::<String>());
            audit(state, caller, query, outcome).await?;
            return Err(unserved);
        }
    };
    let outcome = match &answer {
        Ok(answer) => {
            let cut = if answer.truncated { " (truncated)" } else { "" };
            format!("{} rows{cut}, {} ms", answer.rows.len(), answer.elapsed_ms)
        }
        // SQLite's messages may quote the SQL, which the event holds already.
        Err(refusal) => format!("refused: {}", refusal.chars().take(OUTCOME_CHARS).collect::<String>()),
    };
    let text = if query.trim().is_empty() { format!("(blank: {query:?})") } else { query };
    audit(state, caller, text, outcome).await?;
    let mut answer = answer.map_err(|refusal| ApiError::bad_request(format!("sql: {refusal}")))?;
    if limits.hide_payloads {
        redact_cells(&mut answer.rows);
    }
    Ok(answer)
}

/// A viewer's answer: free-text columns already read as NULL (`guard::PAYLOAD_COLUMNS`); what text is
/// left (titles, names, whatever an expression made) goes through the redaction catalogue.
fn redact_cells(answer_rows: &mut [Vec<serde_json::Value>]) {
    answer_rows.iter_mut().flatten().for_each(redact_value);
}

fn redact_value(value: &mut serde_json::Value) {
    if let serde_json::Value::String(text) = value {
        *text = atlas_actors::sheets::sanitize::redact(text);
    }
}

/// Every table with its columns (which can be sorted on through an index, which are hidden) and a row count
/// that stops at 10,000 (`rows_capped`), so a big table never costs a full scan.
#[utoipa::path(tag = "browse", responses((status = 200, description = "items: tables"), (status = 403, body = ErrorBody)))]
#[get("/browse/tables")]
pub async fn tables(state: web::Data<AppState>, _auth: Auth<Read>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": table_list(&state).await? })))
}

/// Every table with its capped count, in a browser slot.
pub async fn table_list(state: &AppState) -> Result<Vec<browse::tables::TableInfo>, ApiError> {
    let limit = state.browser.time_limit;
    let _slot = slot(state)?;
    state.handles.readers.read(move |conn| browse::tables::list(conn, limit)).await.map_err(ApiError::from_read)
}

/// One table's columns (404 when the browser shows no such table), in a browser slot.
pub async fn table_columns(state: &AppState, table: String) -> Result<Vec<browse::ColumnInfo>, ApiError> {
    let _slot = slot(state)?;
    let read = state
        .handles
        .readers
        .read(move |conn| Ok(browse::filter::View::open(conn, &table, &[], false).map(|view| view.columns)));
    read.await.map_err(ApiError::from_read)?.map_err(refused)
}

/// How much of a refusal's message the audit keeps (SQLite's messages may quote the whole SQL).
const OUTCOME_CHARS: usize = 300;

/// One of the browser's slots, or 503 `busy` when every slot runs a query.
fn slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state
        .browser_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::busy("the data browser is running as many queries as it may at once; retry shortly"))
}

/// Records a query (or its refusal) through the writer.
async fn audit(state: &AppState, caller: &Caller, text: String, outcome: String) -> Result<(), ApiError> {
    state.handles.writer.submit(Command::Record(Record::Query { sql: text, outcome }), caller.actor()).await?;
    Ok(())
}

/// Rows shown per page when `limit` is not given.
const DEFAULT_ROWS: usize = 100;

/// The query string: `limit`, `cursor` or `before`, `sort` (`column` or `-column` for largest first) and
/// any number of filters (`column=value`, `column__contains=`, `__lt=`, `__gt=`, `__isnull=1|0`).
/// `caller`: a viewer's request reads payload columns as NULL.
pub fn rows_request(query: &str, max_rows: usize, caller: &Caller) -> Result<RowsRequest, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?
        .into_inner();
    let hide_payloads = caller.role == Role::Viewer;
    let mut request = RowsRequest { limit: DEFAULT_ROWS.min(max_rows), hide_payloads, ..RowsRequest::default() };
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => {
                request.limit = value.parse().ok().filter(|n| (1..=max_rows).contains(n)).ok_or_else(|| {
                    let value: String = value.chars().take(100).collect();
                    ApiError::bad_request(format!("limit: must be 1 to {max_rows}, got {value:?}"))
                })?;
            }
            "cursor" => request.cursor = Some(value),
            "before" => request.before = Some(value),
            "sort" => {
                let (name, descending) = match value.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (value.as_str(), false),
                };
                request.sort = Some((name.to_owned(), descending));
            }
            _ => request.filters.push((key, value)),
        }
    }
    Ok(request)
}

/// One table's rows: `limit` (at most `browser.max_rows`), `cursor` (a page's `next_cursor`) or `before`
/// (its `prev_cursor`), `sort` (any column; `-column` for largest first; default rowid, newest first; a
/// column no index serves costs a scan, under the time limit) and filters: `column=value`,
/// `column__contains=text`, `column__lt=`, `column__gt=`, `column__isnull=1` (or `0`). Hidden columns read
/// as NULL and cannot be filtered or sorted on.
#[utoipa::path(tag = "browse", params(("table" = String, Path)), responses(
    (status = 200, description = "columns, rows, next_cursor"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/browse/tables/{table}")]
pub async fn rows(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    table: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = rows_request(req.query_string(), state.browser.max_rows, &auth.caller)?;
    Ok(HttpResponse::Ok().json(table_page(&state, table.into_inner(), request).await?))
}

/// How many rows a view holds (up to 10,000, `rows_capped` beyond) and its facets: the columns with 2 to
/// 20 distinct values among those rows, each value with its count. The same filters as the rows;
/// `summary: null` when counting took longer than the time limit.
#[utoipa::path(tag = "browse", params(("table" = String, Path)), responses(
    (status = 200, description = "summary: rows, rows_capped, facets"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/browse/tables/{table}/summary")]
pub async fn summary(
    state: web::Data<AppState>,
    auth: Auth<Read>,
    table: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = rows_request(req.query_string(), state.browser.max_rows, &auth.caller)?;
    let summary = table_summary(&state, table.into_inner(), request).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "summary": summary })))
}

/// A view's count and facets, in a browser slot (None: counting took too long). A viewer's facet values
/// are redacted as the rows are.
pub async fn table_summary(
    state: &AppState,
    table: String,
    request: RowsRequest,
) -> Result<Option<browse::Summary>, ApiError> {
    let limit = state.browser.time_limit;
    let _slot = slot(state)?;
    let viewer = request.hide_payloads;
    let read = state
        .handles
        .readers
        .read(move |conn| Ok(browse::summary::summarize(conn, &table, &request.filters, viewer, limit)))
        .await;
    let mut summed = read.map_err(ApiError::from_read)?.map_err(refused)?;
    if viewer {
        summed
            .iter_mut()
            .flat_map(|s| s.facets.iter_mut())
            .flat_map(|f| f.values.iter_mut())
            .for_each(|v| redact_value(&mut v.0));
    }
    Ok(summed)
}

/// A browser refusal as the API answers it: an unknown table is 404, the rest 400 naming the parameter.
fn refused(refusal: RowsRefusal) -> ApiError {
    match refusal {
        RowsRefusal::NoTable(table) => ApiError::not_found(format!("table: there is no table {table:?}")),
        refusal => ApiError::bad_request(refusal.to_string()),
    }
}

/// One page of a table's rows, in a browser slot; each refusal names its parameter.
pub async fn table_page(state: &AppState, table: String, request: RowsRequest) -> Result<RowsPage, ApiError> {
    let limit = state.browser.time_limit;
    let _slot = slot(state)?;
    let viewer = request.hide_payloads;
    let page = state.handles.readers.read(move |conn| Ok(browse::rows::page(conn, &table, &request, limit))).await;
    let mut page = page.map_err(ApiError::from_read)?.map_err(refused)?;
    if viewer {
        redact_cells(&mut page.rows);
    }
    Ok(page)
}
