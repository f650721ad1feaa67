//! The daily journey in Chromium, as three people: an admin makes a task from the console, an agent asks
//! for a run, an approver sees it waiting in the nav, approves it, follows the run to its end without a
//! reload, finds it by search, sees it in the project's charts and resolves the error it left. Then the
//! approver's session ends while a note is typed (another tab signs out; the browser still sends the
//! dead cookie, as after an idle timeout): signing in again lands on the same approval with the note.

use super::browser::Browser;
use crate::api::Team;
use std::time::Duration;

#[actix_rt::test]
async fn admin_agent_and_approver_walk_a_run_from_request_to_resolved_error() {
    let team = Team::new().await;
    let base = &team.app.url;
    let project = team.project("Journey").await;
    let browser = Browser::start().await;

    // The admin makes a task with a command from the project page.
    browser.sign_in(base, &team.admin).await;
    browser.goto(&format!("{base}/console/projects/{project}")).await;
    browser.fill("#new-task-title", "Nightly report").await;
    browser.fill("#new-task-command", "sh\n-c\necho journey-output; exit 3").await;
    let at = browser.follow("#create-task").await;
    let task = at.rsplit('/').next().unwrap().to_owned();
    assert!(task.starts_with("task-"), "the new task's page: {at}");
    browser.click("#sign-out").await;

    // The agent asks for a run: it waits for approval.
    browser.sign_in(base, &team.agent).await;
    browser.goto(&format!("{base}/console/tasks/{task}")).await;
    browser.click("#run-task").await;
    browser.wait_for("#flash").await;
    assert!(browser.text("#flash").await.contains("\"Nightly report\" now waits for approval"));
    browser.click("#sign-out").await;

    // The approver sees it waiting, approves it, and follows the run to its end on one page.
    browser.sign_in(base, &team.approver).await;
    let waiting = browser.text("#waiting").await;
    assert!(waiting.starts_with('1'), "the nav says one approval waits for this person: {waiting:?}");
    assert_eq!(browser.path().await, "/console/approvals", "signing in opens the queue");
    let request = browser
        .client
        .find(fantoccini::Locator::XPath("//table//a[contains(., 'Nightly report')]"))
        .await
        .expect("the queue names the task");
    request.click().await.unwrap();
    browser.wait_for("#approve").await;
    browser.fill("#notes", "ok for tonight").await;
    browser.click("#approve").await;
    browser.wait_for("#applied-to a").await;
    browser.follow("#applied-to a").await;
    let ended = browser.wait_text("#run-status", "failed", Duration::from_secs(20)).await;
    assert_eq!(ended, "failed", "the run page followed the run to its end without a reload");
    assert_eq!(browser.text("#run-exit").await, "exit 3");
    let run = browser.path().await.rsplit('/').next().unwrap().to_owned();
    browser.screenshot("journey-run-ended").await;

    // Search finds it by what it printed.
    browser.fill("input[name='q']", "journey-output").await;
    let search = browser.client.find(fantoccini::Locator::Css("input[name='q']")).await.unwrap();
    search.send_keys("\u{E007}").await.unwrap();
    browser.wait_path("/console/search").await;
    let hits = browser.text("#hits").await;
    assert!(hits.contains("Nightly report") || hits.contains(&run), "the run is found: {hits}");

    // The project's chart counts it, as the run's own end day.
    let (_, finished) = team.call("GET", &format!("/api/v1/runs/{run}"), &team.viewer, None).await;
    let day = finished["completed_at"].as_str().unwrap()[..10].to_owned();
    browser.goto(&format!("{base}/console/projects/{project}")).await;
    let numbers = browser.client.find(fantoccini::Locator::Css("#chart-runs details")).await.unwrap();
    numbers.click().await.unwrap();
    let table = browser.text("#chart-runs table").await;
    let today = table.lines().find(|l| l.starts_with(&day)).unwrap_or_else(|| panic!("{day} in {table}"));
    let cells: Vec<&str> = today.split_whitespace().collect();
    assert_eq!(cells, [day.as_str(), "0", "1", "0", "0"], "one failed run that day: {table}");

    // The failure is in the hotlist; the approver resolves it.
    browser.goto(&format!("{base}/console/errors?sort=severity")).await;
    browser.fill("#errors input[name='resolution']", "fixed the report script").await;
    let resolve = browser.client.find(fantoccini::Locator::Css("#errors form button")).await.unwrap();
    resolve.click().await.unwrap();
    browser.wait_for("#flash").await;
    let (_, open) = team.call("GET", "/api/v1/errors?resolved=false", &team.viewer, None).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 0, "resolved: {open}");
    let (_, done) = team.call("GET", "/api/v1/errors?resolved=true", &team.viewer, None).await;
    assert_eq!(done["items"][0]["resolved_by"], "alice");

    // A session ends while a note is typed; signing in again returns to the approval with the note.
    let body = serde_json::json!({ "project_id": project, "title": "Weekly digest" });
    let (_, asked) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    let approval = asked["id"].as_str().unwrap().to_owned();
    browser.goto(&format!("{base}/console/approvals/{approval}")).await;
    browser.fill("#notes", "checked the digest template").await;
    let session = browser.client.get_named_cookie("atlas_session").await.unwrap();
    let first_tab = browser.client.window().await.unwrap();
    let other = browser.client.new_window(true).await.unwrap();
    browser.client.switch_to_window(other.handle).await.unwrap();
    browser.goto(&format!("{base}/console/approvals")).await;
    browser.click("#sign-out").await;
    browser.wait_path("/console/login").await;
    browser.client.close_window().await.unwrap();
    browser.client.switch_to_window(first_tab).await.unwrap();
    browser.client.add_cookie(session).await.unwrap();
    browser.click("#approve").await;
    browser.wait_text("#problem", "before the form was sent", Duration::from_secs(10)).await;
    browser.screenshot("journey-signed-out-mid-form").await;
    browser.fill("#token", &team.approver).await;
    browser.follow("#sign-in").await;
    assert_eq!(browser.path().await, format!("/console/approvals/{approval}"), "back where the note was typed");
    let kept = browser.client.find(fantoccini::Locator::Css("#notes")).await.unwrap();
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some("checked the digest template"));
    let (_, still) = team.call("GET", &format!("/api/v1/approvals/{approval}"), &team.viewer, None).await;
    assert_eq!(still["status"], "pending", "nothing was decided by the form the dead session sent");
    browser.click("#approve").await;
    browser.wait_text("#status", "approved", Duration::from_secs(10)).await;
    let (_, decided) = team.call("GET", &format!("/api/v1/approvals/{approval}"), &team.viewer, None).await;
    assert_eq!(decided["status"], "approved", "{decided}");
    let (_, reviews) = team.call("GET", &format!("/api/v1/approvals/{approval}"), &team.viewer, None).await;
    assert!(reviews.to_string().contains("checked the digest template"), "the note went with it: {reviews}");
    browser.close().await;
}
