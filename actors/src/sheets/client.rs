//! The Google Sheets client: google-sheets4 over hyper-rustls (ring only), a service-account key whose
//! `token_uri` is honoured, a timeout on every call (the crate has none) and retries with exponential
//! backoff and jitter for 429, 5xx and timeouts (at most `max_attempts` per call; other 4xx are final).

use google_sheets4::api::{BatchUpdateSpreadsheetRequest, BatchUpdateValuesRequest, Request, Scope, ValueRange};
use google_sheets4::Sheets;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rand::Rng;
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
    /// First backoff delay; doubled per attempt, plus up to 50% jitter.
    pub backoff_base: Duration,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SheetsError {
    #[error("cannot set up the Sheets client: {0}")]
    Setup(String),
    #[error("Google Sheets answered {code} {status}: {message}")]
    Api { code: u16, status: String, message: String },
    #[error("Google Sheets did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach Google Sheets: {0}")]
    Transport(String),
}

impl SheetsError {
    /// 429, 5xx, timeouts and transport failures may succeed on a later attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { code, .. } => *code == 429 || *code >= 500,
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Setup(_) => false,
        }
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
        }
    }

    fn from_google(err: google_sheets4::Error) -> Self {
        match err {
            google_sheets4::Error::BadRequest(body) => Self::from_body(&body),
            google_sheets4::Error::Failure(response) => Self::Api {
                code: response.status().as_u16(),
                status: response.status().canonical_reason().unwrap_or("").to_owned(),
                message: "no JSON body".into(),
            },
            google_sheets4::Error::HttpError(err) => Self::Transport(err.to_string()),
            other => Self::Transport(other.to_string()),
        }
    }

    fn from_body(body: &Value) -> Self {
        let error = &body["error"];
        Self::Api {
            code: error["code"].as_u64().unwrap_or(0) as u16,
            status: error["status"].as_str().unwrap_or("").to_owned(),
            message: error["message"].as_str().unwrap_or("no message").to_owned(),
        }
    }
}

/// A tab as the spreadsheet describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetInfo {
    pub title: String,
    pub sheet_id: i32,
    pub row_count: i32,
}

type Hub = Sheets<HttpsConnector<HttpConnector>>;

/// Cheap to clone; counts every HTTP request it makes (retries included).
#[derive(Clone)]
pub struct SheetsClient {
    hub: Arc<Hub>,
    config: Arc<SheetsConfig>,
    requests: Arc<AtomicU64>,
}

impl SheetsClient {
    pub async fn connect(config: SheetsConfig) -> Result<Self, SheetsError> {
        // One crypto provider for the whole process: ring (two would make rustls panic).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = yup_oauth2::read_service_account_key(&config.credentials_file).await.map_err(|err| {
            SheetsError::Setup(format!("cannot read credentials {}: {err}", config.credentials_file.display()))
        })?;
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
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        let mut hub = Sheets::new(client, auth);
        hub.base_url(config.api_base_url.clone());
        hub.root_url(config.api_base_url.clone());
        Ok(Self { hub: Arc::new(hub), config: Arc::new(config), requests: Arc::default() })
    }

    /// HTTP requests made so far (the API budget is per request).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Runs one call with a timeout, retrying transient failures with backoff and jitter.
    async fn call<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, SheetsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, google_sheets4::Error>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match tokio::time::timeout(self.config.request_timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => SheetsError::from_google(err),
                Err(_) => SheetsError::Timeout(self.config.request_timeout),
            };
            if !outcome.is_transient() || tries >= self.config.max_attempts {
                tracing::warn!(call = what, tries, error = %outcome, "Sheets call failed.");
                return Err(outcome);
            }
            let base = self.config.backoff_base * 2u32.pow(tries - 1);
            let jitter = base.mul_f64(rand::rng().random_range(0.0..0.5));
            tracing::info!(call = what, tries, error = %outcome, "Sheets call failed; retrying.");
            tokio::time::sleep(base + jitter).await;
        }
    }

    /// The tabs of the spreadsheet (spreadsheets.get).
    pub async fn sheets(&self) -> Result<Vec<SheetInfo>, SheetsError> {
        let id = self.config.spreadsheet_id.clone();
        let (_, spreadsheet) = self
            .call("spreadsheets.get", || self.hub.spreadsheets().get(&id).add_scope(Scope::Spreadsheet).doit())
            .await?;
        Ok(spreadsheet
            .sheets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|sheet| {
                let props = sheet.properties?;
                Some(SheetInfo {
                    title: props.title.unwrap_or_default(),
                    sheet_id: props.sheet_id.unwrap_or_default(),
                    row_count: props.grid_properties.and_then(|g| g.row_count).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Reads ranges in one values.batchGet with formulas shown as written (FORMULA render option).
    pub async fn read(&self, ranges: &[String]) -> Result<Vec<Vec<Vec<String>>>, SheetsError> {
        let id = self.config.spreadsheet_id.clone();
        let (_, response) = self
            .call("values.batchGet", || {
                let mut call = self
                    .hub
                    .spreadsheets()
                    .values_batch_get(&id)
                    .value_render_option("FORMULA")
                    .add_scope(Scope::Spreadsheet);
                for range in ranges {
                    call = call.add_ranges(range);
                }
                call.doit()
            })
            .await?;
        Ok(response
            .value_ranges
            .unwrap_or_default()
            .into_iter()
            .map(|range| {
                range
                    .values
                    .unwrap_or_default()
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|cell| cell.as_str().map_or_else(|| cell.to_string(), str::to_owned))
                            .collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// Writes cells in one values.batchUpdate with the RAW input option (nothing becomes a formula).
    pub async fn write(&self, data: Vec<(String, Vec<Vec<String>>)>) -> Result<(), SheetsError> {
        if data.is_empty() {
            return Ok(());
        }
        let request = BatchUpdateValuesRequest {
            value_input_option: Some("RAW".into()),
            data: Some(
                data.into_iter()
                    .map(|(range, rows)| ValueRange {
                        range: Some(range),
                        major_dimension: Some("ROWS".into()),
                        values: Some(rows.into_iter().map(|r| r.into_iter().map(Value::String).collect()).collect()),
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let id = self.config.spreadsheet_id.clone();
        self.call("values.batchUpdate", || {
            self.hub.spreadsheets().values_batch_update(request.clone(), &id).add_scope(Scope::Spreadsheet).doit()
        })
        .await
        .map(drop)
    }

    /// Structure changes and row deletions in one spreadsheets.batchUpdate.
    pub async fn update_structure(&self, requests: Vec<Request>) -> Result<(), SheetsError> {
        if requests.is_empty() {
            return Ok(());
        }
        let request = BatchUpdateSpreadsheetRequest { requests: Some(requests), ..Default::default() };
        let id = self.config.spreadsheet_id.clone();
        self.call("spreadsheets.batchUpdate", || {
            self.hub.spreadsheets().batch_update(request.clone(), &id).add_scope(Scope::Spreadsheet).doit()
        })
        .await
        .map(drop)
    }
}
