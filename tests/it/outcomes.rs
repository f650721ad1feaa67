//! The human loop: the mirror contract's outcome measures from the event stream (request-to-decision time
//! and critical error resolution time in the health report and `/metrics`, a goal crossed as a warning),
//! and reminders naming each approval left waiting, and each critical error left unresolved.

use crate::api::Team;
use crate::support::fake_receivers::FakeHttpReceiver;
use crate::support::{test_settings, TestApp};
use serde_json::{json, Value};

async fn report(team: &Team) -> Value {
    let (code, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(code, 200, "{report}");
    report
}

#[actix_rt::test]
async fn decisions_and_resolutions_are_measured_and_a_crossed_goal_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    // Goals nobody meets: any decision or resolution takes longer than zero hours.
    settings.health.outcome_decision_mean_max_h = 0.0;
    settings.health.outcome_critical_resolution_max_h = 0.0;
    settings.runner.failed_severity = atlas_actors::domain::Severity::Critical;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let before = report(&team).await;
    let check = &before["operations"]["checks"]["outcome_decision_time"];
    assert_eq!(check["level"], "ok", "no decisions, no verdict: {before}");

    // Two decisions: a run approved (it fails: a critical error) and one rejected.
    let project = team.project("p").await;
    let failing = team.task(&project, "fails", Some(vec!["false"])).await;
    for decision in ["approve", "reject"] {
        let (code, approval) = team.call("POST", &format!("/api/v1/tasks/{failing}/run"), &team.agent, None).await;
        assert_eq!(code, 202, "{approval}");
        let id = approval["id"].as_str().unwrap();
        let (code, body) = team.call("POST", &format!("/api/v1/approvals/{id}/{decision}"), &team.approver, None).await;
        assert_eq!(code, 200, "{body}");
        if decision == "approve" {
            assert_eq!(team.finished_run(&failing).await["status"], "failed");
        }
    }
    let (_, errors) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
    let error = errors["items"][0]["id"].as_str().expect("a critical hotlist entry").to_owned();
    let resolution = json!({ "resolution": "fixed the command" });
    let (code, body) =
        team.call("POST", &format!("/api/v1/errors/{error}/resolve"), &team.approver, Some(resolution)).await;
    assert_eq!(code, 200, "{body}");

    let after = report(&team).await;
    let decided = &after["operations"]["checks"]["outcome_decision_time"];
    assert_eq!(decided["level"], "warn", "over the goal is a warning, never critical: {after}");
    assert!(decided["detail"].as_str().unwrap().starts_with("2 approvals decided in 7 days"), "{decided}");
    let resolved = &after["operations"]["checks"]["outcome_critical_resolution_time"];
    assert_eq!(resolved["level"], "warn", "{after}");
    assert!(resolved["detail"].as_str().unwrap().starts_with("1 critical errors resolved"), "{resolved}");
    assert!(after["operations"]["checks"].get("outcome_sync_completion").is_none(), "Sheets is off: not measured");

    let (_, metrics) = team.app.raw("GET", "/metrics", Some(&team.admin), None, None).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("atlas_outcome_decision_seconds{quantile=\"0.9\"}"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "atlas_outcome_decisions 2"), "{metrics}");
    assert!(metrics.contains("atlas_outcome_critical_resolution_seconds{quantile=\"0.5\"}"), "{metrics}");
}

async fn health_check(team: &Team) -> String {
    let report =
        team.app.handles.scheduler.run_now("health_check", crate::support::tester()).await.expect("the job runs");
    assert!(report.ok, "{report:?}");
    report.detail
}

#[actix_rt::test]
async fn each_waiting_approval_is_reminded_of_by_name_and_critical_errors_are_named() {
    let http = FakeHttpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.alerts.webhook_url = format!("{}/hook", http.url);
    settings.approvals.remind_after_h = 1.0;
    settings.health.critical_unacked_after_m = 0;
    settings.runner.failed_severity = atlas_actors::domain::Severity::Critical;
    // A clock of its own, a day behind the wall clock: Health judges "overdue" by the time the writer
    // records, so nothing is overdue until this clock moves (judged by the wall clock, all would be).
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let clock = atlas_actors::domain::ManualClock::new(start);
    let app = TestApp::spawn_with_clock(dir, settings, std::sync::Arc::new(clock.clone())).await;
    let team = Team::with_app(app).await;
    let project = team.project("p").await;
    let mut waiting = Vec::new();
    for title in ["deploy web", "rotate keys"] {
        let task = team.task(&project, title, Some(vec!["true"])).await;
        let (code, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
        assert_eq!(code, 202, "{approval}");
        waiting.push(approval["id"].as_str().unwrap().to_owned());
    }
    let detail = health_check(&team).await;
    assert!(!detail.contains("approval_pending"), "nothing waited an hour yet: {detail}");
    clock.advance(chrono::Duration::minutes(61));
    let detail = health_check(&team).await;
    for id in &waiting {
        assert!(detail.contains(&format!("approval_pending:{id}")), "{detail}");
    }
    let hooks: Vec<Value> = http.received.all().into_iter().map(|(_, body)| body).collect();
    for id in &waiting {
        let hook = hooks.iter().find(|h| h["alert"] == format!("approval_pending:{id}")).expect("one message each");
        let said = hook["detail"].as_str().unwrap();
        assert!(said.contains(&format!("approval {id}")) && said.contains("requested by agent-bot"), "{hook}");
    }
    health_check(&team).await;
    assert_eq!(http.received.all().len(), hooks.len(), "not again within the day");
    let (code, _) = team.call("POST", &format!("/api/v1/approvals/{}/approve", waiting[0]), &team.approver, None).await;
    assert_eq!(code, 200);
    let detail = health_check(&team).await;
    assert!(!detail.contains(&waiting[0]) && detail.contains(&waiting[1]), "{detail}");
    let resolved = http
        .received
        .all()
        .into_iter()
        .map(|(_, body)| body)
        .find(|h| h["alert"] == format!("approval_pending:{}", waiting[0]) && h["status"] == "resolved");
    assert!(resolved.is_some(), "a decided approval's reminder resolves");

    // A critical error left unresolved: the alert names it.
    let failing = team.task(&project, "fails", Some(vec!["false"])).await;
    let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{failing}/run"), &team.agent, None).await;
    let id = approval["id"].as_str().unwrap();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(team.finished_run(&failing).await["status"], "failed");
    let (_, errors) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
    let error = errors["items"][0]["id"].as_str().unwrap().to_owned();
    health_check(&team).await;
    let named =
        http.received.all().into_iter().map(|(_, body)| body).find(|h| h["alert"] == "unacknowledged_critical_errors");
    let named = named.expect("the critical error alert");
    assert!(named["detail"].as_str().unwrap().contains(&error), "{named}");
}
