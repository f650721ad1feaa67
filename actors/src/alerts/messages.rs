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

/// One message, whatever it tells (an alert, an approval waiting, a run that failed), in the parts every
/// format is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// What it is about (an alert's key, an approval's id): a Google Chat card's id.
    pub key: String,
    /// The one line: an e-mail's subject, a card's title.
    pub headline: String,
    pub detail: String,
    /// The small print: since when, who asked, the host.
    pub context: String,
    /// Buttons, as (label, URL): the console's page, or a reviewer's own decision links.
    pub actions: Vec<(String, String)>,
    /// Atlas's own JSON form (`WebhookStyle::Json`).
    pub json: Value,
    /// An e-mail's `Message-ID`, the same on every try of the same news to the same recipient, so a mail
    /// system can drop the copy a timed-out try left behind. `None`: the mail library makes one.
    pub message_id: Option<String>,
}

impl Message {
    /// An alert's notice.
    pub fn of_notice(notice: &Notice, host: &str) -> Self {
        let headline = super::channels::headline(notice, host);
        let since = crate::domain::format_timestamp(notice.since);
        Self {
            key: notice.key.clone(),
            json: json!({
                "alert": notice.key,
                "status": notice.kind.label().to_lowercase(),
                "detail": notice.detail,
                "since": since,
                "host": host,
                "summary": headline,
            }),
            headline,
            detail: notice.detail.clone(),
            context: format!("since {since} · {host}"),
            actions: Vec::new(),
            message_id: None,
        }
    }

    /// The plain text form (Slack's `{"text"}`, Telegram, an e-mail's text part).
    pub fn plain(&self) -> String {
        let mut text = format!("{}\n{}\n{}", self.headline, self.detail, self.context);
        for (label, url) in &self.actions {
            text.push_str(&format!("\n{label}: {url}"));
        }
        text
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

/// The webhook body of a message in `style`. Buttons are links (Block Kit `button` with `url`, Teams
/// `Action.OpenUrl`, Google Chat `openLink`): none needs the service to call Atlas back.
pub fn webhook_body(style: WebhookStyle, m: &Message) -> Value {
    match style {
        WebhookStyle::Json => {
            let mut body = m.json.clone();
            if !m.actions.is_empty() {
                body["links"] = m.actions.iter().map(|(label, url)| json!({ "label": label, "url": url })).collect();
            }
            body
        }
        WebhookStyle::SlackText => json!({ "text": m.plain() }),
        WebhookStyle::SlackBlocks => {
            let mut blocks = vec![
                json!({ "type": "header", "text": { "type": "plain_text", "text": clipped(&m.headline, 150) } }),
                json!({ "type": "section", "text": { "type": "mrkdwn", "text": slack_escaped(&clipped(&m.detail, 3000)) } }),
                json!({ "type": "context", "elements": [
                    { "type": "mrkdwn", "text": slack_escaped(&clipped(&m.context, 3000)) }
                ] }),
            ];
            if !m.actions.is_empty() {
                let buttons: Vec<Value> = m
                    .actions
                    .iter()
                    .take(25)
                    .map(|(label, url)| {
                        json!({ "type": "button", "text": { "type": "plain_text", "text": clipped(label, 75) }, "url": url })
                    })
                    .collect();
                blocks.push(json!({ "type": "actions", "elements": buttons }));
            }
            json!({ "text": slack_escaped(&clipped(&m.headline, 3000)), "blocks": blocks })
        }
        WebhookStyle::Teams => {
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    { "type": "TextBlock", "text": m.headline, "weight": "Bolder", "size": "Medium", "wrap": true },
                    { "type": "TextBlock", "text": m.detail, "wrap": true },
                    { "type": "TextBlock", "text": m.context, "isSubtle": true, "wrap": true }
                ]
            });
            if !m.actions.is_empty() {
                card["actions"] = m
                    .actions
                    .iter()
                    .map(|(label, url)| json!({ "type": "Action.OpenUrl", "title": label, "url": url }))
                    .collect();
            }
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": card
                }]
            })
        }
        WebhookStyle::GoogleChat => {
            let mut widgets = vec![json!({ "textParagraph": { "text": html_escaped(&m.detail) } })];
            if !m.actions.is_empty() {
                let buttons: Vec<Value> = m
                    .actions
                    .iter()
                    .map(|(label, url)| json!({ "text": label, "onClick": { "openLink": { "url": url } } }))
                    .collect();
                widgets.push(json!({ "buttonList": { "buttons": buttons } }));
            }
            json!({
                "text": m.headline,
                "cardsV2": [{
                    "cardId": format!("atlas-{}", m.key.chars().filter(char::is_ascii_alphanumeric).take(60).collect::<String>()),
                    "card": {
                        "header": { "title": m.headline, "subtitle": m.context },
                        "sections": [{ "widgets": widgets }]
                    }
                }]
            })
        }
    }
}

/// An e-mail's HTML part: the headline, the detail (its lines kept), the small print and the links.
pub fn email_html(m: &Message) -> String {
    let links: String = m
        .actions
        .iter()
        .map(|(label, url)| format!("<p><a href=\"{}\">{}</a></p>", html_escaped(url), html_escaped(label)))
        .collect();
    format!(
        "<!doctype html><html><body><h2>{}</h2><p style=\"white-space: pre-wrap\">{}</p><p><small>{}</small></p>{links}</body></html>",
        html_escaped(&m.headline),
        html_escaped(&m.detail),
        html_escaped(&m.context)
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
        let body = webhook_body(WebhookStyle::SlackBlocks, &Message::of_notice(&notice(), "vm-1"));
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
        let body = webhook_body(WebhookStyle::SlackBlocks, &Message::of_notice(&long, "vm-1"));
        assert_eq!(body["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
    }

    /// What a Teams Workflows webhook takes: a `message` whose attachment is an Adaptive Card.
    #[test]
    fn teams_gets_an_adaptive_card_in_the_workflows_envelope() {
        let body = webhook_body(WebhookStyle::Teams, &Message::of_notice(&notice(), "vm-1"));
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
        let body = webhook_body(WebhookStyle::GoogleChat, &Message::of_notice(&notice(), "vm-1"));
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
        let html = email_html(&Message::of_notice(&notice(), "vm-1"));
        assert!(html.contains("Deploy &lt;b&gt;&amp;&lt;/b&gt; &quot;now&quot;") && !html.contains("<b>&"), "{html}");
    }
}
