//! POST /api/v1/hooks/alertmanager with the payloads Alertmanager's documentation shows (version 4):
//! firing, repeated, grouped and resolved alerts become exactly the expected hotlist entries.

use super::Team;
use serde_json::{json, Value};

/// One alert as Alertmanager sends it.
fn alert(status: &str, name: &str, severity: Option<&str>, summary: &str, fingerprint: Option<&str>) -> Value {
    let mut labels = json!({ "alertname": name, "instance": "https://server.example.org", "job": "http_checks" });
    if let Some(severity) = severity {
        labels["severity"] = json!(severity);
    }
    let mut alert = json!({
        "status": status,
        "labels": labels,
        "annotations": { "summary": summary, "description": format!("{summary} (description)") },
        "startsAt": "2023-02-06T13:08:45.828Z",
        "endsAt": if status == "resolved" { "2023-02-06T13:20:00.000Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0",
    });
    if let Some(fingerprint) = fingerprint {
        alert["fingerprint"] = json!(fingerprint);
    }
    alert
}

/// The notification around some alerts, as in Alertmanager's webhook_config documentation.
fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "atlas",
        "groupLabels": { "alertname": "ProbeFailure" },
        "commonLabels": { "alertname": "ProbeFailure" },
        "commonAnnotations": {},
        "externalURL": "http://prometheus.example.org:9093",
        "alerts": alerts,
    })
}

async fn post(team: &Team, token: &str, body: Value) -> (u16, Value) {
    team.call("POST", "/api/v1/hooks/alertmanager", token, Some(body)).await
}

async fn open_errors(team: &Team) -> Vec<Value> {
    let (_, listed) = team.call("GET", "/api/v1/errors?resolved=false&limit=100", &team.viewer, None).await;
    listed["items"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn firing_repeated_grouped_and_resolved_alerts_become_exactly_their_hotlist_entries() {
    let team = Team::new().await;
    let probe =
        || alert("firing", "ProbeFailure", Some("critical"), "BlackBox Probe Failure", Some("1a30ba71cca2921f"));
    let (status, answer) = post(&team, &team.agent, notification("firing", vec![probe()])).await;
    assert_eq!((status, answer.clone()), (200, json!({ "firing": 1, "resolved": 0, "ignored": 0 })));
    let open = open_errors(&team).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["error"], "ProbeFailure: BlackBox Probe Failure");
    assert_eq!((open[0]["severity"].as_str(), open[0]["source"].as_str()), (Some("critical"), Some("alertmanager")));
    let id = open[0]["id"].as_str().unwrap().to_owned();

    // Repeated (Alertmanager's repeat_interval), with a new summary: updated, never duplicated.
    let again = alert("firing", "ProbeFailure", Some("critical"), "Probe still failing", Some("1a30ba71cca2921f"));
    let (status, _) = post(&team, &team.agent, notification("firing", vec![again.clone(), again])).await;
    assert_eq!(status, 200);
    let open = open_errors(&team).await;
    assert_eq!(open.len(), 1, "a repeat updates the open entry: {open:?}");
    assert_eq!(
        (open[0]["id"].as_str(), open[0]["error"].as_str()),
        (Some(id.as_str()), Some("ProbeFailure: Probe still failing"))
    );

    // Grouped: a new alert (a warning, no fingerprint: keyed by its labels) and the first one resolved.
    let disk = alert("firing", "DiskFilling", Some("warning"), "90% full", None);
    let resolved = alert("resolved", "ProbeFailure", Some("critical"), "Probe back", Some("1a30ba71cca2921f"));
    let (status, answer) = post(&team, &team.agent, notification("firing", vec![disk.clone(), resolved])).await;
    assert_eq!((status, answer), (200, json!({ "firing": 1, "resolved": 1, "ignored": 0 })));
    let open = open_errors(&team).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["error"].as_str(), open[0]["severity"].as_str()),
        (Some("DiskFilling: 90% full"), Some("medium"))
    );
    let (_, first) = team.call("GET", &format!("/api/v1/errors/{id}"), &team.viewer, None).await;
    assert_eq!(first["resolved"], true, "{first}");
    assert_eq!(first["resolution"], "resolved in alertmanager");
    assert_eq!(first["resolved_by"], "agent-bot", "the hook's token is who resolved it");
    let note = first["notes"][0]["body"].as_str().unwrap();
    assert!(note.contains("resolved at 2023-02-06T13:20:00.000Z"), "{note}");

    // The label-keyed alert repeats without a duplicate too; a resolution with nothing open is ignored.
    let (_, _) = post(&team, &team.agent, notification("firing", vec![disk])).await;
    assert_eq!(open_errors(&team).await.len(), 1, "keyed by its labels");
    // An end time that is no time is left out of the note, never stored as sent.
    let odd = alert("firing", "Odd", None, "x", Some("odd"));
    let (_, _) = post(&team, &team.agent, notification("firing", vec![odd])).await;
    let mut odd = alert("resolved", "Odd", None, "x", Some("odd"));
    odd["endsAt"] = json!(format!("<script>\u{7}{}", "N".repeat(20_000)));
    let (status, _) = post(&team, &team.agent, notification("resolved", vec![odd])).await;
    assert_eq!(status, 200);
    let (_, resolved) = team.call("GET", "/api/v1/errors?resolved=true&limit=100", &team.viewer, None).await;
    let items = resolved["items"].as_array().unwrap();
    let note = &items.iter().find(|e| e["error"] == "Odd: x").unwrap()["notes"][0]["body"];
    assert_eq!(note, "alertmanager reports the alert resolved.", "{note}");
    let stray = alert("resolved", "Unknown", None, "never fired here", Some("ffff"));
    let (status, answer) = post(&team, &team.agent, notification("resolved", vec![stray])).await;
    assert_eq!((status, answer), (200, json!({ "firing": 0, "resolved": 0, "ignored": 1 })));

    // Firing again after being resolved: a new entry (a resolved one is never reopened).
    let (_, _) = post(&team, &team.agent, notification("firing", vec![probe()])).await;
    let open = open_errors(&team).await;
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().all(|e| e["id"] != id.as_str()), "a new entry, not the resolved one");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=error.alert_firing", &team.admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 7, "each firing alert is on record: {audit}");
}

#[actix_rt::test]
async fn a_bad_notification_is_refused_whole_naming_the_field_and_only_agents_and_admins_may_post() {
    let team = Team::new().await;
    let good = alert("firing", "A", Some("info"), "fine", Some("aa"));
    let cases = [
        (json!({ "version": "3", "alerts": [good.clone()] }), "version"),
        (notification("firing", vec![good.clone(), alert("pending", "B", None, "x", Some("bb"))]), "alerts[1].status"),
        (
            notification("firing", vec![alert("firing", "C", None, "x", Some(&"f".repeat(200)))]),
            "alerts[0].fingerprint",
        ),
        (json!({ "version": "4" }), "alerts"),
        (json!({ "version": "x".repeat(50_000), "alerts": [] }), "version"),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&team, &team.agent, body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "names {field}: {message}");
        assert!(message.len() < 400, "quotes at most a little of what was sent: {} bytes", message.len());
    }
    assert!(open_errors(&team).await.is_empty(), "nothing of a refused notification was applied");
    for token in [&team.viewer, &team.approver] {
        let (status, _) = post(&team, token, notification("firing", vec![good.clone()])).await;
        assert_eq!(status, 403);
    }
    let (status, _) = post(&team, &team.admin, notification("firing", vec![good])).await;
    assert_eq!(status, 200);
    assert_eq!(open_errors(&team).await[0]["severity"], "low", "info maps to low");
}
