//! One approval's page as a reviewer reads it: what it changes while it waits (fields it leaves alone named
//! apart), what it changed as decided once approved (never recomputed against today's row), and where
//! the approved change went (the run it queued).

use super::visitor::sign_in;
use crate::api::Team;
use serde_json::json;

/// The part of `page` from the element with `id` on.
fn from_id<'a>(page: &'a str, id: &str) -> &'a str {
    &page[page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {page}"))..]
}

#[actix_rt::test]
async fn a_decided_approval_shows_its_diff_as_decided_and_unchanged_fields_apart() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let task = team.task(&project, "old title", None).await;
    let patch = json!({ "title": "new title", "status": "todo" });
    let (status, approval) = team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.agent, Some(patch)).await;
    assert_eq!(status, 202, "{approval}");
    let id = approval["id"].as_str().unwrap().to_owned();
    let approver = sign_in(&team.app.url, &team.approver).await;

    let (_, page) = approver.get(&format!("/console/approvals/{id}")).await;
    let diff = from_id(&page, "diff");
    assert!(diff.contains("<del>old title</del>") && diff.contains("<ins>new title</ins>"), "{diff}");
    assert!(!diff[..diff.find("</table>").unwrap()].contains("<td>status</td>"), "todo → todo is no change");
    assert!(from_id(&page, "unchanged").starts_with("id=\"unchanged\">Left as they are: status."), "{page}");

    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    let third = json!({ "title": "third title" });
    assert_eq!(team.call("PATCH", &format!("/api/v1/tasks/{task}"), &team.admin, Some(third)).await.0, 200);

    let (_, page) = approver.get(&format!("/console/approvals/{id}")).await;
    assert!(page.contains("What approving changed, as decided"), "{page}");
    let diff = from_id(&page, "diff");
    let diff = &diff[..diff.find("</table>").unwrap()];
    assert!(diff.contains("<del>old title</del>") && diff.contains("<ins>new title</ins>"), "{diff}");
    assert!(!diff.contains("third title"), "never recomputed against today's row: {diff}");
    assert!(!page.contains("id=\"why-not\""), "a decided approval is history, not a refusal: {page}");
    assert!(from_id(&page, "applied-to").contains(&format!("href=\"/console/tasks/{task}\"")), "{page}");
}

#[actix_rt::test]
async fn an_approved_run_request_links_to_the_run_it_queued() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let task = team.task(&project, "Report", Some(vec!["echo", "hello"])).await;
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(status, 202, "{approval}");
    let id = approval["id"].as_str().unwrap().to_owned();
    let approver = sign_in(&team.app.url, &team.approver).await;
    let (_, page) = approver.get(&format!("/console/approvals/{id}")).await;
    assert!(!page.contains("id=\"applied-to\""), "nothing applied while it waits");

    assert_eq!(team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await.0, 200);
    let run = team.finished_run(&task).await;
    let (_, page) = approver.get(&format!("/console/approvals/{id}")).await;
    let applied = from_id(&page, "applied-to");
    assert!(applied.contains(&format!("href=\"/console/runs/{}\"", run["id"].as_str().unwrap())), "{applied}");
}

#[actix_rt::test]
async fn the_navigation_counts_the_approvals_waiting_for_the_signed_in_reviewer() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let mut ids = Vec::new();
    for title in ["one", "two"] {
        let body = json!({ "project_id": project, "title": title });
        let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
        assert_eq!(status, 202, "{approval}");
        ids.push(approval["id"].as_str().unwrap().to_owned());
    }
    let alice = sign_in(&team.app.url, &team.approver).await;
    let (_, page) = alice.get("/console/runs").await;
    assert!(from_id(&page, "waiting").starts_with("id=\"waiting\" title=\"waiting for you to decide\">2<"), "{page}");
    let agent = sign_in(&team.app.url, &team.agent).await;
    let (_, page) = agent.get("/console/runs").await;
    assert!(!page.contains("id=\"waiting\""), "an agent decides nothing, so nothing waits for it");

    let approve = format!("/api/v1/approvals/{}/approve", ids[0]);
    assert_eq!(team.call("POST", &approve, &team.approver, None).await.0, 200);
    let (_, page) = alice.get("/console/runs").await;
    assert!(from_id(&page, "waiting").contains(">1<"), "{page}");
    let reject = format!("/api/v1/approvals/{}/reject", ids[1]);
    assert_eq!(team.call("POST", &reject, &team.approver2, None).await.0, 200);
    let (_, page) = alice.get("/console/runs").await;
    assert!(!page.contains("id=\"waiting\""), "nothing waits: no badge");
}

/// The console's status filters offer `all`; the API takes it too (as no filter), on approvals and runs.
#[actix_rt::test]
async fn the_status_filter_all_the_console_offers_is_one_the_api_takes() {
    let team = Team::new().await;
    let project = team.project("p").await;
    for title in ["one", "two"] {
        let body = json!({ "project_id": project, "title": title });
        let (_, asked) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
        if title == "one" {
            let path = format!("/api/v1/approvals/{}/approve", asked["id"].as_str().unwrap());
            assert_eq!(team.call("POST", &path, &team.approver, None).await.0, 200);
        }
    }
    let (status, all) = team.call("GET", "/api/v1/approvals?status=all", &team.viewer, None).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "pending and approved alike");
    assert_eq!(team.call("GET", "/api/v1/runs?status=all", &team.viewer, None).await.0, 200);
    let (status, refused) = team.call("GET", "/api/v1/approvals?status=everything", &team.viewer, None).await;
    assert_eq!(status, 400, "{refused}");
}
