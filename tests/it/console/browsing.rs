//! The data browser in Chromium: the SQL box refusing a write, stopping a runaway recursive CTE at its
//! time limit and capping rows; a 50,000-row table opening with a capped count.

use super::browser::Browser;
use crate::api::Team;
use crate::support::{test_settings, TestApp};
use std::time::Instant;

async fn run_sql(browser: &Browser, base: &str, sql: &str) {
    browser.goto(&format!("{base}/console/browse")).await;
    browser.fill("#sql", sql).await;
    browser.click("#run-sql").await;
    browser.wait_path("/console/browse/sql").await;
    browser.wait_for("#refusal, #summary").await;
}

#[actix_rt::test]
async fn the_sql_box_refuses_writes_stops_runaways_and_caps_rows() {
    let team = Team::new().await;
    let browser = Browser::start().await;
    let base = &team.app.url;
    browser.sign_in(base, &team.viewer).await;

    run_sql(&browser, base, "DELETE FROM tasks").await;
    let refusal = browser.text("#refusal").await;
    assert!(refusal.contains("SELECT, WITH or EXPLAIN"), "the refusal names the statement-kind guard: {refusal}");

    let began = Instant::now();
    run_sql(&browser, base, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
        .await;
    let refusal = browser.text("#refusal").await;
    println!("runaway CTE refused after {:?} in the browser (limit 1000 ms)", began.elapsed());
    assert!(refusal.contains("time limit"), "the refusal names the time limit: {refusal}");

    run_sql(
        &browser,
        base,
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 5000) SELECT n FROM r",
    )
    .await;
    assert!(browser.text("#truncated").await.contains("first 1000 rows"), "the cap is said");
    let shown = browser.client.find_all(fantoccini::Locator::Css("#result tbody tr")).await.unwrap().len();
    assert_eq!(shown, 1000, "browser.max_rows rows and no more");
    browser.screenshot("sql").await;

    run_sql(&browser, base, "SELECT name, token_hash FROM api_tokens").await;
    assert!(browser.text("#refusal").await.contains("api_tokens"), "the token table is refused in the SQL box");

    let (_, audit) = team.call("GET", "/api/v1/audit?type=browser.queried&limit=10", &team.admin, None).await;
    let audited = audit["items"].as_array().unwrap();
    assert_eq!(audited.len(), 4, "every query the box ran or refused is on record: {audit}");
    assert!(audited.iter().all(|e| e["actor"] == "viewer"));
    browser.close().await;
}

#[actix_rt::test]
async fn a_table_of_fifty_thousand_rows_opens_with_a_capped_count() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(&dir);
    // The rows are laid down while Atlas is stopped, straight into the file: a fixture, not a write path.
    let app = TestApp::spawn_with(dir, settings.clone()).await;
    let team = Team::with_app(app).await;
    let project = team.project("big").await;
    let (_, dir) = team.app.stop_keeping_files().await;
    let conn = rusqlite::Connection::open(dir.path().join("data/atlas.db")).unwrap();
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 50000)
         INSERT INTO tasks (id, project_id, title, created_at, updated_at)
         SELECT printf('task-%05d', i), ?1, printf('bulk %d', i),
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM n",
        [&project],
    )
    .unwrap();
    drop(conn);
    let app = TestApp::spawn_with(dir, settings).await;
    let admin = app.admin_token();
    let browser = Browser::start().await;
    browser.sign_in(&app.url, &admin).await;
    let began = Instant::now();
    browser.goto(&format!("{}/console/browse/tables/tasks", app.url)).await;
    println!("a 50,000-row table opened in {:?} (Chromium's navigation, server and rendering)", began.elapsed());
    assert_eq!(browser.text("#row-count").await, "10,000+ rows", "the count stops at 10,000");
    let rows = browser.client.find_all(fantoccini::Locator::Css("#rows tbody tr")).await.unwrap().len();
    assert_eq!(rows, 100, "one page of rows");
    browser.screenshot("table").await;
    let first_page = browser.text("#rows tbody tr").await;
    browser.click("#next-page").await;
    browser.wait_for("#rows").await;
    assert_ne!(browser.text("#rows tbody tr").await, first_page, "the next page shows other rows");
    let rows = browser.client.find_all(fantoccini::Locator::Css("#rows tbody tr")).await.unwrap().len();
    assert_eq!(rows, 100, "the next page too");
    browser.goto(&format!("{}/console/browse", app.url)).await;
    assert!(browser.text("#tables").await.contains("10,000+"), "the table list caps it too");
    browser.close().await;
    app.stop().await.unwrap();
}
