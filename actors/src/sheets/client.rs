//! The Google Sheets client: google-sheets4 over hyper-rustls (ring only), a service-account key whose
//! `token_uri` is honoured, and a timeout on every call (the crate has none).
//!
//! Retries: 5xx and timeouts of calls that are safe to repeat (reads) are retried with
//! exponential backoff and jitter, at most `max_attempts` per call. A structure request (row deletions,
//! new tabs) is never repeated blindly: its reply may be lost after Google applied it, and a second
//! deletion by position would delete another row; the cycle fails and the next one re-reads positions.
//! 429 (quota) is never retried within a call: Google's window is per minute, so the caller defers the
//! whole cycle, for as long as `Retry-After` says when Google sends one. Other 4xx are final.

use crate::backoff::Backoff;
use google_sheets4::api::{BatchUpdateSpreadsheetRequest, Request, Scope};
use google_sheets4::common::Retry;
use google_sheets4::Sheets;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Where and how to reach the spreadsheet.
#[derive(Clone, Debug, PartialEq)]
pub struct SheetsConfig {
    pub spreadsheet_id: String,
    pub credentials_file: PathBuf,
    /// Google's by default; tests point it at the fake server. Must end with `/`.
    pub api_base_url: String,
    pub request_timeout: Duration,
    pub max_attempts: u32,
    /// First backoff delay; doubled per attempt (at most 64 times), plus up to as much again at random.
    pub backoff_base: Duration,
    /// Rows a tab may have (`sheets.max_rows`): a read never asks for more, and a tab with more is
    /// refused aloud rather than read whole (any editor can paste rows, and a read's memory grows with
    /// them).
    pub max_rows: usize,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SheetsError {
    #[error("cannot set up the Sheets client: {0}")]
    Setup(String),
    #[error("Google Sheets answered {code} {status}: {message}")]
    Api { code: u16, status: String, message: String, retry_after: Option<Duration> },
    #[error("Google Sheets did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach Google Sheets: {0}")]
    Transport(String),
    #[error(
        "Google Sheets tab {tab} has {rows} rows, more than sheets.max_rows ({max}): Atlas reads and writes \
         nothing in the spreadsheet until the extra rows are deleted (or the limit is raised)"
    )]
    Oversized { tab: String, rows: usize, max: usize },
}

impl SheetsError {
    /// 429, 5xx, timeouts and transport failures may succeed on a later attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { code, .. } => *code == 429 || *code >= 500,
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Setup(_) | Self::Oversized { .. } => false,
        }
    }

    /// Google's per-minute quota was exhausted (429), with its `Retry-After` when it sent one.
    pub fn quota(&self) -> Option<Option<Duration>> {
        match self {
            Self::Api { code: 429, retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// A range named a tab that no longer exists (renamed or deleted since the structure was read).
    pub fn is_missing_range(&self) -> bool {
        matches!(self, Self::Api { code: 400, message, .. } if message.starts_with("Unable to parse range"))
    }

    /// A short stable name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Setup(_) => "setup",
            Self::Api { code: 429, .. } => "quota",
            Self::Api { code, .. } if *code >= 500 => "server",
            Self::Api { .. } => "request",
            Self::Timeout(_) => "timeout",
            Self::Transport(_) => "transport",
            Self::Oversized { .. } => "oversized",
        }
    }

    fn from_google(err: google_sheets4::Error) -> Self {
        match err {
            google_sheets4::Error::BadRequest(body) => Self::from_body(&body),
            google_sheets4::Error::Failure(response) => Self::Api {
                code: response.status().as_u16(),
                status: response.status().canonical_reason().unwrap_or("").to_owned(),
                message: "no JSON body".into(),
                retry_after: None,
            },
            google_sheets4::Error::HttpError(err) => Self::Transport(with_causes(&err)),
            other => Self::Transport(with_causes(&other)),
        }
    }

    fn from_body(body: &Value) -> Self {
        let error = &body["error"];
        Self::Api {
            code: error["code"].as_u64().unwrap_or(0) as u16,
            status: error["status"].as_str().unwrap_or("").to_owned(),
            message: error["message"].as_str().unwrap_or("no message").to_owned(),
            retry_after: None,
        }
    }
}

/// An error and the errors beneath it, as one line: hyper's own text ("client error (SendRequest)") names
/// none of what happened to the connection.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        line.push_str(": ");
        line.push_str(&inner.to_string());
        cause = inner.source();
    }
    line
}

