//! What each message says. Text that came from a record (a summary, an error) is clipped here and
//! escaped by each format (`alerts/messages.rs`); a link is built only from Atlas's public address, ids
//! and a signed link, never from a record's text.

use super::feed::News;
use super::links::Claim;
use super::{Kind, LinkSettings, NotifyConfig};
use crate::alerts::messages::Message;
use crate::domain::command::Decision;
use serde_json::{json, Value};

/// A record's text on one line of at most `ECHO_CHARS` characters: a newline in it forges no line.
fn line(text: &str) -> String {
    crate::domain::text::cut(&text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>())
}

fn field<'a>(record: &'a Value, name: &str) -> &'a str {
    record.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The path of a record's console page.
fn page_path(kind: Kind, record: &Value) -> String {
    let id = field(record, "id");
    match kind {
        Kind::RunFailed => format!("/console/runs/{id}"),
        Kind::CriticalError => format!("/console/errors/{id}"),
        _ => format!("/console/approvals/{id}"),
    }
}

/// An approval's lines: what, who asked, how many approvals it needs.
fn approval_detail(record: &Value) -> String {
    let reviews = record.get("required_reviews").and_then(Value::as_u64).unwrap_or(1);
    let needs = if reviews > 1 { format!("; it needs {reviews} approvals") } else { String::new() };
    format!(
        "{}\nrequested by {} at {}{needs}",
        line(field(record, "summary")),
        field(record, "requested_by"),
        field(record, "requested_at")
    )
}

/// A message for a shared channel: no decision links, the console's page (which asks for a sign-in).
pub fn for_channel(news: &News, config: &NotifyConfig, host: &str) -> Message {
    let record = &news.record;
    let id = field(record, "id").to_owned();
    let (headline, detail) = match news.kind {
        Kind::ApprovalRequested | Kind::ApprovalReminder => {
            (format!("[Atlas] Approval {id} waits for a decision"), approval_detail(record))
        }
        Kind::ApprovalDecided => {
            let status = field(record, "status");
            let via = news.via.as_deref().map(|v| format!(" (via {})", line(v))).unwrap_or_default();
            (
                format!("[Atlas] Approval {id} {status} by {}", news.actor),
                format!("{}{via}\nrequested by {}", line(field(record, "summary")), field(record, "requested_by")),
            )
        }
        Kind::RunFailed => {
            let exit =
                record.get("exit_code").and_then(Value::as_i64).map(|c| format!(", exit code {c}")).unwrap_or_default();
            let command: Vec<&str> = record
                .get("command")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (
                format!("[Atlas] Run {id} {}", field(record, "status").replace('_', " ")),
                format!("task {}{exit}\n{}", field(record, "task_id"), line(&command.join(" "))),
            )
        }
        Kind::CriticalError | Kind::Alert => (
            format!("[Atlas] Critical error {id}"),
            format!("{}\nfrom {}", line(field(record, "error")), field(record, "source")),
        ),
    };
    let actions = config.page(&page_path(news.kind, record)).map(|url| vec![("Open in Atlas".to_owned(), url)]);
    Message {
        key: id.clone(),
        headline,
        detail,
        context: format!("{} · {host}", news.at),
        actions: actions.unwrap_or_default(),
        json: json!({
            "event": news.kind.as_str(),
            "event_type": news.event_type,
            "id": id,
            "actor": news.actor,
            "at": news.at,
            "host": host,
        }),
        message_id: None,
    }
}

/// A reviewer's own e-mail: the approval, and links that let this reviewer approve or reject it.
pub fn for_reviewer(
    kind: Kind,
    record: &Value,
    (reviewer, token_hash): (&str, &str),
    links: &LinkSettings,
    key: &super::links::LinkKey,
    now: chrono::DateTime<chrono::Utc>,
    host: &str,
) -> Message {
    let id = field(record, "id").to_owned();
    let expires = now + links.ttl;
    let link = |decision| {
        let signed = Claim::new(&id, reviewer, token_hash, decision, expires.timestamp()).sign(key);
        format!("{}/console/link/{signed}", links.public_url)
    };
    let again = if kind == Kind::ApprovalReminder { "still " } else { "" };
    Message {
        key: id.clone(),
        headline: format!("[Atlas] Approval {id} {again}waits for your decision"),
        detail: approval_detail(record),
        context: format!(
            "These links are for {reviewer} only; each opens a page to confirm, works once and until {} · {host}",
            crate::domain::format_timestamp(expires)
        ),
        actions: vec![
            ("Approve".to_owned(), link(Decision::Approve)),
            ("Reject".to_owned(), link(Decision::Reject)),
            ("Open in Atlas".to_owned(), format!("{}/console/approvals/{id}", links.public_url)),
        ],
        json: json!({ "event": kind.as_str(), "id": id, "reviewer": reviewer, "host": host }),
        message_id: None,
    }
}
