//! The mirror contract's outcome measures from the event stream: request-to-decision time and critical
//! error resolution time in the health report and `/metrics`, a goal crossed as a warning.

use crate::api::Team;
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
