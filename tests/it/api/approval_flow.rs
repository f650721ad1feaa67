//! The approval gate end to end: request, approve, reject, self-approval, double approval, staleness,
//! tampering, execute, expiry.

use super::Team;
use atlas_actors::domain::{Actor, Command};
use serde_json::json;

#[actix_rt::test]
async fn an_agent_requests_a_task_and_an_approver_approves_it() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let (status, approval) = team
        .call(
            "POST",
            "/api/v1/tasks",
            &team.agent,
            Some(json!({ "project_id": project, "title": "Add OAuth", "assignee": "AI IDE Agent" })),
        )
        .await;
    assert_eq!(status, 202, "{approval}");
    assert_eq!(
        (approval["status"].as_str(), approval["item_type"].as_str(), approval["action"].as_str()),
        (Some("pending"), Some("task"), Some("create"))
    );
    assert_eq!(approval["requested_by"], "agent-bot");
    let task_id = approval["item_id"].as_str().unwrap().to_owned();
    let (status, _) = team.call("GET", &format!("/api/v1/tasks/{task_id}"), &team.viewer, None).await;
    assert_eq!(status, 404, "nothing changes until it is approved");

    let id = approval["id"].as_str().unwrap();
    let (status, approved) = team
        .call(
            "POST",
            &format!("/api/v1/approvals/{id}/approve"),
            &team.approver,
            Some(json!({ "notes": "looks right" })),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["reviewed_by"], "alice");
    assert_eq!(approved["notes"][0]["author"], "alice");
    assert_eq!(approved["notes"][0]["body"], "looks right");

    let (status, task) = team.call("GET", &format!("/api/v1/tasks/{task_id}"), &team.viewer, None).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["title"], "Add OAuth");
    assert_eq!(task["approved_by"], "alice");
    assert!(task["approved_at"].is_string());

    let (_, created) = team
        .call("GET", &format!("/api/v1/audit?aggregate_type=task&aggregate_id={task_id}"), &team.viewer, None)
        .await;
    assert_eq!(created["items"][0]["type"], "task.created");
    assert_eq!(created["items"][0]["actor"], "agent-bot", "the change is audited as the requester's");
    let (_, reviewed) = team.call("GET", &format!("/api/v1/audit?aggregate_id={id}"), &team.viewer, None).await;
    let types: Vec<&str> = reviewed["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["approval.approved", "approval.requested"]);
    assert_eq!(reviewed["items"][0]["actor"], "alice");
    assert_eq!(reviewed["items"][0]["payload"]["before"]["status"], "pending", "before/after are kept");
    assert_eq!(reviewed["items"][0]["payload"]["after"]["status"], "approved");
}

#[actix_rt::test]
async fn the_requester_cannot_approve_their_own_request() {
    let team = Team::new().await;
    let project = team.project("temp").await;
    let (status, approval) = team.call("DELETE", &format!("/api/v1/projects/{project}"), &team.admin, None).await;
    assert_eq!(status, 202, "delete is gated even for an admin: {approval}");
    let id = approval["id"].as_str().unwrap();
    let (status, body) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.admin, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("cannot approve it"), "{body}");
    let (_, still) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(still["status"], "pending");

    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    let (status, _) = team.call("GET", &format!("/api/v1/projects/{project}"), &team.viewer, None).await;
    assert_eq!(status, 404, "the soft-deleted project is hidden");
}

#[actix_rt::test]
async fn approving_twice_or_after_a_rejection_changes_nothing() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let request = |title: &'static str| json!({ "project_id": project, "title": title });
    let (_, first) = team.call("POST", "/api/v1/tasks", &team.agent, Some(request("one"))).await;
    let first_id = first["id"].as_str().unwrap();
    let approve = format!("/api/v1/approvals/{first_id}/approve");
    assert_eq!(team.call("POST", &approve, &team.approver, None).await.0, 200);
    let (status, body) = team.call("POST", &approve, &team.approver2, None).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"].as_str().unwrap().contains("already approved"), "{body}");
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{first_id}/reject"), &team.approver2, None).await;
    assert_eq!(status, 409, "a decided approval cannot be rejected");
    let (_, tasks) = team.call("GET", &format!("/api/v1/tasks?project_id={project}"), &team.viewer, None).await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1, "the task was created once");

    let (_, second) = team.call("POST", "/api/v1/tasks", &team.agent, Some(request("two"))).await;
    let second_id = second["id"].as_str().unwrap();
    let (status, rejected) = team
        .call(
            "POST",
            &format!("/api/v1/approvals/{second_id}/reject"),
            &team.approver,
            Some(json!({ "notes": "not now" })),
        )
        .await;
    assert_eq!((status, rejected["status"].as_str()), (200, Some("rejected")));
    let (status, body) =
        team.call("POST", &format!("/api/v1/approvals/{second_id}/approve"), &team.approver2, None).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"].as_str().unwrap().contains("already rejected"), "{body}");
    let (_, tasks) = team.call("GET", &format!("/api/v1/tasks?project_id={project}"), &team.viewer, None).await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1, "rejecting applied nothing");
}

