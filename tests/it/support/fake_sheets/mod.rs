//! A fake Google Sheets server on 127.0.0.1:0 speaking Google's REST protocol closely enough for the real
//! google-sheets4 client: the OAuth token endpoint, spreadsheets.get (with `ranges` and grid data as
//! `userEnteredValue`, protected ranges, 400 "Unable to parse range" for a missing tab) and batchUpdate
//! (addSheet, delete/insert/appendDimension, add/deleteProtectedRange, updateCells, appendCells,
//! copyPaste, updateSheetProperties' grid size; `includeSpreadsheetInResponse` with `responseRanges`),
//! values.get/batchGet/update/batchUpdate/append/clear, A1 ranges with quoted tab names, trailing empty
//! cells omitted, grid limits, Google's JSON error shape, injected failures (429 with `Retry-After`, 5xx),
//! lost replies and delays. Test hooks act as people: `edit_as` a person, `set_cell` as the owner, and a
//! human's action at the instant a given request arrives (`before_next`).
//!
//! Where each behaviour comes from (Google's documentation; where it is silent, the harder case):
//! - Protected ranges (Sheets API `ProtectedRange`, `Editors`): a range that is not warning-only can be
//!   edited only by its editors; `editors` is "the users and groups with edit access to the protected
//!   range", "only visible to users with edit access to the protected range and the document"; editors are
//!   refused on a warning-only range (`AddProtectedRangeRequest`, 400).
//! - The owner (Apps Script `Protection.removeEditors`: "Neither the owner of the spreadsheet nor the
//!   current user can be removed"): the owner edits every range and is listed among every range's editors
//!   (`EditorModel::Google`, the default); `EditorModel::OwnerUnlisted` keeps the fake's first behaviour.
//!   The requesting user stays an editor of a range it makes (the Sheets UI never lets you lock yourself
//!   out; the API is silent, and keeping Atlas listed is the case Atlas must check, not assume).
//! - Values (`spreadsheets.values`): trailing empty rows and cells are omitted from a read; a write to a
//!   protected cell fails the whole request with 400 "You are trying to edit a protected cell or object".
//! - Errors and limits (Sheets API "Usage limits", Google's JSON error model): 429 RESOURCE_EXHAUSTED per
//!   minute quota, with `Retry-After` where sent (Google's docs do not promise it: tests run both), 5xx
//!   retriable; a reply can be lost after the change applied (nothing in the API makes writes exactly-once).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Tab {
    pub id: i32,
    pub title: String,
    pub rows: Vec<Vec<String>>,
    pub row_count: usize,
    pub column_count: usize,
}

/// A human's action run when a given request arrives, before Google applies it.
type Hook = Box<dyn FnOnce(&mut State) + Send>;

pub const OWNER: &str = "owner@example.com";

/// Which editors a protected range lists. Google documents that the spreadsheet's owner is among them
/// and can never be removed; the fake's first version never listed the owner, and Atlas must hold under
/// both (every Sheet test runs under each: `sheet_test!`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EditorModel {
    #[default]
    Google,
    OwnerUnlisted,
}

thread_local! {
    /// The model the fakes started on this test's thread use (a test's System runs on its thread).
    static MODEL: std::cell::Cell<EditorModel> = const { std::cell::Cell::new(EditorModel::Google) };
}

/// Runs a test with the fakes it starts on `model`.
pub async fn under<F: std::future::Future<Output = ()>>(model: EditorModel, test: F) {
    MODEL.with(|m| m.set(model));
    test.await
}

/// The model a fake starting now takes.
pub fn current_model() -> EditorModel {
    MODEL.with(|m| m.get())
}
pub const SERVICE_ACCOUNT: &str = "atlas@atlas-test.iam.gserviceaccount.com";

