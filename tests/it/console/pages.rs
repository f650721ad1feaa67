//! The console in Chromium: signing in and out, an approver approving an agent's task, an agent refused,
//! a cross-site form refused, and a run's live log. Each main page is saved to `target/screenshots/`.

use super::browser::Browser;
use crate::api::Team;
use crate::support::{test_settings, TestApp};
use serde_json::json;
use std::time::Duration;

/// An agent's task creation, waiting for approval; answers (approval id, task id).
async fn agent_request(team: &Team, title: &str) -> (String, String) {
    let project = team.project("console").await;
    let body = json!({ "project_id": project, "title": title });
    let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "the default policy gates an agent's task: {approval}");
    (approval["id"].as_str().unwrap().to_owned(), approval["item_id"].as_str().unwrap().to_owned())
}

async fn approval_status(team: &Team, id: &str) -> String {
    let (_, approval) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    approval["status"].as_str().unwrap_or_default().to_owned()
}

#[actix_rt::test]
async fn signing_in_and_out() {
    let team = Team::new().await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.goto(&format!("{base}/console/approvals")).await;
    assert_eq!(browser.path().await, "/console/login", "a page without a session sends the browser to sign in");
    browser.fill("#token", "not-a-token").await;
    browser.click("#sign-in").await;
    browser.wait_text("#problem", "unknown or revoked", Duration::from_secs(10)).await;
    browser.sign_in(base, &team.admin).await;
    assert!(browser.text("#signed-in-as").await.contains("admin"));
    for page in ["approvals", "projects", "runs", "errors", "audit", "health", "admin", "browse"] {
        browser.goto(&format!("{base}/console/{page}")).await;
        assert!(browser.exists("#signed-in-as").await, "{page} opens signed in");
        // The navigation marks where you are (one link only), and a skip link leads past it.
        let current = format!("nav a[aria-current='page'][href='/console/{page}']");
        assert!(browser.exists(&current).await, "{page} is marked current in the navigation");
        let marked =
            browser.client.execute("return document.querySelectorAll(\"nav a[aria-current='page']\").length;", vec![]);
        assert_eq!(marked.await.unwrap(), serde_json::json!(1), "{page}: one current link");
        assert!(browser.exists("a.skip[href='#main']").await && browser.exists("main#main").await, "{page}: skip link");
        browser.screenshot(page).await;
    }
    browser.click("#sign-out").await;
    browser.wait_path("/console/login").await;
    browser.goto(&format!("{base}/console/admin")).await;
    assert_eq!(browser.path().await, "/console/login", "signing out ended the session");
    browser.close().await;
}

#[actix_rt::test]
async fn an_approver_approves_an_agents_task_and_the_task_then_exists() {
    let team = Team::new().await;
    let (approval, task) = agent_request(&team, "Rotate the <b>keys</b> & certs").await;
    let (status, _) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(status, 404, "not before approval");
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.approver).await;
    browser.goto(&format!("{base}/console/approvals")).await;
    let queue = browser.text("#approvals").await;
    assert!(queue.contains("Rotate the <b>keys</b> & certs"), "the title shows as text, escaped: {queue}");
    browser.click(&format!("a[href='/console/approvals/{approval}']")).await;
    browser.wait_path(&format!("/console/approvals/{approval}")).await;
    assert!(browser.text("#payload").await.contains("Rotate the"), "the payload shows");
    browser.screenshot("approval").await;
    browser.fill("#notes", "looks right").await;
    browser.click("#approve").await;
    browser.wait_text("#flash", "approved", Duration::from_secs(10)).await;
    assert_eq!(browser.text("#status").await, "approved");
    let (status, created) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(status, 200, "approving in the console applied the task: {created}");
    assert_eq!(created["approved_by"], "alice", "approved under the signed-in token's name");
    let (_, events) = team.call("GET", "/api/v1/audit?type=approval.approved", &team.admin, None).await;
    assert_eq!(events["items"][0]["actor"], "alice", "audited as alice: {events}");
    browser.close().await;
}

#[actix_rt::test]
async fn an_agent_is_refused_the_decision_even_when_it_forges_the_form() {
    let team = Team::new().await;
    let (approval, _) = agent_request(&team, "agent's own change").await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.agent).await;
    browser.goto(&format!("{base}/console/approvals/{approval}")).await;
    assert!(browser.text("#why-not").await.contains("may not review"), "the page says why");
    assert!(!browser.exists("#approve").await, "no approve button for an agent");
    // The form the page would not show, posted with the agent's own valid session and CSRF token.
    let forged = format!(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/console/approvals/{approval}/approve';
         const c = document.createElement('input'); c.name = 'csrf'; c.value = document.querySelector('input[name=csrf]').value;
         f.appendChild(c); document.body.appendChild(f); f.submit();"
    );
    browser.client.execute(&forged, vec![]).await.unwrap();
    let refusal = browser.wait_text("#problem", "may not approve or reject", Duration::from_secs(10)).await;
    assert!(refusal.contains("agent-bot"), "the refusal names the token: {refusal}");
    assert_eq!(approval_status(&team, &approval).await, "pending");
    browser.close().await;
}

