//! The console's search: what it finds is what a plain `LIKE` scan over the same searchable text finds
//! (checked word by word on a varied data set), it follows edits and deletions in the same commit, and a
//! viewer never finds a record by a secret that redaction hides from them.

use super::visitor::{sign_in, Visitor};
use crate::api::Team;
use serde_json::json;
use std::collections::BTreeSet;

/// The ids the search page lists for `q`.
async fn found(visitor: &Visitor, q: &str) -> BTreeSet<String> {
    let (status, page) = visitor.get(&format!("/console/search?q={}", urlencoding(q))).await;
    assert_eq!(status, 200, "{page}");
    let id = regex::Regex::new(r#"<span class="mono muted id">([^<]+)</span>"#).unwrap();
    let hits = page.find("id=\"hits\"").map(|at| &page[at..]).unwrap_or("");
    id.captures_iter(hits).map(|c| c[1].to_owned()).collect()
}

fn urlencoding(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).unwrap()[2..].to_owned()
}

/// The ids a plain scan finds: every word somewhere in the record's searchable text, case aside.
fn scanned(team: &Team, q: &str) -> BTreeSet<String> {
    let conn = crate::support::open_read_only(&team.app.db_path());
    let mut sql = "SELECT id FROM search_source WHERE 1 = 1".to_owned();
    let words: Vec<String> = q.split_whitespace().map(|w| format!("%{}%", w.to_lowercase())).collect();
    for i in 1..=words.len() {
        sql.push_str(&format!(" AND lower(title || ' ' || body) LIKE ?{i}"));
    }
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt.query_map(rusqlite::params_from_iter(words.iter()), |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[actix_rt::test]
async fn search_finds_what_a_like_scan_finds_and_follows_every_commit() {
    let team = Team::new().await;
    let platform = team.project("Platform nightly").await;
    let other = team.project("Billing").await;
    let deploy = team.task(&platform, "Deploy the API", Some(vec!["echo", "deploying build 42"])).await;
    let report = team.task(&other, "Nightly report", Some(vec!["sh", "-c", "echo report ERROR: disk; exit 3"])).await;
    for title in ["rotate keys", "renew certificates"] {
        team.task(&platform, title, None).await;
    }
    let clean = team.task(&platform, "clean tmp", None).await;
    team.run_to_end(&deploy).await;
    team.run_to_end(&report).await; // fails: an error entry for it too
    let body = json!({ "project_id": other, "title": "agent asks to deploy billing" });
    assert_eq!(team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await.0, 202);

    let admin = sign_in(&team.app.url, &team.admin).await;
    for q in ["deploy", "NIGHTLY", "deploying build", "error disk", "report", "billing", "renew", "xyzzy", "echo"] {
        let expected = scanned(&team, q);
        assert_eq!(found(&admin, q).await, expected, "search for {q:?} differs from a LIKE scan");
    }
    assert!(found(&admin, "deploying").await.len() >= 2, "a run's output and its task's command are searched");

    // Edits and deletions are in the index with their commit.
    let rename = json!({ "title": "Ship the API" });
    assert_eq!(team.call("PATCH", &format!("/api/v1/tasks/{deploy}"), &team.admin, Some(rename)).await.0, 200);
    assert!(found(&admin, "ship").await.contains(&deploy));
    assert!(found(&admin, "clean tmp").await.contains(&clean));
    let rename = json!({ "title": "purge scratch" });
    assert_eq!(team.call("PATCH", &format!("/api/v1/tasks/{clean}"), &team.admin, Some(rename)).await.0, 200);
    assert!(!found(&admin, "clean tmp").await.contains(&clean), "the old title is gone from the index");
    assert!(found(&admin, "scratch").await.contains(&clean));
    let (status, asked) = team.call("DELETE", &format!("/api/v1/tasks/{deploy}"), &team.admin, None).await;
    assert_eq!(status, 202, "a delete waits for approval: {asked}");
    let approve = format!("/api/v1/approvals/{}/approve", asked["id"].as_str().unwrap());
    assert_eq!(team.call("POST", &approve, &team.approver, None).await.0, 200);
    assert!(!found(&admin, "ship").await.contains(&deploy), "a deleted task is not found");
    assert_eq!(found(&admin, "ship").await, scanned(&team, "ship"));

    let (_, page) = admin.get("/console/search?q=db").await;
    assert!(page.contains("&#34;db&#34; is shorter than 3 characters"), "{page}");
}

#[actix_rt::test]
async fn a_viewer_cannot_find_a_record_by_a_secret_redaction_hides() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let task = team.task(&project, "Rotate", Some(vec!["echo", "password=hunter2 applied"])).await;
    team.run_to_end(&task).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    assert!(!found(&admin, "hunter2").await.is_empty(), "those who may see it find it");
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    assert!(found(&viewer, "hunter2").await.is_empty(), "a viewer learns nothing by guessing a secret");
    let (_, page) = viewer.get("/console/search?q=hunter2").await;
    assert!(!page.contains("hunter2 applied"), "nor sees it in an excerpt");
    assert!(found(&viewer, "applied").await.len() >= 2, "the rest of the text is searchable for a viewer");
}