#[derive(Default)]
pub struct State {
    model: EditorModel,
    tabs: Vec<Tab>,
    next_id: i32,
    /// (method, Google method name) of every API request, in order.
    calls: Vec<String>,
    /// Status codes the next requests fail with (429, 500, 503…), one per request.
    failures: VecDeque<u16>,
    delay: Option<Duration>,
    /// Dropdowns and protected ranges set.
    guard_rails: usize,
    protections: Vec<FakeProtection>,
    /// The `Retry-After` seconds sent with injected 429s.
    retry_after: Option<u64>,
    before_next: Option<(String, Hook)>,
    /// Statuses the next requests of one Google method fail with, in order.
    failures_of: Vec<(String, u16)>,
    /// The next request of this method is applied but its reply is lost (a 503).
    lose_reply_of: Option<String>,
}

/// Handle to the running fake.
#[derive(Clone)]
pub struct FakeSheets {
    state: Arc<Mutex<State>>,
    pub url: String,
}

/// Google's error body: `{"error": {"code", "message", "status"}}`.
struct GoogleError {
    code: u16,
    status: &'static str,
    message: String,
}

fn google_error(code: u16, status: &'static str, message: &str) -> GoogleError {
    GoogleError { code, status, message: message.to_owned() }
}

impl GoogleError {
    fn respond(self) -> HttpResponse {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(self.code).unwrap())
            .json(json!({ "error": { "code": self.code, "message": self.message, "status": self.status } }))
    }
}

/// `'My Tab'!A2:H` → (tab, first column, first row, last column, last row), 0-based, rows open-ended.
pub fn parse_a1(range: &str) -> Option<(String, usize, usize, usize, Option<usize>)> {
    let (tab, cells) = if let Some(rest) = range.strip_prefix('\'') {
        let end = rest.find("'!")?;
        (rest[..end].replace("''", "'"), &rest[end + 2..])
    } else {
        let (tab, cells) = range.split_once('!')?;
        (tab.to_owned(), cells)
    };
    let cell = |text: &str| -> Option<(usize, Option<usize>)> {
        let letters: String = text.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let digits = &text[letters.len()..];
        let column =
            letters.chars().fold(0usize, |acc, c| acc * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1)) - 1;
        let row = if digits.is_empty() { None } else { Some(digits.parse::<usize>().ok()? - 1) };
        Some((column, row))
    };
    let (start, end) = cells.split_once(':').unwrap_or((cells, cells));
    let (c1, r1) = cell(start)?;
    let (c2, r2) = cell(end)?;
    Some((tab, c1, r1.unwrap_or(0), c2, r2))
}

impl State {
    /// A human deletes a row (0-based) of a tab.
    pub fn delete_row(&mut self, title: &str, row: usize) {
        let tab = self.tab_mut(title).unwrap();
        tab.rows.remove(row);
        tab.row_count = tab.row_count.saturating_sub(1);
        let id = tab.id;
        self.rows_deleted(id, row, row + 1);
    }

    /// A person edits one cell (from a `before_next` hook: while a request is in flight).
    pub fn edit_as(&mut self, user: &str, title: &str, row: usize, column: usize, value: &str) -> Result<(), String> {
        let range = format!("'{title}'!{}{}", (b'A' + column as u8) as char, row + 1);
        self.write_as(user, &range, &[vec![Value::String(value.into())]]).map_err(|e| e.message)
    }

    fn tab_mut(&mut self, title: &str) -> Option<&mut Tab> {
        self.tabs.iter_mut().find(|t| t.title == title)
    }

    fn add_tab(&mut self, title: &str, row_count: usize) -> Tab {
        self.next_id += 1;
        let tab = Tab { id: self.next_id, title: title.to_owned(), rows: Vec::new(), row_count, column_count: 26 };
        self.tabs.push(tab.clone());
        tab
    }