/// A page on another site that posts an approval form to Atlas as soon as it loads.
async fn hostile_site(target: String) -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = format!(
        "<!doctype html><form id=f method=post action=\"{target}\"><input name=csrf value=guess>\
         <input name=notes value=pwned></form><script>document.getElementById('f').submit()</script>"
    );
    let serve = tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (port, serve)
}

#[actix_rt::test]
async fn a_cross_site_form_post_is_refused() {
    let team = Team::new().await;
    let (approval, _) = agent_request(&team, "wanted by an attacker").await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.approver).await;
    // "localhost" is another site than "127.0.0.1": the browser marks the post cross-site.
    let (port, serve) = hostile_site(format!("{base}/console/approvals/{approval}/approve")).await;
    browser.goto(&format!("http://localhost:{port}/")).await;
    let refusal = browser.wait_text("#problem", "cross-site", Duration::from_secs(10)).await;
    assert!(refusal.contains("refused"), "{refusal}");
    assert_eq!(approval_status(&team, &approval).await, "pending", "the forged approval did nothing");
    browser.goto(&format!("{base}/console/approvals/{approval}")).await;
    assert!(browser.exists("#approve").await, "the approver is still signed in and can decide");
    serve.abort();
    browser.close().await;
}

#[actix_rt::test]
async fn a_live_log_shows_lines_while_the_run_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = Vec::new();
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("live").await;
    let script = "for i in 1 2 3 4 5 6 7 8; do echo line-$i; sleep 0.4; done";
    let body = json!({ "project_id": project, "title": "slow printer", "command": ["sh", "-c", script] });
    let (_, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.admin).await; // may cancel and run again
    let (status, run) =
        team.call("POST", &format!("/api/v1/tasks/{}/run", task["id"].as_str().unwrap()), &team.admin, None).await;
    assert_eq!(status, 201, "{run}");
    let run = run["id"].as_str().unwrap().to_owned();
    team.until_running(&run).await;
    browser.goto(&format!("{base}/console/runs/{run}")).await;
    assert!(browser.exists("#log[data-stream]").await, "a running run's page follows its log");
    browser.wait_text("#log", "line-2", Duration::from_secs(10)).await;
    let (_, meanwhile) = team.call("GET", &format!("/api/v1/runs/{run}"), &team.viewer, None).await;
    assert_eq!(meanwhile["status"], "running", "the lines arrived while the run was still printing");
    let shown = browser.text("#log").await;
    assert!(!shown.contains("line-8"), "not all at once at the end: {shown:?}");
    browser.screenshot("run-live").await;
    assert_eq!(browser.text("#run-status").await, "running");
    assert!(browser.displayed("#cancel").await && !browser.displayed("#requeue").await);
    let ended = browser.wait_text("#live-status", "run ended", Duration::from_secs(15)).await;
    assert!(ended.contains("success"), "{ended}");
    // The page follows the run's state to the end without a reload: badge, exit, duration, buttons.
    assert_eq!(browser.text("#run-status").await, "success");
    assert_eq!(browser.text("#run-exit").await, "exit 0");
    let took = browser.text("#run-took").await;
    assert!(took.ends_with(" s") && !took.contains("so far"), "{took:?}");
    assert!(!browser.exists("#cancel").await, "no Cancel on an ended run");
    assert!(browser.displayed("#requeue").await, "Run again is offered once it ended");
    browser.screenshot("run-ended-live").await;
    let log = browser.text("#log").await;
    assert!(log.contains("line-1") && log.contains("line-8"), "every line, in order: {log:?}");
    assert!(log.find("line-1") < log.find("line-8"));
    browser.close().await;
}

#[actix_rt::test]
async fn pages_fit_a_phone_and_print_to_pdf() {
    let team = Team::new().await;
    agent_request(&team, "a change with a rather long title to see it wrap on a narrow screen").await;
    let project = team.project("phone").await;
    let task = team.task(&project, "a job with a long name that needs the width", Some(vec!["true"])).await;
    team.run_to_end(&task).await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.admin).await;
    browser.client.set_window_size(390, 844).await.unwrap();
    // State and outcome stay on screen on a phone (they come first; the long columns scroll after).
    for (page, badge) in [("runs", "#runs tbody .badge"), ("approvals", "#approvals tbody .badge")] {
        browser.goto(&format!("{base}/console/{page}")).await;
        let element = browser.client.find(fantoccini::Locator::Css(badge)).await.unwrap();
        let (x, _, width, _) = element.rectangle().await.unwrap();
        assert!(x >= 0.0 && x + width <= 390.0, "{page}: the state badge is off screen at x={x} (+{width})");
    }
    for page in
        ["approvals", "projects", "runs", "errors", "audit", "health", "admin", "browse", "browse/tables/events"]
    {
        browser.goto(&format!("{base}/console/{page}")).await;
        let overflow = browser
            .client
            .execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![])
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{page} is wider than a phone by {overflow} px (wide tables scroll inside)"
        );
    }
    browser.goto(&format!("{base}/console/approvals")).await;
    browser.screenshot("approvals-phone").await;
    let pdf = browser.client.print(fantoccini::wd::PrintConfiguration::default()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the page prints to a PDF");
    std::fs::write(super::browser::screenshot_dir().join("approvals.pdf"), pdf).unwrap();
    browser.close().await;
}