/// A tab as the spreadsheet describes it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SheetInfo {
    pub title: String,
    pub sheet_id: i32,
    pub row_count: i32,
    pub column_count: i32,
    /// The Atlas tab this one is, by the guard rail Atlas put on it ("<tab> is maintained by Atlas…"),
    /// whatever it is called now (a structure read only).
    pub guarded_as: Option<String>,
}

/// How long an idle connection may be reused. Servers close idle connections (actix after 5 s, Google's
/// front ends on their own schedule, NATs silently); a write sent down a connection the server has just
/// closed dies half-written (`Broken pipe`) and cannot be retried blindly, so an idle connection is
/// dropped well before any server would and the next call opens a fresh one. Seen: under load the
/// 10,000-row export computed its next request for over 5 s and lost it this way.
const IDLE_CONNECTION_REUSE: Duration = Duration::from_secs(2);

type Hub = Sheets<HttpsConnector<HttpConnector>>;

/// The fields of a structure read: each tab's id, title and size.
const STRUCTURE_FIELDS: &str =
    "sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),protectedRanges(description))";
/// The fields of a grid read: the structure, protections and what each cell holds as entered.
const GRID_FIELDS: &str = "sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),protectedRanges,\
     data(startRow,startColumn,rowData(values(userEnteredValue))))";

/// Catches Google's `Retry-After` header on a failed reply (google-sheets4 hands the response only to
/// its delegate).
#[derive(Clone, Default)]
struct RetryAfter(Arc<std::sync::Mutex<Option<Duration>>>);

impl RetryAfter {
    fn get(&self) -> Option<Duration> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl google_sheets4::Delegate for RetryAfter {
    fn http_failure(&mut self, response: &google_sheets4::common::Response, _: Option<&Value>) -> Retry {
        let seconds = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(seconds) = seconds {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Duration::from_secs(seconds));
        }
        Retry::Abort
    }
}

/// Cheap to clone; counts every HTTP request it makes (retries included).
#[derive(Clone)]
pub struct SheetsClient {
    hub: Arc<Hub>,
    config: Arc<SheetsConfig>,
    requests: Arc<AtomicU64>,
    /// The service account's e-mail (`client_email` of the key): the editor Atlas writes as.
    account: Arc<String>,
}

