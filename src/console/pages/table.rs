//! One table in the data browser, a view its URL says whole (so it can be shared, bookmarked and
//! exported): filters (`column__contains=`, `__lt`, `__gt`, `__isnull`, as the API takes them), a sort on
//! any column, pages both ways, how many rows match, the facets (few-valued columns with their counts, a
//! click to filter), CSV and JSON of the same view, and links from ids to their pages.
//! It all runs through `http::browse`, under the same guards and slots as the JSON twins.

use super::super::guard::{Chrome, Signed};
use super::super::render::page;
use super::super::{back_to, ConsoleError};
use crate::http::auth::Read;
use crate::http::browse::{rows_request, table_columns, table_page, table_summary};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use atlas_actors::store::browse::filter::Filter;
use atlas_actors::store::browse::{Summary, COUNT_CAP};

pub struct Column {
    pub name: String,
    pub sortable: bool,
    /// "ascending" / "descending" when the view is sorted on it (`aria-sort`).
    pub sorted: &'static str,
    /// What its sort links say (a column no index serves reads the whole table).
    pub how: &'static str,
    pub sort_up: String,
    pub sort_down: String,
}

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

/// A filter of the view, with the link that drops it.
pub struct Chip {
    pub text: String,
    pub remove: String,
}

pub struct FacetValue {
    pub text: String,
    pub count: String,
    pub href: String,
}

pub struct FacetView {
    pub column: String,
    pub values: Vec<FacetValue>,
}

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    chrome: Chrome,
    table: String,
    /// "211 rows", "12 rows where status is \"done\"", "10,000+ rows".
    count: String,
    chips: Vec<Chip>,
    /// The view's query without its page, for the filter form to carry along.
    keep: Vec<(String, String)>,
    filterable: Vec<String>,
    facets: Vec<FacetView>,
    /// Said when the facet counts are of the first 10,000 rows only.
    facets_note: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    prev: Option<String>,
    next: Option<String>,
    /// The view's query, for the export links.
    here: String,
}

/// A number as people read it: 10,000.
pub fn grouped(n: i64) -> String {
    let text = n.unsigned_abs().to_string();
    let digits = text.as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>();
    format!("{}{}", if n < 0 { "-" } else { "" }, digits.join(","))
}

/// A value as a cell shows it.
pub fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
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

/// The filter the add-a-filter form asks for (`_column`, `_op`, `_value`) as the view's own key.
fn asked_filter(pairs: &[(String, String)]) -> Option<(String, String)> {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (column, value) = (get("_column")?, get("_value").unwrap_or(""));
    Some(match get("_op").unwrap_or("exact") {
        "exact" => (column.to_owned(), value.to_owned()),
        "notnull" => (format!("{column}__isnull"), "0".into()),
        "isnull" => (format!("{column}__isnull"), "1".into()),
        op => (format!("{column}__{op}"), value.to_owned()),
    })
}

