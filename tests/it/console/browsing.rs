//! The data browser in Chromium: the SQL box refusing a write, stopping a runaway recursive CTE at its
//! time limit and capping rows, each answer a link to share; a 50,000-row table opening with a capped
//! count, paged both ways, filtered from the form and by a facet (each count checked against SQL), and
//! sorted on a column no index serves.

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

    // An answer lives at its own URL: the address bar, and the link offered, run it again.
    run_sql(&browser, base, "SELECT 40 + 2 AS answer").await;
    let url = browser.client.current_url().await.unwrap().to_string();
    assert!(url.contains("sql=SELECT+40+%2B+2+AS+answer"), "the address bar holds the query: {url}");
    let share = browser.client.find(fantoccini::Locator::Css("#share-link")).await.unwrap();
    let link = share.attr("href").await.unwrap().unwrap();
    browser.goto(&format!("{base}/console/browse")).await;
    browser.goto(&format!("{base}{link}")).await;
    assert_eq!(browser.text("#result tbody").await, "42", "the shared link answers the same");
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
         INSERT INTO tasks (id, project_id, title, assignee, created_at, updated_at)
         SELECT printf('task-%05d', i), ?1, printf('bulk %d', i), printf('user%d', i % 4),
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
    let first_page = browser.text("#rows tbody").await;
    assert!(!browser.exists("#prev-page").await, "nothing before the first page");
    browser.follow("#next-page").await;
    assert_ne!(browser.text("#rows tbody").await, first_page, "the next page shows other rows");
    let rows = browser.client.find_all(fantoccini::Locator::Css("#rows tbody tr")).await.unwrap().len();
    assert_eq!(rows, 100, "the next page too");
    browser.follow("#prev-page").await;
    assert_eq!(browser.text("#rows tbody").await, first_page, "the previous page is the first again");

    // A filter from the form, then a facet's value: each count as SQL counts it.
    let count = |sql: &str| -> i64 {
        let conn = crate::support::open_read_only(&app.db_path());
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    browser.choose("#filter-column", "title").await;
    browser.choose("#filter-op", "contains").await;
    browser.fill("#filter-value", "BULK 4999").await;
    let url = browser.follow("#add-filter-button").await;
    assert!(url.contains("title__contains=BULK+4999"), "the view is its URL: {url}");
    let matching = count("SELECT count(*) FROM tasks WHERE title LIKE '%bulk 4999%'");
    assert_eq!(browser.text("#row-count").await, format!("{matching} rows where title contains \"BULK 4999\""));
    assert!(browser.text("#facets").await.contains("assignee"), "a few-valued column is a facet");
    let in_facet = count("SELECT count(*) FROM tasks WHERE title LIKE '%bulk 4999%' AND assignee = 'user3'");
    let facet = browser.text("#facets").await;
    assert!(facet.contains(&format!("user3 {in_facet}")), "the facet counts as SQL does: {facet}");
    let link =
        browser.client.find(fantoccini::Locator::XPath("//section[@id='facets']//a[bdi='user3']")).await.unwrap();
    link.click().await.unwrap();
    browser.wait_text("#row-count", "assignee", std::time::Duration::from_secs(10)).await;
    assert_eq!(
        browser.text("#row-count").await,
        format!("{in_facet} rows where title contains \"BULK 4999\" and assignee is \"user3\"")
    );
    let export = browser.client.find(fantoccini::Locator::Css("#export-csv")).await.unwrap();
    let href = export.attr("href").await.unwrap().unwrap();
    assert!(href.contains("title__contains=") && href.contains("assignee=user3"), "the export is of this view: {href}");
    browser.screenshot("table-filtered").await;

    // A sort on a column no index serves, answered under the time limit.
    browser.goto(&format!("{}/console/browse/tables/tasks", app.url)).await;
    let began = Instant::now();
    browser.follow("a[aria-label='Sort by title, descending']").await;
    println!("50,000 rows sorted on an unindexed column in {:?} (navigation included)", began.elapsed());
    let conn = crate::support::open_read_only(&app.db_path());
    let top: String = conn.query_row("SELECT title FROM tasks ORDER BY title DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert!(browser.text("#rows tbody tr").await.contains(&top), "the largest title first: {top}");
    browser.goto(&format!("{}/console/browse", app.url)).await;
    assert!(browser.text("#tables").await.contains("10,000+"), "the table list caps it too");
    browser.close().await;
    app.stop().await.unwrap();
}
