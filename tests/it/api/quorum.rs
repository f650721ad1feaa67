//! Quorum: a rule needing two distinct reviewers. The first approval is recorded ("1 of 2") and changes
//! nothing; the second applies the change in its own transaction; the same reviewer twice, the requester,
//! a rejection and a change of target each do what the issue says.

use super::Team;
use crate::support::{test_settings, TestApp};
use serde_json::{json, Value};

async fn two_of_them() -> Team {
    two_of_them_self_approving(false).await
}

async fn two_of_them_self_approving(allow_self_approval: bool) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.allow_self_approval = allow_self_approval;
    settings.approvals.quorum = [("task:execute".to_owned(), 2), ("task:update".to_owned(), 2)].into();
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

async fn approval(team: &Team, id: &str) -> Value {
    let (code, body) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(code, 200, "{body}");
    body
}

async fn runs_of(team: &Team, task: &str) -> usize {
    let (_, runs) = team.call("GET", &format!("/api/v1/runs?task_id={task}"), &team.viewer, None).await;
    runs["items"].as_array().unwrap().len()
}

#[actix_rt::test]
async fn a_two_reviewer_rule_applies_with_the_second_distinct_approval() {
    let team = two_of_them().await;
    let project = team.project("p").await;
    let task = team.task(&project, "deploy", Some(vec!["true"])).await;
    let (code, requested) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(code, 202, "{requested}");
    assert_eq!((requested["required_reviews"].as_u64(), requested["reviews"].as_str()), (Some(2), Some("0 of 2")));
    let id = requested["id"].as_str().unwrap().to_owned();
    let approve = format!("/api/v1/approvals/{id}/approve");

    let (code, first) = team.call("POST", &approve, &team.approver, Some(json!({ "notes": "looks right" }))).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!((first["status"].as_str(), first["reviews"].as_str()), (Some("pending"), Some("1 of 2")), "{first}");
    assert_eq!(first["approved_by"], json!(["alice"]));
    assert_eq!(runs_of(&team, &task).await, 0, "one approval of two runs nothing");
    let (code, again) = team.call("POST", &approve, &team.approver, None).await;
    assert_eq!(code, 409, "the same reviewer counts once: {again}");
    assert!(again["error"]["message"].as_str().unwrap().contains("already approved"), "{again}");
    assert_eq!(approval(&team, &id).await["reviews"], "1 of 2");
    // The console shows the same progress, on the queue and on the approval's page.
    let visitor = crate::console::visitor::sign_in(&team.app.url, &team.viewer).await;
    let (code, queue) = visitor.get("/console/approvals").await;
    assert_eq!(code, 200);
    assert!(queue.contains("1 of 2"), "{queue}");
    let (_, page) = visitor.get(&format!("/console/approvals/{id}")).await;
    assert!(page.contains("1 of 2: approved by alice"), "{page}");

    let (code, second) = team.call("POST", &approve, &team.approver2, None).await;
    assert_eq!(code, 200, "{second}");
    assert_eq!((second["status"].as_str(), second["reviews"].as_str()), (Some("approved"), Some("2 of 2")), "{second}");
    assert_eq!(second["reviewed_by"], "bob");
    assert_eq!(team.finished_run(&task).await["status"], "success", "the second approval queued the run");
    let (_, recorded) = team.call("GET", "/api/v1/audit?type=approval.review_recorded", &team.viewer, None).await;
    assert_eq!(recorded["items"][0]["actor"], "alice", "{recorded}");
}

#[actix_rt::test]
async fn one_rejection_rejects_the_requester_never_counts_and_a_changed_target_refuses_all() {
    // Self-approval allowed: still, the requester never counts toward a quorum.
    let team = two_of_them_self_approving(true).await;
    let project = team.project("p").await;
    let task = team.task(&project, "deploy", Some(vec!["true"])).await;

    // One approval, then a rejection: rejected, nothing runs.
    let (_, requested) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    let id = requested["id"].as_str().unwrap().to_owned();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    let (code, rejected) = team.call("POST", &format!("/api/v1/approvals/{id}/reject"), &team.approver2, None).await;
    assert_eq!(code, 200, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(runs_of(&team, &task).await, 0);

    // The admin's own request: an approver's review is one of two, and the requester's never counts.
    let (_, own) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    let own = own["id"].as_str().unwrap_or_else(|| panic!("{own}")).to_owned();
    let (code, _) = team.call("POST", &format!("/api/v1/approvals/{own}/approve"), &team.approver2, None).await;
    assert_eq!(code, 200);
    let (code, refused) = team.call("POST", &format!("/api/v1/approvals/{own}/approve"), &team.admin, None).await;
    assert_eq!(code, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("never counts"), "{refused}");
    assert_eq!(approval(&team, &own).await["reviews"], "1 of 2");

    // An agent's update, one approval, then the task changes: the next review refuses, closing it.
    let (code, update) =
        team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.agent, Some(json!({ "assignee": "bot" }))).await;
    assert_eq!(code, 202, "{update}");
    let update = update["id"].as_str().unwrap().to_owned();
    team.call("POST", &format!("/api/v1/approvals/{update}/approve"), &team.approver, None).await;
    let (code, _) =
        team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.admin, Some(json!({ "priority": 5 }))).await;
    assert_eq!(code, 200);
    let (code, body) = team.call("POST", &format!("/api/v1/approvals/{update}/approve"), &team.approver2, None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(approval(&team, &update).await["status"], "superseded");
    let (_, current) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_ne!(current["assignee"], "bot", "the stale change was not applied");
}

#[actix_rt::test]
async fn a_bad_quorum_is_refused_at_load_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.quorum = [("task:execute@agent".to_owned(), 2)].into();
    let (key, why) = settings.validate().unwrap_err();
    assert_eq!(key, "approvals.quorum", "{why}");
    settings.approvals.quorum = [("task:execute".to_owned(), 11)].into();
    assert_eq!(settings.validate().unwrap_err().0, "approvals.quorum");
}
