//! A notice as each target expects it, so it reads as a native message there: Atlas's own JSON, Slack's
//! plain `{"text"}` (Mattermost and Rocket.Chat take it too), Slack Block Kit, an Adaptive Card inside the
//! envelope a Microsoft Teams Workflows webhook takes (the Office 365 connectors are retired), a Google
//! Chat card (`cardsV2`), and an e-mail's HTML part beside its text. Text from Atlas's records is escaped
//! for each format: Slack's `&`, `<`, `>`; HTML's in Google Chat and e-mail.

use super::Notice;
use serde_json::{json, Value};

/// How a webhook channel shapes its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookStyle {
    /// `{"alert", "status", "detail", "since", "host", "summary"}`.
    Json,
    /// `{"text"}`.
    SlackText,
    /// Slack Block Kit: a header, the detail, and when it started (with `text` as the notification's).
    SlackBlocks,
    /// A Teams Workflows webhook: `{"type": "message", "attachments": [an Adaptive Card]}`.
    Teams,
    /// A Google Chat webhook: `{"text", "cardsV2": [a card]}`.
    GoogleChat,
}

/// The parts every format is made of.
struct Parts {
    headline: String,
    detail: String,
    since: String,
}

fn parts(notice: &Notice, host: &str) -> Parts {
    Parts {
        headline: super::channels::headline(notice, host),
        detail: notice.detail.clone(),
        since: crate::domain::format_timestamp(notice.since),
    }
}

/// Slack's escaping of `&`, `<` and `>` (its only control characters in text).
fn slack_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// HTML's escaping, for Google Chat's card text and an e-mail's HTML part.
pub fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Slack's limits: a header's text at most 150 characters, a section's at most 3,000.
fn clipped(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(most - 1).collect();
    kept.push('…');
    kept
}

/// The webhook body of a notice in `style`.
pub fn webhook_body(style: WebhookStyle, notice: &Notice, host: &str) -> Value {
    let p = parts(notice, host);
    let plain = format!("{}\n{}\nsince {}", p.headline, p.detail, p.since);
    match style {
        WebhookStyle::Json => json!({
            "alert": notice.key,
            "status": notice.kind.label().to_lowercase(),
            "detail": p.detail,
            "since": p.since,
            "host": host,
            "summary": p.headline,
        }),
        WebhookStyle::SlackText => json!({ "text": plain }),
        WebhookStyle::SlackBlocks => json!({
            "text": slack_escaped(&clipped(&p.headline, 3000)),
            "blocks": [
                { "type": "header", "text": { "type": "plain_text", "text": clipped(&p.headline, 150) } },
                { "type": "section", "text": { "type": "mrkdwn", "text": slack_escaped(&clipped(&p.detail, 3000)) } },
                { "type": "context", "elements": [
                    { "type": "mrkdwn", "text": slack_escaped(&format!("since {} · {host}", p.since)) }
                ] }
            ]
        }),
        WebhookStyle::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        { "type": "TextBlock", "text": p.headline, "weight": "Bolder", "size": "Medium", "wrap": true },
                        { "type": "TextBlock", "text": p.detail, "wrap": true },
                        { "type": "TextBlock", "text": format!("since {}", p.since), "isSubtle": true, "wrap": true }
                    ]
                }
            }]
        }),
        WebhookStyle::GoogleChat => json!({
            "text": p.headline,
            "cardsV2": [{
                "cardId": format!("atlas-{}", notice.key.chars().filter(char::is_ascii_alphanumeric).take(60).collect::<String>()),
                "card": {
                    "header": { "title": p.headline, "subtitle": format!("since {}", p.since) },
                    "sections": [{ "widgets": [{ "textParagraph": { "text": html_escaped(&p.detail) } }] }]
                }
            }]
        }),
    }
}

/// An e-mail's HTML part: the headline, the detail (its lines kept) and when it started.
pub fn email_html(notice: &Notice, host: &str) -> String {
    let p = parts(notice, host);
    format!(
        "<!doctype html><html><body><h2>{}</h2><p style=\"white-space: pre-wrap\">{}</p><p><small>since {}</small></p></body></html>",
        html_escaped(&p.headline),
        html_escaped(&p.detail),
        html_escaped(&p.since)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Kind;

    fn notice() -> Notice {
        Notice {
            key: "approval_pending:apr-1".into(),
            kind: Kind::Firing,
            detail: "Deploy <b>&</b> \"now\"".into(),
            since: chrono::DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z").unwrap().with_timezone(&chrono::Utc),
        }
    }

    /// Block Kit as Slack documents it: `text` (the notification), `blocks` of `header` (plain_text, at
    /// most 150 characters), `section` (mrkdwn) and `context`; Slack's three characters escaped.
    #[test]
    fn slack_blocks_follow_block_kit() {
        let body = webhook_body(WebhookStyle::SlackBlocks, &notice(), "vm-1");
        let types: Vec<&str> = body["blocks"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "context"]);
        assert_eq!(body["blocks"][0]["text"]["type"], "plain_text");
        assert!(body["blocks"][0]["text"]["text"].as_str().unwrap().chars().count() <= 150);
        assert_eq!(
            body["blocks"][1]["text"],
            json!({ "type": "mrkdwn", "text": "Deploy &lt;b&gt;&amp;&lt;/b&gt; \"now\"" })
        );
        assert!(body["text"].as_str().unwrap().starts_with("[Atlas FIRING]"));
        let long = Notice { key: "k".repeat(400), ..notice() };
        let body = webhook_body(WebhookStyle::SlackBlocks, &long, "vm-1");
        assert_eq!(body["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
    }

    /// What a Teams Workflows webhook takes: a `message` whose attachment is an Adaptive Card.
    #[test]
    fn teams_gets_an_adaptive_card_in_the_workflows_envelope() {
        let body = webhook_body(WebhookStyle::Teams, &notice(), "vm-1");
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachment["content"];
        assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
        assert!(card["body"].as_array().unwrap().iter().all(|b| b["type"] == "TextBlock" && b["wrap"] == true));
        assert_eq!(card["body"][1]["text"], "Deploy <b>&</b> \"now\"", "TextBlock text is not HTML");
    }

    /// Google Chat's `cardsV2`: a card id, a header, sections of widgets; text paragraphs are HTML.
    #[test]
    fn google_chat_gets_a_cards_v2_card() {
        let body = webhook_body(WebhookStyle::GoogleChat, &notice(), "vm-1");
        let card = &body["cardsV2"][0];
        assert_eq!(card["cardId"], "atlas-approvalpendingapr1");
        assert!(card["card"]["header"]["title"].as_str().unwrap().starts_with("[Atlas FIRING]"));
        assert_eq!(
            card["card"]["sections"][0]["widgets"][0]["textParagraph"]["text"],
            "Deploy &lt;b&gt;&amp;&lt;/b&gt; &quot;now&quot;"
        );
        assert!(body["text"].is_string(), "a text for notifications");
    }

    #[test]
    fn an_emails_html_part_escapes_the_records_text() {
        let html = email_html(&notice(), "vm-1");
        assert!(html.contains("Deploy &lt;b&gt;&amp;&lt;/b&gt; &quot;now&quot;") && !html.contains("<b>&"), "{html}");
    }
}
