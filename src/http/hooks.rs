//! `/api/v1/hooks/alertmanager`: Prometheus Alertmanager's webhook (payload version 4), with an agent's
//! token (`http_config.authorization` in Alertmanager's `webhook_config`). Each alert is one
//! `ReceiveAlert` command through the writer: a firing alert opens the hotlist entry of its fingerprint or
//! updates the open one (a repeat never duplicates), a resolved one resolves it with a note; severity from
//! a label (`[alertmanager]`). A failure answers 5xx, so Alertmanager sends the group again, which repeats
//! nothing: every step is keyed by the fingerprint.

use super::auth::{Auth, Change};
use super::dto::ErrorBody;
use super::error::ApiError;
use super::extract::ApiJson;
use super::AppState;
use actix_web::{post, web, HttpResponse};
use atlas_actors::domain::command::ReceivedAlert;
use atlas_actors::domain::text::clip;
use atlas_actors::domain::{Applied, Command, CommandError, ErrorId};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The source the hotlist names for these entries.
const SOURCE: &str = "alertmanager";
/// The longest entry text kept from an alert's name and summary.
const MAX_ERROR_CHARS: usize = 1_000;

/// Alertmanager's webhook body (version 4); fields it may add later are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertmanagerBody {
    /// `"4"`.
    pub version: String,
    pub alerts: Vec<AlertmanagerAlert>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertmanagerAlert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "endsAt", default)]
    pub ends_at: Option<String>,
    /// Alertmanager's identity of the alert (its label set); derived from the labels when absent.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

impl AlertmanagerAlert {
    /// The alert's key: Alertmanager's fingerprint, or (older senders) a hash of its sorted labels.
    fn key(&self) -> String {
        match self.fingerprint.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(given) => given.trim().to_owned(),
            None => ReceivedAlert::fingerprint_of(&self.labels),
        }
    }

    /// What the hotlist entry says: `<alertname>: <summary>` (or the description, or the labels).
    fn text(&self) -> String {
        let readable = |text: &str| text.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned();
        let name = self.labels.get("alertname").map(|n| readable(n)).filter(|n| !n.is_empty());
        let name = name.unwrap_or_else(|| "alert".to_owned());
        // An empty summary does not hide a description.
        let given = |key: &str| self.annotations.get(key).filter(|text| !readable(text).is_empty()).cloned();
        let detail = given("summary").or_else(|| given("description"));
        let detail = detail.unwrap_or_else(|| {
            let labels: Vec<String> =
                self.labels.iter().filter(|(k, _)| *k != "alertname").map(|(k, v)| format!("{k}={v}")).collect();
            labels.join(", ")
        });
        let text = if detail.trim().is_empty() { name.to_owned() } else { format!("{name}: {detail}") };
        text.chars().filter(|c| !c.is_control() || *c == '\n').take(MAX_ERROR_CHARS).collect()
    }
}

/// Takes one Alertmanager notification: `{"firing": n, "resolved": n, "ignored": n}` (ignored: a
/// resolution for an alert with no open entry). 400 names the field at fault; nothing of a refused
/// body is applied.
#[utoipa::path(tag = "errors", request_body = AlertmanagerBody, responses(
    (status = 200, description = "{firing, resolved, ignored}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/hooks/alertmanager")]
pub async fn alertmanager(
    state: web::Data<AppState>,
    auth: Auth<Change>,
    body: ApiJson<AlertmanagerBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    if body.version != "4" {
        let version = clip(&body.version);
        return Err(ApiError::bad_request(format!("version: {version} is not 4, the payload this hook reads")));
    }
    let mut commands = Vec::with_capacity(body.alerts.len());
    for (i, alert) in body.alerts.iter().enumerate() {
        let firing = match alert.status.as_str() {
            "firing" => true,
            "resolved" => false,
            other => {
                let other = clip(other);
                return Err(ApiError::bad_request(format!(
                    "alerts[{i}].status: {other} is neither firing nor resolved"
                )));
            }
        };
        // Alertmanager writes RFC 3339; what is kept is Atlas's own form of it, and anything else is left
        // out of the note (never stored as sent).
        let ended_at = alert.ends_at.as_deref().and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok());
        let label = alert.labels.get(&state.alertmanager.severity_label).map(String::as_str);
        let received = ReceivedAlert {
            id: ErrorId::generate(),
            source: SOURCE.into(),
            fingerprint: alert.key(),
            firing,
            error: alert.text(),
            severity: state.alertmanager.severity(label),
            ended_at: ended_at
                .filter(|_| !firing)
                .map(|at| atlas_actors::domain::format_timestamp(at.with_timezone(&chrono::Utc))),
        };
        let command = Command::ReceiveAlert(received);
        command.validate().map_err(|err| match err {
            CommandError::Invalid { field, message } => {
                ApiError::bad_request(format!("alerts[{i}].{field}: {message}"))
            }
            other => ApiError::from(other),
        })?;
        commands.push(command);
    }
    let (mut firing, mut resolved, mut ignored) = (0, 0, 0);
    for command in commands {
        let was_firing = matches!(&command, Command::ReceiveAlert(a) if a.firing);
        match state.handles.writer.submit(command, auth.caller.actor()).await {
            Ok(outcome) if matches!(outcome.applied, Applied::Error(_)) && was_firing => firing += 1,
            Ok(_) => resolved += 1,
            Err(CommandError::NotFound { .. }) => ignored += 1,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "firing": firing, "resolved": resolved, "ignored": ignored })))
}