impl SheetsClient {
    pub async fn connect(config: SheetsConfig) -> Result<Self, SheetsError> {
        // One crypto provider for the whole process: ring (two would make rustls panic).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = yup_oauth2::read_service_account_key(&config.credentials_file).await.map_err(|err| {
            SheetsError::Setup(format!("cannot read credentials {}: {err}", config.credentials_file.display()))
        })?;
        let account = Arc::new(key.client_email.clone());
        let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
            .build()
            .await
            .map_err(|err| SheetsError::Setup(format!("cannot build the OAuth authenticator: {err}")))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|err| SheetsError::Setup(format!("cannot load the system CA roots: {err}")))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .pool_idle_timeout(IDLE_CONNECTION_REUSE)
            .build(connector);
        let mut hub = Sheets::new(client, auth);
        hub.base_url(config.api_base_url.clone());
        hub.root_url(config.api_base_url.clone());
        Ok(Self { hub: Arc::new(hub), config: Arc::new(config), requests: Arc::default(), account })
    }

    /// Rows a tab may have (`SheetsConfig::max_rows`).
    pub fn max_rows(&self) -> usize {
        self.config.max_rows
    }

    /// The service account Atlas acts as (an editor of every protected range it relies on).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// HTTP requests made so far (the API budget is per request).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Runs one call with a timeout. `repeatable` calls are retried on 5xx and timeouts with backoff and
    /// jitter; 429 is returned at once with Google's `Retry-After` (see the module doc).
    async fn call<T, F, Fut>(&self, what: &str, repeatable: bool, mut attempt: F) -> Result<T, SheetsError>
    where
        F: FnMut(RetryAfter) -> Fut,
        Fut: Future<Output = Result<T, google_sheets4::Error>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let retry_after = RetryAfter::default();
            let mut outcome =
                match tokio::time::timeout(self.config.request_timeout, attempt(retry_after.clone())).await {
                    Ok(Ok(value)) => return Ok(value),
                    Ok(Err(err)) => SheetsError::from_google(err),
                    Err(_) => SheetsError::Timeout(self.config.request_timeout),
                };
            if let SheetsError::Api { retry_after: slot, .. } = &mut outcome {
                *slot = retry_after.get();
            }
            let again = repeatable && outcome.is_transient() && outcome.quota().is_none();
            if !again || tries >= self.config.max_attempts {
                tracing::warn!(call = what, tries, error = %outcome, "Sheets call failed.");
                return Err(outcome);
            }
            // Doubling from the base, at most 64 times it, plus up to as much again at random.
            let backoff = Backoff::new(self.config.backoff_base, self.config.backoff_base * 64).with_jitter();
            tracing::info!(call = what, tries, error = %outcome, "Sheets call failed; retrying.");
            tokio::time::sleep(backoff.after(tries)).await;
        }
    }

    /// The tabs of the spreadsheet (spreadsheets.get).
    pub async fn sheets(&self) -> Result<Vec<SheetInfo>, SheetsError> {
        let id = self.config.spreadsheet_id.clone();
        let (_, spreadsheet) = self
            .call("spreadsheets.get", true, |mut retry| {
                let id = &id;
                async move {
                    let call = self.hub.spreadsheets().get(id).param("fields", STRUCTURE_FIELDS);
                    call.add_scope(Scope::Spreadsheet).delegate(&mut retry).doit().await
                }
            })
            .await?;
        Ok(spreadsheet
            .sheets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|sheet| {
                let mut info = super::grid::sheet_info(sheet.properties?);
                let descriptions = sheet.protected_ranges.unwrap_or_default().into_iter().filter_map(|p| p.description);
                info.guarded_as = descriptions
                    .filter_map(|d| d.split_once(super::structure::GUARD_RAIL_TAG).map(|(tab, _)| tab.to_owned()))
                    .find(|tab| super::contract::TABS.iter().any(|t| t.title == tab));
                Some(info)
            })
            .collect())
    }

    /// Reads whole tabs, their structure and their protections in one spreadsheets.get (a field mask
    /// selects `userEnteredValue`, so formulas come back as written), parsed lean (`lean.rs`: a cell costs
    /// its text). Tabs are returned in the order of `ranges`; a range naming a missing tab fails with 400
    /// "Unable to parse range".
    pub async fn read_grid(&self, ranges: &[String]) -> Result<Vec<super::grid::Grid>, SheetsError> {
        let mut params = google_sheets4::common::url::Params::with_capacity(ranges.len() + 2);
        params.push("fields", GRID_FIELDS);
        for range in ranges {
            params.push("ranges", range.as_str());
        }
        params.push("alt", "json");
        let base = format!("{}v4/spreadsheets/{}", self.config.api_base_url, self.config.spreadsheet_id);
        let url = params.parse_with_url(&base);
        let answer = self
            .call("spreadsheets.get", true, |mut retry| {
                let url = url.as_str().to_owned();
                async move { super::lean::get(&self.hub, &url, &mut retry).await }
            })
            .await?;
        super::lean::grids(&answer).map_err(SheetsError::Transport)
    }

    /// Structure changes and row deletions in one spreadsheets.batchUpdate, never repeated (see the
    /// module doc).
    pub async fn update_structure(&self, requests: Vec<Request>) -> Result<(), SheetsError> {
        self.update_with_reply(requests, None).await.map(drop)
    }

    /// One spreadsheets.batchUpdate, never repeated, whose reply carries the cells of `reply_range` as
    /// they are once the request applied (`includeSpreadsheetInResponse`; see `receipts.rs`). Rows come
    /// back as entered, trailing empty cells dropped.
    pub async fn update_with_reply(
        &self,
        requests: Vec<Request>,
        reply_range: Option<String>,
    ) -> Result<Vec<Vec<String>>, SheetsError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let with_reply = reply_range.is_some();
        let request = BatchUpdateSpreadsheetRequest {
            requests: Some(requests),
            include_spreadsheet_in_response: Some(with_reply),
            response_include_grid_data: Some(with_reply),
            response_ranges: reply_range.map(|range| vec![range]),
        };
        let id = self.config.spreadsheet_id.clone();
        let (_, reply) = self
            .call("spreadsheets.batchUpdate", false, |mut retry| {
                let (id, request) = (&id, request.clone());
                async move {
                    let call = self.hub.spreadsheets().batch_update(request, id);
                    call.add_scope(Scope::Spreadsheet).delegate(&mut retry).doit().await
                }
            })
            .await?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let sheets = reply.updated_spreadsheet.and_then(|s| s.sheets).unwrap_or_default();
        for data in sheets.into_iter().flat_map(|sheet| sheet.data.unwrap_or_default()) {
            let start = data.start_row.unwrap_or(0).max(0) as usize;
            for (i, row) in data.row_data.unwrap_or_default().into_iter().enumerate() {
                let mut cells: Vec<String> = row
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(|cell| super::grid::entered(cell.user_entered_value.as_ref()))
                    .collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                if rows.len() <= start + i {
                    rows.resize(start + i + 1, Vec::new());
                }
                rows[start + i] = cells;
            }
        }
        Ok(rows)
    }
}