#[actix_rt::test]
async fn a_stale_approval_is_refused_with_what_changed_and_closed_as_superseded() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let task = team.task(&project, "Deploy", None).await;
    let (status, approval) =
        team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.agent, Some(json!({ "assignee": "bot" }))).await;
    assert_eq!(status, 202, "{approval}");
    assert_eq!(approval["target_version"], 1);
    let (status, _) =
        team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.admin, Some(json!({ "priority": 5 }))).await;
    assert_eq!(status, 200, "the admin changes the task directly meanwhile");

    let id = approval["id"].as_str().unwrap();
    let (status, body) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("changed after approval") && message.contains("version 1") && message.contains("version 2"),
        "{message}"
    );
    assert!(message.contains("task.updated by admin") && message.contains("superseded"), "{message}");
    let (_, closed) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(closed["status"], "superseded", "it can never apply, so it does not linger as pending: {closed}");
    assert!(closed["closed_reason"].as_str().unwrap().contains("version 2"), "{closed}");
    let (_, current) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(current["assignee"], "User", "the stale change was not applied");
    let (_, events) = team.call("GET", "/api/v1/audit?type=approval.superseded", &team.viewer, None).await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "{events}");
    let (_, errors) = team.call("GET", "/api/v1/errors", &team.viewer, None).await;
    assert!(errors.to_string().contains("was superseded and will never apply"), "{errors}");
    let (status, body) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver2, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("already superseded"), "{body}");

    // Without anyone trying to approve it, the expiry sweep (the real job, on a configuration without
    // expiry) closes one whose target changed.
    let (_, second) =
        team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.agent, Some(json!({ "assignee": "x" }))).await;
    team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.admin, Some(json!({ "priority": 6 }))).await;
    let swept = team.app.handles.scheduler.run_now("approval_expiry", atlas_actors::domain::Actor::new("scheduler"));
    assert!(swept.await.is_ok_and(|report| report.ok), "the sweep ran");
    let (_, swept) =
        team.call("GET", &format!("/api/v1/approvals/{}", second["id"].as_str().unwrap()), &team.viewer, None).await;
    assert_eq!(
        (swept["status"].as_str(), swept["reviewed_by"].as_str()),
        (Some("superseded"), Some("scheduler")),
        "{swept}"
    );

    // A creation pins no target, but needs its project: deleted since the request, the sweep closes it.
    let doomed = team.project("doomed").await;
    let (status, orphan) =
        team.call("POST", "/api/v1/tasks", &team.agent, Some(json!({ "project_id": doomed, "title": "never" }))).await;
    assert_eq!(status, 202, "{orphan}");
    let (_, deletion) = team.call("DELETE", &format!("/api/v1/projects/{doomed}"), &team.admin, None).await;
    let deletion = deletion["id"].as_str().unwrap();
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{deletion}/approve"), &team.approver, None).await;
    assert_eq!(status, 200, "the project is deleted");
    let swept = team.app.handles.scheduler.run_now("approval_expiry", atlas_actors::domain::Actor::new("scheduler"));
    assert!(swept.await.is_ok_and(|report| report.ok), "the sweep ran");
    let (_, swept) =
        team.call("GET", &format!("/api/v1/approvals/{}", orphan["id"].as_str().unwrap()), &team.viewer, None).await;
    assert_eq!(swept["status"], "superseded", "{swept}");
    assert!(swept["closed_reason"].as_str().unwrap().contains("was deleted"), "{swept}");
}

#[actix_rt::test]
async fn a_payload_altered_after_the_request_is_never_applied() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let (_, approval) = team
        .call("POST", "/api/v1/tasks", &team.agent, Some(json!({ "project_id": project, "title": "harmless" })))
        .await;
    let id = approval["id"].as_str().unwrap().to_owned();
    let conn = rusqlite::Connection::open(team.app.db_path()).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    conn.execute("UPDATE approvals SET payload = replace(payload, 'harmless', 'rm -rf') WHERE id = ?1", [&id]).unwrap();
    drop(conn);

    let (status, body) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("altered"), "{body}");
    let (_, tasks) = team.call("GET", "/api/v1/tasks", &team.viewer, None).await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 0);
}

#[actix_rt::test]
async fn approving_an_execute_queues_exactly_the_requested_command() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let task = team.task(&project, "Report", Some(vec!["echo", "hello"])).await;
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(status, 202, "{approval}");
    assert_eq!(approval["action"], "execute");
    assert_eq!(approval["payload"]["command"], json!(["echo", "hello"]));
    let (_, runs) = team.call("GET", "/api/v1/runs", &team.viewer, None).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 0, "no run before approval");

    let id = approval["id"].as_str().unwrap();
    assert_eq!(team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await.0, 200);
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "success", "the runner ran it at once: {run}");
    assert_eq!(run["approval_id"], id);
    assert_eq!(run["command"], json!(["echo", "hello"]));
    assert_eq!(run["output"], "hello\n");

    let (status, body) = team
        .call("POST", &format!("/api/v1/tasks/{}/run", team.task(&project, "Nothing", None).await), &team.agent, None)
        .await;
    assert_eq!(status, 409, "a task without a command cannot run: {body}");
}

#[actix_rt::test]
async fn old_pending_approvals_expire_and_cannot_be_approved() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let (_, approval) =
        team.call("POST", "/api/v1/tasks", &team.agent, Some(json!({ "project_id": project, "title": "late" }))).await;
    let id = approval["id"].as_str().unwrap();
    let sweep = Command::ExpireApprovals { requested_before: "9999-01-01T00:00:00.000Z".into() };
    team.app.handles.writer.submit(sweep, Actor::system()).await.unwrap();

    let (_, expired) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(expired["status"], "expired");
    let (_, events) = team.call("GET", "/api/v1/audit?type=approval.expired", &team.viewer, None).await;
    assert_eq!(events["items"][0]["aggregate_id"], id);
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 409);
    let (_, pending) = team.call("GET", "/api/v1/approvals?status=pending", &team.viewer, None).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 0);
}
