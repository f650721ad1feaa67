//! One error type for every route, mapped to a status in one place. The body is always
//! `{"error": {"code": "...", "message": "..."}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use atlas_actors::backup::BackupError;
use atlas_actors::domain::CommandError;
use serde_json::json;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (overload: the caller should come back, not give up).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// A read that found every pooled connection busy for the whole bounded wait.
    pub fn busy(message: impl Into<String>) -> Self {
        Self { retry_after: Some(1), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message) }
    }

    /// A failed read: overload (503 `busy`, `Retry-After`), or the store down (503).
    pub fn from_read(err: atlas_actors::store::ReadError) -> Self {
        match err {
            atlas_actors::store::ReadError::Pool(_) => Self::busy(format!(
                "Atlas is busy: every read connection stayed in use for the whole wait; retry shortly ({err})"
            )),
            atlas_actors::store::ReadError::Restoring => Self {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "restoring", err.to_string())
            },
            other => Self::unavailable(other.to_string()),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(json!({ "error": { "code": self.code, "message": self.message } }))
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        let status = match &err {
            CommandError::NotFound { .. } => StatusCode::NOT_FOUND,
            CommandError::Conflict(_) => StatusCode::CONFLICT,
            CommandError::Forbidden(_) => StatusCode::FORBIDDEN,
            CommandError::Invalid { .. } => StatusCode::BAD_REQUEST,
            CommandError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CommandError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            CommandError::StorageFault(_) => StatusCode::SERVICE_UNAVAILABLE,
            CommandError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CommandError::Restoring(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let retry_after = matches!(err, CommandError::Restoring(_)).then_some(1);
        Self { retry_after, ..Self::new(status, err.kind(), err.to_string()) }
    }
}

impl From<BackupError> for ApiError {
    fn from(err: BackupError) -> Self {
        let (status, code) = match &err {
            BackupError::BadId(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            BackupError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            BackupError::Refused(_) => (StatusCode::CONFLICT, "conflict"),
            // As a write on a full disk answers, so a client treats both alike.
            BackupError::StorageFull(_) => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            BackupError::Offsite(_) | BackupError::Failed(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        Self::new(status, code, String::from(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_errors_map_to_their_statuses() {
        let cases = [
            (CommandError::not_found("task", "task-1"), 404, "not_found"),
            (CommandError::Conflict("stale".into()), 409, "conflict"),
            (CommandError::invalid("title", "must not be empty"), 400, "invalid"),
            (CommandError::Forbidden("own request".into()), 403, "forbidden"),
            (CommandError::Unavailable("restarting".into()), 503, "unavailable"),
            (CommandError::Storage("constraint".into()), 500, "storage"),
            (CommandError::StorageFull("disk full".into()), 507, "storage_full"),
            (CommandError::StorageFault("disk I/O error".into()), 503, "storage_fault"),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!((api.status.as_u16(), api.code), (status, code));
        }
    }

    #[test]
    fn the_message_names_the_field() {
        let api = ApiError::from(CommandError::invalid("title", "must not be empty"));
        assert_eq!(api.message, "invalid title: must not be empty");
    }

    #[test]
    fn backup_errors_map_to_their_statuses_by_kind_not_wording() {
        // The same words under every kind: only the kind picks the status.
        let said = || "backup b-1 not found: failed verification, No space left on device".to_owned();
        let cases = [
            (BackupError::BadId(said()), 400),
            (BackupError::NotFound(said()), 404),
            (BackupError::Refused(said()), 409),
            (BackupError::StorageFull(said()), 507),
            (BackupError::Offsite(said()), 503),
            (BackupError::Failed(said()), 503),
        ];
        for (err, status) in cases {
            let api = ApiError::from(err.clone());
            assert_eq!((api.status.as_u16(), api.message.as_str()), (status, said().as_str()), "{err:?}");
        }
    }
}