    fn read(&self, range: &str) -> Result<Value, GoogleError> {
        let (title, c1, r1, c2, r2) = parse_a1(range)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let tab = self
            .tabs
            .iter()
            .find(|t| t.title == title)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let last = r2.unwrap_or(usize::MAX).min(tab.rows.len().saturating_sub(1));
        let mut rows: Vec<Vec<String>> = Vec::new();
        for row in tab.rows.iter().take(last + 1).skip(r1) {
            let mut cells: Vec<String> = (c1..=c2).map(|c| row.get(c).cloned().unwrap_or_default()).collect();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop(); // Google omits trailing empty cells
            }
            rows.push(cells);
        }
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        let mut body = json!({ "range": range, "majorDimension": "ROWS" });
        if !rows.is_empty() {
            body["values"] = json!(rows);
        }
        Ok(body)
    }

    /// Writes as `user` (Atlas's service account, or a person), refusing cells protected from them.
    fn write_as(&mut self, user: &str, range: &str, values: &[Vec<Value>]) -> Result<(), GoogleError> {
        let (title, c1, r1, _, _) = parse_a1(range)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let sheet_id = self.tabs.iter().find(|t| t.title == title).map(|t| t.id).unwrap_or(-1);
        for (i, row) in values.iter().enumerate() {
            for j in 0..row.len() {
                let blocked =
                    self.protections.iter().any(|p| p.covers(sheet_id, r1 + i, c1 + j) && !p.lets(user, OWNER));
                if blocked {
                    return Err(google_error(
                        403,
                        "PERMISSION_DENIED",
                        "You are trying to edit a protected cell or object. Please contact the spreadsheet owner to remove protection if you need to edit.",
                    ));
                }
            }
        }
        self.write(range, values)
    }

    fn write(&mut self, range: &str, values: &[Vec<Value>]) -> Result<(), GoogleError> {
        let (title, c1, r1, _, _) = parse_a1(range)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let tab = self
            .tab_mut(&title)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        if values.iter().any(|row| c1 + row.len() > tab.column_count) {
            let message = format!(
                "Range ({range}) exceeds grid limits. Max rows: {}, max columns: {}",
                tab.row_count, tab.column_count
            );
            return Err(google_error(400, "INVALID_ARGUMENT", &message));
        }
        if r1 + values.len() > tab.row_count {
            let message = format!(
                "Range ({range}) exceeds grid limits. Max rows: {}, max columns: {}",
                tab.row_count, tab.column_count
            );
            return Err(google_error(400, "INVALID_ARGUMENT", &message));
        }
        for (i, row) in values.iter().enumerate() {
            let at = r1 + i;
            if tab.rows.len() <= at {
                tab.rows.resize(at + 1, Vec::new());
            }
            let cells = &mut tab.rows[at];
            for (j, value) in row.iter().enumerate() {
                if cells.len() <= c1 + j {
                    cells.resize(c1 + j + 1, String::new());
                }
                cells[c1 + j] = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            }
        }
        Ok(())
    }

    /// values.update writes at the range; values.append after the last row (growing the grid, as Google
    /// does); values.clear empties the range.
    fn single_write(&mut self, call: &str, range: &str, rows: Vec<Vec<Value>>) -> Result<String, GoogleError> {
        let (title, c1, r1, c2, r2) = parse_a1(range)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let tab = self
            .tab_mut(&title)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let (start, rows) = match call {
            "values.append" => {
                let at = tab.rows.iter().rposition(|r| r.iter().any(|c| !c.is_empty())).map_or(0, |last| last + 1);
                tab.row_count = tab.row_count.max(at + rows.len());
                (at, rows)
            }
            "values.clear" => {
                let last = r2.unwrap_or(tab.rows.len().saturating_sub(1)).min(tab.rows.len().saturating_sub(1));
                (r1, (r1..=last).map(|_| vec![Value::String(String::new()); c2 - c1 + 1]).collect())
            }
            _ => (r1, rows),
        };
        let letter = (b'A' + c1 as u8) as char;
        let target = format!("'{title}'!{letter}{}", start + 1);
        self.write(&target, &rows)?;
        Ok(target)
    }

    fn structure(&mut self, requests: &[Value]) -> Result<Vec<Value>, GoogleError> {
        let mut replies = Vec::new();
        for request in requests {
            if let Some(add) = request.get("addSheet") {
                let title = add["properties"]["title"].as_str().unwrap_or("Sheet");
                if self.tabs.iter().any(|t| t.title == title) {
                    return Err(google_error(
                        400,
                        "INVALID_ARGUMENT",
                        &format!("A sheet with the name \"{title}\" already exists."),
                    ));
                }
                let rows = add["properties"]["gridProperties"]["rowCount"].as_u64().unwrap_or(1000) as usize;
                let columns = add["properties"]["gridProperties"]["columnCount"].as_u64().unwrap_or(26) as usize;
                let mut tab = self.add_tab(title, rows);
                self.tabs.last_mut().unwrap().column_count = columns;
                if let Some(id) = add["properties"]["sheetId"].as_i64() {
                    // Google honours a sheetId the client chose.
                    self.tabs.last_mut().unwrap().id = id as i32;
                    tab.id = id as i32;
                }
                replies.push(json!({ "addSheet": { "properties": { "sheetId": tab.id, "title": tab.title } } }));
            } else if let Some(delete) = request.get("deleteDimension") {
                self.delete_dimension(&delete["range"])?;
                replies.push(json!({}));
            } else if let Some(insert) = request.get("insertDimension") {
                self.insert_dimension(&insert["range"])?;
                replies.push(json!({}));
            } else if let Some(append) = request.get("appendDimension") {
                let id = append["sheetId"].as_i64().unwrap_or(-1) as i32;
                let tab = self.grid_mut(id)?;
                let length = append["length"].as_u64().unwrap_or(0) as usize;
                if append["dimension"] == "COLUMNS" {
                    tab.column_count += length;
                } else {
                    tab.row_count += length;
                }
                replies.push(json!({}));
            } else if let Some(add) = request.get("addProtectedRange") {
                let p = &add["protectedRange"];
                let sheet_id = p["range"]["sheetId"].as_i64().unwrap_or(-1) as i32;
                if !self.tabs.iter().any(|t| t.id == sheet_id) {
                    return Err(google_error(400, "INVALID_ARGUMENT", "No grid with id"));
                }
                let warning_only = p["warningOnly"].as_bool().unwrap_or(false);
                if warning_only && p.get("editors").is_some() {
                    return Err(google_error(
                        400,
                        "INVALID_ARGUMENT",
                        "Editors are not supported with warning_only protection",
                    ));
                }
                let index = |key: &str| p["range"][key].as_u64().map(|v| v as usize);
                self.next_id += 1;
                let mut users: Vec<String> = p["editors"]["users"]
                    .as_array()
                    .map(|u| u.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                if !warning_only && !users.iter().any(|u| u == SERVICE_ACCOUNT) {
                    users.push(SERVICE_ACCOUNT.to_owned()); // the requesting user stays an editor
                }
                let protection = FakeProtection {
                    id: self.next_id,
                    sheet_id,
                    start_row: index("startRowIndex"),
                    end_row: index("endRowIndex"),
                    start_column: index("startColumnIndex"),
                    end_column: index("endColumnIndex"),
                    description: p["description"].as_str().unwrap_or("").to_owned(),
                    warning_only,
                    users,
                };
                replies.push(
                    json!({ "addProtectedRange": { "protectedRange": protection.to_json(SERVICE_ACCOUNT, self.model) } }),
                );
                self.protections.push(protection);
                self.guard_rails += 1;
            } else if let Some(delete) = request.get("deleteProtectedRange") {
                let id = delete["protectedRangeId"].as_i64().unwrap_or(-1) as i32;
                let Some(at) = self.protections.iter().position(|p| p.id == id) else {
                    return Err(google_error(400, "INVALID_ARGUMENT", &format!("No protected range with id: {id}")));
                };
                if !self.protections[at].lets(SERVICE_ACCOUNT, OWNER) {
                    return Err(google_error(
                        403,
                        "PERMISSION_DENIED",
                        "You do not have permission to edit this protected range.",
                    ));
                }
                self.protections.remove(at);
                replies.push(json!({}));
            } else if let Some(rule) = request.get("setDataValidation") {
                let id =
                    rule["range"]["sheetId"].as_i64().or_else(|| rule["protectedRange"]["range"]["sheetId"].as_i64());
                if !self.tabs.iter().any(|t| Some(t.id as i64) == id) {
                    return Err(google_error(400, "INVALID_ARGUMENT", "No grid with id"));
                }
                self.guard_rails += 1;
                replies.push(json!({}));
            } else if let Some(update) = request.get("updateCells") {
                self.update_cells(update)?;
                replies.push(json!({}));
            } else if let Some(update) = request.get("updateSheetProperties") {
                let properties = &update["properties"];
                let id = properties["sheetId"].as_i64().unwrap_or(-1) as i32;
                let fields = update["fields"].as_str().unwrap_or("").to_owned();
                if fields.split(',').any(|f| f == "title") {
                    let title = properties["title"].as_str().unwrap_or("").to_owned();
                    if self.tabs.iter().any(|t| t.title == title && t.id != id) {
                        let message = format!("A sheet with the name \"{title}\" already exists.");
                        return Err(google_error(400, "INVALID_ARGUMENT", &message));
                    }
                    self.grid_mut(id)?.title = title;
                }
                let tab = self.grid_mut(id)?;
                if fields.contains("gridProperties.rowCount") {
                    tab.row_count = properties["gridProperties"]["rowCount"].as_u64().unwrap_or(0) as usize;
                }
                if fields.contains("gridProperties.columnCount") {
                    tab.column_count = properties["gridProperties"]["columnCount"].as_u64().unwrap_or(0) as usize;
                }
                replies.push(json!({}));
            } else if let Some(delete) = request.get("deleteSheet") {
                let id = delete["sheetId"].as_i64().unwrap_or(-1) as i32;
                self.grid(id)?;
                self.tabs.retain(|t| t.id != id);
                self.protections.retain(|p| p.sheet_id != id);
                replies.push(json!({}));
            } else if let Some(moved) = request.get("moveDimension") {
                self.move_dimension(moved)?;
                replies.push(json!({}));
            } else if let Some(copy) = request.get("copyPaste") {
                self.copy_paste(copy)?;
                replies.push(json!({}));
            } else if let Some(append) = request.get("appendCells") {
                self.append_cells(append)?;
                replies.push(json!({}));
            } else {
                return Err(google_error(400, "INVALID_ARGUMENT", &format!("Unsupported request: {request}")));
            }
        }
        Ok(replies)
    }
}

