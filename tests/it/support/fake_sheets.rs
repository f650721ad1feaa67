//! A fake Google Sheets server on 127.0.0.1:0 speaking Google's REST protocol closely enough for the real
//! google-sheets4 client: the OAuth token endpoint, spreadsheets.get/batchUpdate, values.batchGet/
//! batchUpdate, A1 ranges with quoted tab names, trailing empty cells omitted, Google's JSON error shape,
//! injected failures (429, 5xx) and delays, and a way for tests to edit cells as a human would.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
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
}

#[derive(Default)]
struct State {
    tabs: Vec<Tab>,
    next_id: i32,
    /// (method, Google method name) of every API request, in order.
    calls: Vec<String>,
    /// Status codes the next requests fail with (429, 500, 503…), one per request.
    failures: VecDeque<u16>,
    /// When set, the next request is applied but its response is dropped with a 503 (a lost reply).
    apply_then_fail: bool,
    delay: Option<Duration>,
    /// Dropdowns and protected ranges set.
    guard_rails: usize,
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
    fn tab_mut(&mut self, title: &str) -> Option<&mut Tab> {
        self.tabs.iter_mut().find(|t| t.title == title)
    }

    fn add_tab(&mut self, title: &str, row_count: usize) -> Tab {
        self.next_id += 1;
        let tab = Tab { id: self.next_id, title: title.to_owned(), rows: Vec::new(), row_count };
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

    fn write(&mut self, range: &str, values: &[Vec<Value>]) -> Result<(), GoogleError> {
        let (title, c1, r1, _, _) = parse_a1(range)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        let tab = self
            .tab_mut(&title)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
        if r1 + values.len() > tab.row_count {
            let message = format!("Range ({range}) exceeds grid limits. Max rows: {}, max columns: 26", tab.row_count);
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
                let mut tab = self.add_tab(title, rows);
                if let Some(id) = add["properties"]["sheetId"].as_i64() {
                    // Google honours a sheetId the client chose.
                    self.tabs.last_mut().unwrap().id = id as i32;
                    tab.id = id as i32;
                }
                replies.push(json!({ "addSheet": { "properties": { "sheetId": tab.id, "title": tab.title } } }));
            } else if let Some(delete) = request.get("deleteDimension") {
                let id = delete["range"]["sheetId"].as_i64().unwrap_or(-1) as i32;
                let (start, end) = (
                    delete["range"]["startIndex"].as_u64().unwrap_or(0) as usize,
                    delete["range"]["endIndex"].as_u64().unwrap_or(0) as usize,
                );
                let tab = self
                    .tabs
                    .iter_mut()
                    .find(|t| t.id == id)
                    .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", "No grid with id"))?;
                for index in (start..end.min(tab.rows.len())).rev() {
                    tab.rows.remove(index);
                }
                tab.row_count -= end - start;
                replies.push(json!({}));
            } else if let Some(append) = request.get("appendDimension") {
                let id = append["sheetId"].as_i64().unwrap_or(-1) as i32;
                let tab = self
                    .tabs
                    .iter_mut()
                    .find(|t| t.id == id)
                    .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", "No grid with id"))?;
                tab.row_count += append["length"].as_u64().unwrap_or(0) as usize;
                replies.push(json!({}));
            } else if let Some(rule) = request.get("setDataValidation").or_else(|| request.get("addProtectedRange")) {
                let id =
                    rule["range"]["sheetId"].as_i64().or_else(|| rule["protectedRange"]["range"]["sheetId"].as_i64());
                if !self.tabs.iter().any(|t| Some(t.id as i64) == id) {
                    return Err(google_error(400, "INVALID_ARGUMENT", "No grid with id"));
                }
                self.guard_rails += 1;
                replies.push(json!({}));
            } else if request.get("setDataValidation").is_some()
                || request.get("addProtectedRange").is_some()
                || request.get("updateSheetProperties").is_some()
            {
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
        (state.delay, state.failures.pop_front(), std::mem::take(&mut state.apply_then_fail))
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = failure {
        let status: &'static str = if code == 429 { "RESOURCE_EXHAUSTED" } else { "UNAVAILABLE" };
        return google_error(code, status, "injected failure").respond();
    }
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer fake-access-token") {
        return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.").respond();
    }
    let mut state = state.lock().unwrap();
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let response = match call {
        "spreadsheets.get" => {
            let sheets: Vec<Value> = state
                .tabs
                .iter()
                .enumerate()
                .map(|(i, t)| json!({ "properties": { "sheetId": t.id, "title": t.title, "index": i, "gridProperties": { "rowCount": t.row_count, "columnCount": 26 } } }))
                .collect();
            HttpResponse::Ok().json(json!({ "spreadsheetId": "fake", "sheets": sheets }))
        }
        "spreadsheets.batchUpdate" => {
            match state.structure(input["requests"].as_array().map(Vec::as_slice).unwrap_or(&[])) {
                Ok(replies) => HttpResponse::Ok().json(json!({ "spreadsheetId": "fake", "replies": replies })),
                Err(error) => error.respond(),
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
            for entry in input["data"].as_array().cloned().unwrap_or_default() {
                let rows: Vec<Vec<Value>> = serde_json::from_value(entry["values"].clone()).unwrap_or_default();
                if let Err(error) = state.write(entry["range"].as_str().unwrap_or(""), &rows) {
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

impl FakeSheets {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/token", web::post().to(token))
                .default_service(web::to(api))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server); // stops with the test's System
        Self { state, url }
    }

    /// A service-account key file whose `token_uri` is this fake (any RSA key will do for a fake).
    pub fn credentials(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let key = include_str!("test_rsa_key.pem");
        let file = dir.join("service-account.json");
        let body = json!({
            "type": "service_account",
            "project_id": "atlas-test",
            "private_key_id": "test",
            "private_key": key,
            "client_email": "atlas@atlas-test.iam.gserviceaccount.com",
            "client_id": "1",
            "auth_uri": format!("{}auth", self.url),
            "token_uri": format!("{}token", self.url),
        });
        std::fs::write(&file, body.to_string()).unwrap();
        file
    }

    pub fn tab(&self, title: &str) -> Option<Tab> {
        self.state.lock().unwrap().tabs.iter().find(|t| t.title == title).cloned()
    }

    /// A human edits one cell (0-based row and column).
    pub fn set_cell(&self, title: &str, row: usize, column: usize, value: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .write(
                &format!("'{title}'!{}{}", (b'A' + column as u8) as char, row + 1),
                &[vec![Value::String(value.into())]],
            )
            .ok()
            .unwrap();
    }

    /// A human deletes a row (0-based) or inserts an empty one before it.
    pub fn delete_row(&self, title: &str, row: usize) {
        self.state.lock().unwrap().tab_mut(title).unwrap().rows.remove(row);
    }

    pub fn insert_blank_row(&self, title: &str, row: usize) {
        self.state.lock().unwrap().tab_mut(title).unwrap().rows.insert(row, Vec::new());
    }

    pub fn rename_tab(&self, from: &str, to: &str) {
        self.state.lock().unwrap().tab_mut(from).unwrap().title = to.into();
    }

    /// API calls made so far, by Google method name.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Dropdowns and protected ranges set so far.
    pub fn guard_rails(&self) -> usize {
        self.state.lock().unwrap().guard_rails
    }

    pub fn reset_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// The next requests fail with these statuses, in order.
    pub fn fail_next(&self, codes: &[u16]) {
        self.state.lock().unwrap().failures.extend(codes);
    }

    /// The next request is applied but answered with a 503, as when Google's reply is lost.
    pub fn apply_then_fail_next(&self) {
        self.state.lock().unwrap().apply_then_fail = true;
    }

    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.lock().unwrap().delay = delay;
    }
}
