//! axe-core (the npm package's `axe.min.js`, vendored in `tests/vendor/axe-core-4.10.2/`) on every
//! console page at 1366 and 390 px wide, on a realistic small data set: any violation fails the test,
//! listed by rule, impact and element.

use super::browser::Browser;
use crate::api::Team;
use serde_json::json;
use std::path::Path;

/// axe-core's script, vendored (no network needed to test).
fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor/axe-core-4.10.2/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{} is missing: {err}", path.display()))
}

const RUN_AXE: &str = "const done = arguments[arguments.length - 1];
    axe.run(document, { resultTypes: ['violations'] })
      .then(r => done(JSON.stringify(r.violations.map(v => ({ rule: v.id, impact: v.impact,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))))
      .catch(e => done('axe failed: ' + e));";

#[actix_rt::test]
async fn axe_finds_no_violation_on_any_page_at_desktop_and_phone_width() {
    let team = Team::new().await;
    let project = team.project("Platform").await;
    let task = team.task(&project, "Deploy the API", Some(vec!["sh", "-c", "echo deployed; exit 2"])).await;
    let run = team.run_to_end(&task).await;
    let body = json!({ "project_id": project, "title": "a change waiting for review" });
    let (_, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    // An approval link's page, as a reviewer opens it from their mail.
    let key = atlas_actors::notify::links::LinkKey::of_data_dir(&team.app.dir.path().join("data")).unwrap();
    let approval_id = approval["id"].as_str().unwrap();
    let hash = atlas_actors::domain::token_hash(&team.approver);
    let decision = atlas_actors::domain::command::Decision::Reject;
    let expires = chrono::Utc::now().timestamp() + 3600;
    let link = atlas_actors::notify::links::Claim::new(approval_id, "alice", &hash, decision, expires).sign(&key);
    let pages = [
        format!("/console/link/{link}"),
        "/console/approvals".to_owned(),
        format!("/console/approvals/{}", approval["id"].as_str().unwrap()),
        "/console/projects".into(),
        format!("/console/projects/{project}"),
        format!("/console/tasks/{task}"),
        "/console/runs".into(),
        format!("/console/runs/{}", run["id"].as_str().unwrap()),
        "/console/errors".into(),
        "/console/audit".into(),
        "/console/health".into(),
        "/console/admin".into(),
        "/console/browse".into(),
        "/console/browse/tables/tasks".into(),
        // A filtered view (chips, facets, both pagers) and an answered query (its link and exports).
        "/console/browse/tables/events?limit=2&aggregate_type__isnull=0&cursor=5b6e756c6c2c3130305d".into(),
        "/console/browse/sql?sql=SELECT%20type%2C%20count(*)%20FROM%20events%20GROUP%20BY%20type".into(),
        "/console/errors?sort=severity".into(),
        "/console/search?q=deploy".into(),
    ];
    let axe = axe_source();
    let browser = Browser::start().await;
    let base = &team.app.url;
    let mut found = Vec::new();
    browser.goto(&format!("{base}/console/login")).await;
    for (width, height) in [(1366, 900), (390, 844)] {
        browser.client.set_window_size(width, height).await.unwrap();
        browser.goto(&format!("{base}/console/login")).await;
        found.extend(violations(&browser, &axe, "/console/login", width).await);
        browser.sign_in(base, &team.admin).await;
        for page in &pages {
            browser.goto(&format!("{base}{page}")).await;
            found.extend(violations(&browser, &axe, page, width).await);
        }
        browser.click("#sign-out").await;
    }
    browser.close().await;
    assert!(found.is_empty(), "axe-core found violations:\n{}", found.join("\n"));
}

async fn violations(browser: &Browser, axe: &str, page: &str, width: u32) -> Vec<String> {
    browser.client.execute(axe, vec![]).await.expect("axe-core loads");
    let answer = browser.client.execute_async(RUN_AXE, vec![]).await.expect("axe-core runs");
    let text = answer.as_str().unwrap_or_default().to_owned();
    assert!(!text.starts_with("axe failed"), "{page}: {text}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    list.iter().map(|v| format!("{page} at {width} px: {} ({}) on {}", v["rule"], v["impact"], v["nodes"])).collect()
}