async fn token() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 3600 }))
}

async fn api(state: web::Data<Arc<Mutex<State>>>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let path = req.path().trim_start_matches("/v4/spreadsheets/").to_owned();
    let method = req.method().as_str().to_owned();
    let rest = path.split_once('/').map(|(_, rest)| percent_decode(rest));
    let single = rest.as_deref().and_then(|r| r.strip_prefix("values/")).map(str::to_owned);
    let call = match (method.as_str(), rest.as_deref(), single.as_deref()) {
        ("GET", None, _) => "spreadsheets.get",
        ("POST", None, _) if path.ends_with(":batchUpdate") => "spreadsheets.batchUpdate",
        ("GET", Some("values:batchGet"), _) => "values.batchGet",
        ("POST", Some("values:batchUpdate"), _) => "values.batchUpdate",
        ("GET", _, Some(_)) => "values.get",
        ("PUT", _, Some(_)) => "values.update",
        ("POST", _, Some(range)) if range.ends_with(":append") => "values.append",
        ("POST", _, Some(range)) if range.ends_with(":clear") => "values.clear",
        _ => {
            return google_error(404, "NOT_FOUND", &format!("Requested entity was not found: {method} {path}"))
                .respond()
        }
    };
    let single =
        single.map(|r| r.trim_end_matches(":append").trim_end_matches(":clear").to_owned()).unwrap_or_default();
    let (delay, failure, lost_reply) = {
        let mut state = state.lock().unwrap();
        state.calls.push(call.to_owned());
        let mut failure = state.failures.pop_front();
        if failure.is_none() {
            if let Some(at) = state.failures_of.iter().position(|(name, _)| name == call) {
                failure = Some(state.failures_of.remove(at).1);
            }
        }
        let lost = state.lose_reply_of.as_deref() == Some(call) && state.lose_reply_of.take().is_some();
        (state.delay, failure, lost)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = failure {
        let status: &'static str = if code == 429 { "RESOURCE_EXHAUSTED" } else { "UNAVAILABLE" };
        let mut response = google_error(code, status, "injected failure").respond();
        let retry_after = state.lock().unwrap().retry_after;
        if let (429, Some(seconds)) = (code, retry_after) {
            let value = actix_web::http::header::HeaderValue::from(seconds);
            response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
        }
        return response;
    }
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer fake-access-token") {
        return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.").respond();
    }
    let mut state = state.lock().unwrap();
    if state.before_next.as_ref().is_some_and(|(when, _)| when == call) {
        let (_, hook) = state.before_next.take().unwrap();
        hook(&mut state); // a human acts while the request is in flight
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let response = match call {
        "spreadsheets.get" => {
            let query = url_query(req.query_string());
            let fields = query.iter().find(|(k, _)| k == "fields").map(|(_, v)| v.clone()).unwrap_or_default();
            let with_data = fields.contains("data") || query.iter().any(|(k, v)| k == "includeGridData" && v == "true");
            let ranges: Vec<String> = query.iter().filter(|(k, _)| k == "ranges").map(|(_, v)| v.clone()).collect();
            match state.spreadsheet(&ranges, with_data) {
                Ok(body) => HttpResponse::Ok().json(body),
                Err(error) => error.respond(),
            }
        }
        "spreadsheets.batchUpdate" => {
            // Google applies a batchUpdate whole or not at all.
            let before = (state.tabs.clone(), state.protections.clone(), state.next_id, state.guard_rails);
            match state.structure(input["requests"].as_array().map(Vec::as_slice).unwrap_or(&[])) {
                Ok(replies) => {
                    let mut body = json!({ "spreadsheetId": "fake", "replies": replies });
                    // `includeSpreadsheetInResponse`: the spreadsheet once the whole request applied.
                    if input["includeSpreadsheetInResponse"].as_bool() == Some(true) {
                        let ranges: Vec<String> = input["responseRanges"]
                            .as_array()
                            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                            .unwrap_or_default();
                        let with_data = input["responseIncludeGridData"].as_bool() == Some(true);
                        match state.spreadsheet(&ranges, with_data) {
                            Ok(spreadsheet) => body["updatedSpreadsheet"] = spreadsheet,
                            Err(error) => {
                                (state.tabs, state.protections, state.next_id, state.guard_rails) = before;
                                return error.respond();
                            }
                        }
                    }
                    HttpResponse::Ok().json(body)
                }
                Err(error) => {
                    (state.tabs, state.protections, state.next_id, state.guard_rails) = before;
                    error.respond()
                }
            }
        }
        "values.batchGet" => {
            let query = url_query(req.query_string());
            let mut ranges = Vec::new();
            for (_, range) in query.iter().filter(|(k, _)| k == "ranges") {
                match state.read(range) {
                    Ok(body) => ranges.push(body),
                    Err(error) => return error.respond(),
                }
            }
            HttpResponse::Ok().json(json!({ "spreadsheetId": "fake", "valueRanges": ranges }))
        }
        "values.get" => match state.read(&single) {
            Ok(body) => HttpResponse::Ok().json(body),
            Err(error) => error.respond(),
        },
        "values.update" | "values.append" | "values.clear" => {
            let rows: Vec<Vec<Value>> = serde_json::from_value(input["values"].clone()).unwrap_or_default();
            match state.single_write(call, &single, rows) {
                Ok(range) => HttpResponse::Ok().json(
                    json!({ "spreadsheetId": "fake", "updatedRange": range, "updates": { "updatedRange": range } }),
                ),
                Err(error) => error.respond(),
            }
        }
        _ => {
            let before = state.tabs.clone();
            for entry in input["data"].as_array().cloned().unwrap_or_default() {
                let rows: Vec<Vec<Value>> = serde_json::from_value(entry["values"].clone()).unwrap_or_default();
                if let Err(error) = state.write_as(SERVICE_ACCOUNT, entry["range"].as_str().unwrap_or(""), &rows) {
                    state.tabs = before;
                    return error.respond();
                }
            }
            HttpResponse::Ok().json(json!({ "spreadsheetId": "fake" }))
        }
    };
    if lost_reply {
        return google_error(503, "UNAVAILABLE", "the change was applied but the reply was lost").respond();
    }
    response
}

/// Decodes %XX escapes in a path (ranges arrive encoded when they hold quotes or spaces).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn url_query(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

mod grid;
mod handle;
mod rows;

pub use grid::FakeProtection;
