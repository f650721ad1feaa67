//! Request extractors that turn every malformed input into a 400 naming the field: JSON bodies go through
//! serde_path_to_error, query strings are read as text and parsed field by field by the handlers.

use super::error::ApiError;
use super::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use atlas_actors::domain::text::{clip, cut};
use atlas_actors::store::queries::{Cursor, PageRequest, MAX_PAGE};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

/// A JSON body. An empty body reads as `{}` so optional-only bodies may be left out.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>();
        let limit = state.map_or(65_536, |state| state.max_body_bytes);
        let timeout = state.map_or(std::time::Duration::from_secs(30), |state| state.body_timeout);
        let content_type =
            req.headers().get(actix_web::http::header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?").to_owned());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = tokio::time::timeout(timeout, body)
                .await
                .map_err(|_| {
                    ApiError::new(
                        actix_web::http::StatusCode::REQUEST_TIMEOUT,
                        "timeout",
                        format!("the request body did not arrive within {} s (http.body_timeout_s)", timeout.as_secs()),
                    )
                })?
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "the request body is larger than the limit of {limit} bytes (http.max_body_bytes)"
                    ))
                })?;
            if bytes.len() > limit {
                return Err(ApiError::bad_request(format!(
                    "the request body is larger than the limit of {limit} bytes (http.max_body_bytes)"
                )));
            }
            if let Some(kind) = content_type.filter(|_| !bytes.is_empty()) {
                if !kind.starts_with("application/json") {
                    return Err(ApiError::bad_request(format!(
                        "Content-Type must be application/json, got {}",
                        clip(&kind)
                    )));
                }
            }
            let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
            let mut deserializer = serde_json::Deserializer::from_slice(text);
            let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                // Both quote what was sent (a key in the path, a value in the message): clipped.
                let inner = cut(&inner.to_string());
                if path == "." {
                    ApiError::bad_request(format!("invalid JSON body: {inner}"))
                } else {
                    ApiError::bad_request(format!("invalid field {}: {inner}", cut(&path)))
                }
            })?;
            deserializer.end().map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?;
            Ok(Self(value))
        })
    }
}

/// A query string into a struct of optional text fields; unknown and repeated parameters are refused.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_urlencoded::from_str(req.query_string())
                .map(Self)
                .map_err(|err| ApiError::bad_request(format!("invalid query string: {err}"))),
        )
    }
}

/// Parses an optional text parameter, naming it on error.
pub fn parse_opt<T: FromStr<Err = String>>(field: &str, raw: Option<&str>) -> Result<Option<T>, ApiError> {
    raw.map(|text| text.parse::<T>().map_err(|err| ApiError::bad_request(format!("invalid {field}: {err}"))))
        .transpose()
}

/// `sort`: `newest` (the default) or `severity` (critical first, then newest).
pub fn parse_error_sort(sort: Option<&str>) -> Result<bool, ApiError> {
    match sort {
        None | Some("") | Some("newest") => Ok(false),
        Some("severity") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!("sort: {other:?} is neither newest nor severity"))),
    }
}

/// A status filter where `all` (as the console's filters offer) means none.
pub fn parse_status<T: FromStr<Err = String>>(raw: Option<&str>) -> Result<Option<T>, ApiError> {
    parse_opt("status", raw.filter(|status| *status != "all"))
}

/// Parses an id in a path or a field, naming it on error.
pub fn parse_id<T>(field: &str, raw: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, ApiError> {
    parse(raw).map_err(|err| ApiError::bad_request(format!("invalid {field}: {err}")))
}

/// `limit` (1..=500, default 50) and `cursor` (from a previous page's `next_cursor`).
pub fn page(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => 50,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid limit: must be a whole number from 1 to {MAX_PAGE}, got {}",
                    clip(text)
                )))
            }
        },
    };
    let after = cursor
        .map(|raw| Cursor::decode(raw).map_err(|err| ApiError::bad_request(format!("invalid cursor: {err}"))))
        .transpose()?;
    Ok(PageRequest { limit, after })
}

/// `true`/`false` query flags.
pub fn parse_bool(field: &str, raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => {
            Err(ApiError::bad_request(format!("invalid {field}: must be true or false, got {}", clip(other))))
        }
    }
}