fn url(table: &str, pairs: &[(String, String)]) -> String {
    format!("/console/browse/tables/{table}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
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
    // The form's filter joins the view's, which the page then shows under its own URL (of a table that
    // exists: its name goes into the Location header).
    if let Some(added) = asked_filter(&pairs) {
        table_columns(&signed.state, name.clone()).await?;
        let mut view: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, v)| !k.starts_with('_') && !["cursor", "before"].contains(&k.as_str()) && !v.is_empty())
            .collect();
        view.push(added);
        return Ok(back_to(&url(&name, &view)));
    }
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.clone());
    // An empty filter box means no filter, not "equals the empty string".
    let kept: Vec<(String, String)> = pairs.iter().filter(|(k, v)| k != "format" && !v.is_empty()).cloned().collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let max_rows = signed.state.browser.max_rows;
    let mut request = rows_request(&query, max_rows, &signed.caller)?;
    if format.is_some() {
        request.limit = max_rows;
    }
    let rows = table_page(&signed.state, name.clone(), request.clone()).await?;
    if let Some(format) = format {
        return super::super::export::respond(&name, &format, &rows, &kept, max_rows);
    }
    let columns = table_columns(&signed.state, name.clone()).await?;
    let summary = table_summary(&signed.state, name.clone(), request.clone()).await?;
    let without = |drop: &[&str]| -> Vec<(String, String)> {
        kept.iter().filter(|(k, _)| !drop.contains(&k.as_str())).cloned().collect()
    };
    let with = |mut base: Vec<(String, String)>, key: &str, value: &str| {
        base.push((key.to_owned(), value.to_owned()));
        url(&name, &base)
    };
    let paging = ["sort", "cursor", "before", "limit"];
    let filters: Vec<Filter> = kept
        .iter()
        .filter(|(k, _)| !paging.contains(&k.as_str()))
        .filter_map(|(k, v)| Filter::parse(k, v, &columns).ok())
        .collect();
    let chips = filters
        .iter()
        .map(|f| Chip {
            text: f.describe(),
            remove: url(
                &name,
                &without(&["cursor", "before"]).into_iter().filter(|(k, _)| *k != f.key()).collect::<Vec<_>>(),
            ),
        })
        .collect();
    let count = match &summary {
        Some(Summary { rows: n, rows_capped, .. }) => {
            let n = if *rows_capped { format!("{}+", grouped(COUNT_CAP)) } else { grouped(*n) };
            let noun = if n == "1" { "row" } else { "rows" };
            let wheres: Vec<String> = filters.iter().map(Filter::describe).collect();
            if wheres.is_empty() {
                format!("{n} {noun}")
            } else {
                format!("{n} {noun} where {}", wheres.join(" and "))
            }
        }
        None => "counting the rows took longer than the time limit".into(),
    };
    let unpaged = without(&["cursor", "before"]);
    let facets = summary
        .iter()
        .flat_map(|s| &s.facets)
        .map(|facet| FacetView {
            column: facet.column.clone(),
            values: facet
                .values
                .iter()
                .map(|(value, n)| {
                    let (key, wanted) = match value {
                        serde_json::Value::Null => (format!("{}__isnull", facet.column), "1".to_owned()),
                        other => (facet.column.clone(), cell(other)),
                    };
                    let text = if value.is_null() { "(empty)".to_owned() } else { cell(value) };
                    FacetValue { text, count: grouped(*n as i64), href: with(unpaged.clone(), &key, &wanted) }
                })
                .collect(),
        })
        .collect();
    let facets_note = match &summary {
        Some(s) if s.rows_capped => format!("Counts are of the first {} matching rows.", grouped(COUNT_CAP)),
        _ => String::new(),
    };
    let sort = kept.iter().find(|(k, _)| k == "sort").map(|(_, v)| v.as_str()).unwrap_or("");
    let viewer = signed.caller.role == atlas_actors::domain::Role::Viewer;
    let readable = |c: &&atlas_actors::store::browse::ColumnInfo| c.readable(&name, viewer);
    let mut shown = vec![Column {
        name: "rowid".into(),
        sortable: false,
        sorted: "",
        how: "",
        sort_up: String::new(),
        sort_down: String::new(),
    }];
    shown.extend(columns.iter().map(|c| Column {
        name: c.name.clone(),
        sortable: readable(&c),
        sorted: match sort.strip_prefix('-') {
            Some(down) if down == c.name => "descending",
            None if sort == c.name => "ascending",
            _ => "",
        },
        how: if c.indexed { "" } else { ", reading the whole table" },
        sort_up: with(without(&["sort", "cursor", "before"]), "sort", &c.name),
        sort_down: with(without(&["sort", "cursor", "before"]), "sort", &format!("-{}", c.name)),
    }));
    let filterable = columns.iter().filter(readable).map(|c| c.name.clone()).collect();
    let cells = rows
        .rows
        .iter()
        .map(|row| {
            let named = rows.columns.iter().zip(row);
            named
                .map(|(column, value)| Cell { href: related(&name, column, &cell(value)), text: cell(value) })
                .collect()
        })
        .collect();
    let next = rows.next_cursor.as_ref().map(|c| with(without(&["cursor", "before"]), "cursor", c));
    let prev = rows.prev_cursor.as_ref().map(|c| with(without(&["cursor", "before"]), "before", c));
    let here = serde_urlencoded::to_string(&unpaged).unwrap_or_default();
    let keep = unpaged.into_iter().filter(|(k, _)| k != "format").collect();
    page(&TablePage {
        chrome: signed.chrome(),
        table: name,
        count,
        chips,
        keep,
        filterable,
        facets,
        facets_note,
        columns: shown,
        rows: cells,
        prev,
        next,
        here,
    })
}
