//! Routes: each kind of news goes to the channels its route names, shaped as each service documents
//! its incoming messages (Slack Block Kit, an Adaptive Card inside Teams' Workflows envelope, Google
//! Chat `cardsV2`). A shared channel never gets a reviewer's links, only the console's page. Bad routes
//! are refused at load with the key named.

use super::{told, PUBLIC};
use crate::support::fake_receivers::FakeHttpReceiver;
use atlas::settings::notify::{ChannelSettings, RouteSettings};
use atlas::settings::WebhookFormat;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn route(events: &[&str], to: &[&str]) -> RouteSettings {
    RouteSettings {
        events: events.iter().map(|e| e.to_string()).collect(),
        to: to.iter().map(|t| t.to_string()).collect(),
    }
}

/// Waits (bounded) until `path` received a message mentioning `wanted`.
async fn message(chat: &FakeHttpReceiver, path: &str, wanted: &str) -> Value {
    let began = Instant::now();
    loop {
        let found = chat.received.all().into_iter().find(|(p, body)| p == path && body.to_string().contains(wanted));
        if let Some((_, body)) = found {
            return body;
        }
        assert!(
            began.elapsed() < Duration::from_secs(15),
            "no message to {path} about {wanted}: {:?}",
            chat.received.all()
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn each_kind_of_news_reaches_its_channels_in_their_own_format() {
    let chat = FakeHttpReceiver::start().await;
    let url = chat.url.clone();
    let told = told(move |settings| {
        for (name, format) in
            [("slack", WebhookFormat::Blockkit), ("teams", WebhookFormat::Teams), ("gchat", WebhookFormat::Googlechat)]
        {
            let channel =
                ChannelSettings { webhook_url: format!("{url}/{name}"), format: Some(format), email_to: vec![] };
            settings.notify.channels.insert(name.into(), channel);
        }
        settings.notify.routes = vec![
            route(&["approval_requested"], &["reviewers", "slack", "teams", "gchat"]),
            route(&["approval_decided"], &["slack"]),
            route(&["run_failed"], &["teams"]),
            route(&["critical_error"], &["gchat"]),
        ];
    })
    .await;
    let team = &told.team;
    let id = told.request_run(&["false"]).await;
    let page = format!("{PUBLIC}/console/approvals/{id}");

    // Slack Block Kit: header (plain_text), section (mrkdwn), context, and an actions block of link buttons.
    let slack = message(&chat, "/slack", &id).await;
    let types: Vec<&str> = slack["blocks"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "context", "actions"], "{slack}");
    assert_eq!(slack["blocks"][0]["text"]["type"], "plain_text");
    assert!(slack["blocks"][0]["text"]["text"].as_str().unwrap().contains(&format!("Approval {id} waits")), "{slack}");
    assert_eq!(slack["blocks"][3]["elements"][0]["type"], "button");
    assert_eq!(slack["blocks"][3]["elements"][0]["url"], page.as_str());
    assert!(slack["text"].is_string(), "the notification's text");

    // Teams through a Workflows webhook: a message whose attachment is an Adaptive Card.
    let teams = message(&chat, "/teams", &id).await;
    assert_eq!(teams["type"], "message");
    let attachment = &teams["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachment["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    assert!(card["body"].as_array().unwrap().iter().all(|b| b["type"] == "TextBlock"));
    assert_eq!(card["actions"], json!([{ "type": "Action.OpenUrl", "title": "Open in Atlas", "url": page }]));

    // Google Chat: cardsV2 with a header, a text paragraph and a button list opening the page.
    let gchat = message(&chat, "/gchat", &id).await;
    let card = &gchat["cardsV2"][0]["card"];
    assert!(gchat["cardsV2"][0]["cardId"].as_str().unwrap().starts_with("atlas-"));
    assert!(card["header"]["title"].as_str().unwrap().contains(&id));
    let widgets = card["sections"][0]["widgets"].as_array().unwrap();
    assert!(widgets[0]["textParagraph"]["text"].is_string());
    assert_eq!(widgets[1]["buttonList"]["buttons"][0]["onClick"]["openLink"]["url"], page.as_str());

    // A shared channel never carries a reviewer's links.
    let alice = told.mail("alice@example.com", &id).await;
    let link = told.path_of(&alice, "Approve");
    assert!(
        !chat.received.all().iter().any(|(_, body)| body.to_string().contains("/console/link/")),
        "links in a chat"
    );
    assert!(!chat.received.all().iter().any(|(_, body)| body.to_string().contains(&link)));

    // Decided: Slack hears who decided. The run fails: Teams hears it.
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    let decided = message(&chat, "/slack", &format!("Approval {id} approved by alice")).await;
    assert!(decided["blocks"][0]["text"]["text"].as_str().is_some());
    let run = team.finished_run(&team_task(&told, &id).await).await;
    let run_id = run["id"].as_str().unwrap();
    let failed = message(&chat, "/teams", &format!("Run {run_id} failed")).await;
    assert_eq!(failed["attachments"][0]["content"]["actions"][0]["url"], format!("{PUBLIC}/console/runs/{run_id}"));

    // A critical alert from Alertmanager becomes a critical error: Google Chat hears it.
    let alert = json!({
        "version": "4", "status": "firing", "receiver": "atlas", "groupKey": "g", "truncatedAlerts": 0,
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am.example:9093",
        "alerts": [{ "status": "firing", "labels": { "alertname": "DiskFull", "severity": "critical" },
            "annotations": { "summary": "the disk is full" }, "startsAt": "2026-12-07T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom.example:9090", "fingerprint": "abc123" }]
    });
    let (status, _) = team.call("POST", "/api/v1/hooks/alertmanager", &team.agent, Some(alert)).await;
    assert_eq!(status, 200);
    let critical = message(&chat, "/gchat", "Critical error").await;
    assert!(critical.to_string().contains("the disk is full"), "{critical}");
    // Nothing went where no route sends it.
    let slack_texts: Vec<String> =
        chat.received.all().into_iter().filter(|(p, _)| p == "/slack").map(|(_, b)| b.to_string()).collect();
    assert!(
        !slack_texts.iter().any(|t| t.contains("Critical error") || t.contains(&format!("Run {run_id}"))),
        "{slack_texts:?}"
    );
}

/// The task an approval's run belongs to.
async fn team_task(told: &super::Told, approval: &str) -> String {
    let found = told.approval(approval).await;
    found["item_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_bad_route_is_refused_at_load_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atlas.toml");
    for (text, key, words) in [
        ("[[notify.routes]]\nevents = [\"approval_requested\"]\nto = [\"nowhere\"]\n", "notify.routes", "no channel named \"nowhere\""),
        ("[[notify.routes]]\nevents = [\"deploys\"]\nto = [\"webhook\"]\n[alerts]\nwebhook_url = \"http://127.0.0.1:9/h\"\n", "notify.routes", "unknown event \"deploys\""),
        ("[[notify.routes]]\nevents = [\"approval_requested\"]\nto = [\"reviewers\"]\n[alerts]\nsmtp_host = \"127.0.0.1\"\nsmtp_from = \"a@example.com\"\n", "console.public_url", "set the address"),
        ("[[notify.routes]]\nevents = [\"run_failed\"]\nto = [\"reviewers\"]\n", "notify.routes", "reviewers get approval_requested and approval_reminder only"),
        ("[console]\npublic_url = \"atlas.example.com\"\n", "console.public_url", "must be an http(s):// address"),
        ("[notify.channels.chat]\nwebhook_url = \"http://127.0.0.1:9/h\"\nemail_to = [\"a@example.com\"]\n", "notify.channels", "either webhook_url"),
        ("[notify.reviewers]\nalice = \"not an address\"\n", "notify.reviewers", "is not an e-mail address"),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = atlas::settings::load(Some(&file), Vec::new(), &[]).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(words), "{text}: {err}");
    }
}

/// A reminder carries fresh links to each reviewer still to decide, and the console's page to a channel.
#[actix_rt::test]
async fn a_reminder_mails_each_reviewer_fresh_links_and_a_channel_the_page() {
    let chat = FakeHttpReceiver::start().await;
    let url = chat.url.clone();
    let told = told(move |settings| {
        settings.approvals.remind_after_h = 0.0001;
        settings.alerts.webhook_url = format!("{url}/hook");
        settings.alerts.webhook_format = WebhookFormat::Json;
        settings.notify.routes = vec![route(&["approval_reminder"], &["reviewers", "webhook"])];
    })
    .await;
    let id = told.request_run(&["true"]).await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert!(told.mails_to("alice@example.com").is_empty(), "approval_requested is routed nowhere here");
    let report = told.team.app.handles.scheduler.run_now("health_check", crate::support::tester()).await.unwrap();
    assert!(report.detail.contains(&format!("approval_pending:{id}")), "{report:?}");
    let mail = told.mail("alice@example.com", &id).await;
    assert!(mail.starts_with(&format!("[Atlas] Approval {id} still waits for your decision")), "{mail}");
    let (status, page) = crate::console::visitor::client()
        .get(format!("{}{}", told.team.app.url, told.path_of(&mail, "Reject")))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200, "{:?}", page.text().await);
    let hook = message(&chat, "/hook", &id).await;
    assert_eq!(hook["alert"], format!("approval_pending:{id}"));
    assert_eq!(hook["links"], json!([{ "label": "Open in Atlas", "url": format!("{PUBLIC}/console/approvals/{id}") }]));
}
