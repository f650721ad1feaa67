//! What cannot be undone asks first, without script: revoking a token, expiring approvals, cancelling
//! a run. The first post changes nothing and answers a page saying what will happen; only its button
//! (the same form with `confirmed=yes`) does it.

use super::visitor::sign_in;
use crate::api::Team;
use crate::support::{test_settings, TestApp};
use serde_json::json;

#[actix_rt::test]
async fn revoking_a_token_asks_first_and_says_when_it_is_your_own() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let asked = admin.submit("/console/admin/tokens/alice/revoke", &[("csrf", &admin.csrf)]).await;
    assert_eq!(asked.status, 200, "a question, not an action");
    assert!(asked.body.contains("Revoke token alice?") && asked.body.contains("id=\"keep\""), "{}", asked.body);
    assert!(asked.body.contains("name=\"confirmed\" value=\"yes\""));
    let (_, tokens) = team.call("GET", "/api/v1/admin/tokens", &team.admin, None).await;
    assert!(tokens.to_string().contains("\"alice\""), "nothing revoked by the first post");
    assert_eq!(team.call("GET", "/api/v1/approvals", &team.approver, None).await.0, 200);

    let done = admin.submit("/console/admin/tokens/alice/revoke", &[("csrf", &admin.csrf), ("confirmed", "yes")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(team.call("GET", "/api/v1/approvals", &team.approver, None).await.0, 401, "revoked once confirmed");

    let own = admin.submit("/console/admin/tokens/admin/revoke", &[("csrf", &admin.csrf)]).await;
    assert!(own.body.contains("This is the token you are signed in with."), "{}", own.body);
}

#[actix_rt::test]
async fn expiring_approvals_says_how_many_first_and_cancelling_a_run_asks_too() {
    let team = Team::new().await;
    let project = team.project("p").await;
    for title in ["a", "b"] {
        let body = json!({ "project_id": project, "title": title });
        assert_eq!(team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await.0, 202);
    }
    let admin = sign_in(&team.app.url, &team.admin).await;
    // Requested just now, so "older than 1 hour" closes none: the question says so before anything.
    let form = [("csrf", admin.csrf.as_str()), ("older_than_hours", "1")];
    let asked = admin.submit("/console/admin/approvals/expire", &form).await;
    assert!(asked.body.contains("Expire 0 approvals?"), "{}", asked.body);
    let (_, pending) = team.call("GET", "/api/v1/approvals?status=pending", &team.viewer, None).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = Vec::new();
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("p").await;
    let task = team.task(&project, "long sleeper", Some(vec!["sleep", "30"])).await;
    let (_, run) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    let run = run["id"].as_str().unwrap().to_owned();
    team.until_running(&run).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let asked = admin.submit(&format!("/console/runs/{run}/cancel"), &[("csrf", &admin.csrf)]).await;
    assert!(asked.body.contains("Cancel the run of long sleeper?"), "{}", asked.body);
    let (_, now) = team.call("GET", &format!("/api/v1/runs/{run}"), &team.viewer, None).await;
    assert_eq!(now["status"], "running", "nothing cancelled by the first post");
    let done =
        admin.submit(&format!("/console/runs/{run}/cancel"), &[("csrf", &admin.csrf), ("confirmed", "yes")]).await;
    assert_eq!(done.status, 303);
    let ended = team.finished_run(&task).await;
    assert_eq!(ended["status"], "cancelled");
}
