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