/// Each form's length limit is the server's: what the form lets a person type, the server takes, and no
/// more (a note cut at 2,000 characters by the form while the API takes 10,000 was the old way).
#[actix_rt::test]
async fn form_limits_are_the_servers_limits() {
    use atlas_actors::domain::command::{MAX_NAME_CHARS, MAX_TEXT_CHARS};
    let team = Team::new().await;
    let (approval, _) = agent_request(&team, "limits").await;
    let project = team.project("limits").await;
    let task = team.task(&project, "limits", None).await;
    let failing = team.task(&project, "fails", Some(vec!["false"])).await;
    let (_, request) = team.call("POST", &format!("/api/v1/tasks/{failing}/run"), &team.agent, None).await;
    let id = request["id"].as_str().unwrap();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    team.finished_run(&failing).await;
    let visitor = super::visitor::sign_in(&team.app.url, &team.admin).await;
    for (page, field, limit) in [
        (format!("/console/approvals/{approval}"), "name=\"notes\"", MAX_TEXT_CHARS),
        (format!("/console/projects/{project}"), "name=\"name\"", MAX_NAME_CHARS),
        (format!("/console/tasks/{task}"), "name=\"title\"", MAX_NAME_CHARS),
        ("/console/errors".to_owned(), "name=\"resolution\"", MAX_TEXT_CHARS),
    ] {
        let (status, html) = visitor.get(&page).await;
        assert_eq!(status, 200, "{page}");
        let input = html.split("<input").find(|tag| tag.contains(field)).unwrap_or_else(|| panic!("{page}: {field}"));
        assert!(input.contains(&format!("maxlength=\"{limit}\"")), "{page}: {input}");
    }
}

/// The queue a reviewer works through is oldest first (what has waited longest on top), and its next
/// page goes on from there; decided approvals stay a history, newest first.
#[actix_rt::test]
async fn the_pending_queue_is_oldest_first_across_pages() {
    let team = Team::new().await;
    let project = team.project("queue").await;
    let mut requested = Vec::new();
    for i in 0..51 {
        let body = json!({ "project_id": project, "title": format!("change {i}") });
        let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
        assert_eq!(status, 202, "{approval}");
        requested.push(approval["id"].as_str().unwrap().to_owned());
    }
    let visitor = super::visitor::sign_in(&team.app.url, &team.approver).await;
    let (_, first) = visitor.get("/console/approvals").await;
    let at = |html: &str, id: &str| html.find(id).unwrap_or_else(|| panic!("{id} listed"));
    assert!(at(&first, &requested[0]) < at(&first, &requested[1]), "oldest first");
    assert!(!first.contains(requested[50].as_str()), "the newest is on the next page");
    let next = first.split("href=\"").find_map(|rest| rest.split('"').next().filter(|h| h.contains("cursor=")));
    let next = next.expect("a link to the next page").replace("&#38;", "&");
    let (_, second) = visitor.get(&next).await;
    assert!(second.contains(requested[50].as_str()) && !second.contains(requested[49].as_str()), "{second}");
}

/// Health is read in seconds: before the checks ran it says so and offers (to an admin) to run them now;
/// then one row per check with its level as a badge, its sentence and its number rounded.
#[actix_rt::test]
async fn health_shows_one_readable_row_per_check_and_offers_to_run_them() {
    let team = Team::new().await;
    let visitor = super::visitor::sign_in(&team.app.url, &team.admin).await;
    let (_, before) = visitor.get("/console/health").await;
    assert!(before.contains("id=\"not-run\"") && before.contains("id=\"run-checks\""), "{before}");
    let ran = visitor.submit("/console/admin/schedules/health_check/run", &[("csrf", &visitor.csrf)]).await;
    assert_eq!(ran.status, 303, "{}", ran.body);
    let (_, after) = visitor.get("/console/health").await;
    let table = after.split("id=\"operations\"").nth(1).expect("the checks' table").split("</table>").next().unwrap();
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert!(rows.len() >= 5, "one row per check: {table}");
    for row in &rows {
        let level = row.split("class=\"badge ").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
        assert!(["ok", "warn", "critical"].contains(&level), "a level badge: {row}");
        let value = row.split("class=\"num\">").nth(1).and_then(|r| r.split('<').next()).unwrap_or_default();
        let decimals = value.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 2, "rounded: {row}");
    }
    assert!(!after.contains("checks.") && after.contains("id=\"checked\""), "no dotted dump; when it ran is said");
}
