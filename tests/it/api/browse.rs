//! POST /api/v1/browse/sql: the guarded SQL box over HTTP, audited.

use super::Team;
use crate::support::{count, open_read_only};
use serde_json::{json, Value};

async fn sql(team: &Team, token: &str, sql: &str) -> (u16, Value) {
    team.call("POST", "/api/v1/browse/sql", token, Some(json!({ "sql": sql }))).await
}

#[actix_rt::test]
async fn a_viewer_reads_with_sql_and_every_query_is_audited() {
    let team = Team::new().await;
    let (status, answer) = sql(&team, &team.viewer, "SELECT name FROM sqlite_schema WHERE type = 'table'").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["columns"], json!(["name"]));
    assert!(answer["rows"].as_array().unwrap().len() >= 5);
    assert_eq!(answer["truncated"], json!(false));
    assert!(answer["elapsed_ms"].is_u64());
    let (status, refused) = sql(&team, &team.viewer, "DELETE FROM tasks").await;
    assert_eq!(status, 400);
    assert!(refused["error"]["message"].as_str().unwrap().contains("statement kind"), "{refused}");
    let conn = open_read_only(&team.app.db_path());
    let audited = count(&conn, "SELECT count(*) FROM events WHERE type = 'browser.queried' AND actor = 'viewer'");
    assert_eq!(audited, 2, "the answered query and the refused one are both on record");
    let refusal_recorded =
        count(&conn, "SELECT count(*) FROM events WHERE type = 'browser.queried' AND payload LIKE '%refused: statement kind%DELETE FROM tasks%'");
    let payloads: Vec<String> = conn
        .prepare("SELECT payload FROM events WHERE type = 'browser.queried'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(refusal_recorded, 1, "{payloads:?}");
}

#[actix_rt::test]
async fn the_sql_box_never_shows_a_token_hash_and_stops_runaway_queries() {
    let team = Team::new().await;
    let (status, answer) = sql(&team, &team.admin, "SELECT * FROM api_tokens").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("not allowed"), "{answer}");
    // The point-in-time outbox holds each batch's changeset, token rows (and their hashes) included.
    for internal in ["SELECT hex(changeset) FROM pitr_outbox", "SELECT * FROM sink_outbox", "SELECT * FROM sheet_cells"]
    {
        let (status, answer) = sql(&team, &team.viewer, internal).await;
        assert_eq!(status, 400, "{internal}: {answer}");
    }
    let hashes = open_read_only(&team.app.db_path())
        .prepare("SELECT token_hash FROM api_tokens")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let text = answer.to_string();
    assert!(hashes.iter().all(|h| !text.contains(h.as_str())), "no hash in {text}");
    let runaway = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT max(i) FROM c";
    let (status, refused) = sql(&team, &team.viewer, runaway).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("time limit"), "{refused}");
    let (status, capped) = sql(
        &team,
        &team.viewer,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i FROM n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(capped["rows"].as_array().unwrap().len(), 1000);
    assert_eq!(capped["truncated"], json!(true));
    let (status, _) = team.app.call("POST", "/api/v1/browse/sql", None, Some(json!({ "sql": "SELECT 1" }))).await;
    assert_eq!(status, 401);
    let (status, missing) =
        team.call("POST", "/api/v1/browse/sql", &team.viewer, Some(json!({ "query": "SELECT 1" }))).await;
    assert_eq!(status, 400, "{missing}");
}

#[actix_rt::test]
async fn the_table_list_caps_counts_and_shows_no_internal_table() {
    let team = Team::new().await;
    let (status, listed) = team.call("GET", "/api/v1/browse/tables", &team.viewer, None).await;
    assert_eq!(status, 200, "{listed}");
    let tables = listed["items"].as_array().unwrap();
    for internal in ["api_tokens", "pitr_outbox", "pitr_timeline", "sink_outbox", "sheet_cells"] {
        assert!(!tables.iter().any(|t| t["name"] == internal), "{internal} is not listed: {listed}");
    }
    let events = tables.iter().find(|t| t["name"] == "events").expect("events is listed");
    assert!(events["rows"].as_i64().unwrap() > 0 && events["rows_capped"] == json!(false), "{events}");
    assert!(!tables.iter().any(|t| t["name"].as_str().unwrap().starts_with("sqlite_")));
    let (status, _) = team.app.call("GET", "/api/v1/browse/tables", None, None).await;
    assert_eq!(status, 401);
}

#[actix_rt::test]
async fn table_rows_page_sort_and_filter_over_http() {
    let team = Team::new().await;
    for i in 0..7 {
        let (status, _) =
            team.call("POST", "/api/v1/projects", &team.admin, Some(json!({ "name": format!("p{}", i % 3) }))).await;
        assert_eq!(status, 201);
    }
    let (status, first) =
        team.call("GET", "/api/v1/browse/tables/projects?limit=3&sort=-created_at", &team.viewer, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["columns"][0], "rowid");
    assert_eq!(first["rows"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (status, second) = team
        .call(
            "GET",
            &format!("/api/v1/browse/tables/projects?limit=3&sort=-created_at&cursor={cursor}"),
            &team.viewer,
            None,
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["rows"].as_array().unwrap().len(), 3);
    assert_ne!(first["rows"][0], second["rows"][0]);
    let (status, filtered) = team.call("GET", "/api/v1/browse/tables/projects?name=p1", &team.viewer, None).await;
    assert_eq!(status, 200, "{filtered}");
    assert_eq!(filtered["rows"].as_array().unwrap().len(), 2);
    for (path, status, named) in [
        ("/api/v1/browse/tables/api_tokens", 404, "table"),
        ("/api/v1/browse/tables/pitr_outbox", 404, "table"),
        ("/api/v1/browse/tables/nope", 404, "table"),
        ("/api/v1/browse/tables/projects?sort=nocolumn", 400, "sort"),
        ("/api/v1/browse/tables/projects?colour=red", 400, "colour"),
        ("/api/v1/browse/tables/projects?limit=0", 400, "limit"),
        ("/api/v1/browse/tables/projects?cursor=%E2%9C%93", 400, "cursor"),
        ("/api/v1/browse/tables/api_tokens?token_hash=abc", 404, "table"),
    ] {
        let (got, body) = team.call("GET", path, &team.viewer, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(named), "{path}: {body}");
    }
}

/// Datasette's basics over HTTP: filters beyond equality, the page before, and a view's summary (its
/// count and facets); a viewer can neither filter, sort nor facet on a payload column.
#[actix_rt::test]
async fn views_filter_page_back_and_summarize_over_http() {
    let team = Team::new().await;
    for i in 0..7 {
        let body = json!({ "name": format!("p{}", i % 3), "description": format!("secret-{i}") });
        let (status, _) = team.call("POST", "/api/v1/projects", &team.admin, Some(body)).await;
        assert_eq!(status, 201);
    }
    let (_, contains) = team.call("GET", "/api/v1/browse/tables/projects?name__contains=P1", &team.viewer, None).await;
    assert_eq!(contains["rows"].as_array().unwrap().len(), 2, "{contains}");
    let (_, first) = team.call("GET", "/api/v1/browse/tables/projects?limit=3&sort=name", &team.viewer, None).await;
    assert_eq!(first["prev_cursor"], serde_json::Value::Null);
    let next = first["next_cursor"].as_str().unwrap();
    let path = format!("/api/v1/browse/tables/projects?limit=3&sort=name&cursor={next}");
    let (_, second) = team.call("GET", &path, &team.viewer, None).await;
    let before = second["prev_cursor"].as_str().expect("a page before the second");
    let path = format!("/api/v1/browse/tables/projects?limit=3&sort=name&before={before}");
    let (_, back) = team.call("GET", &path, &team.viewer, None).await;
    assert_eq!(back["rows"], first["rows"], "back is where it came from");

    let (status, summed) = team.call("GET", "/api/v1/browse/tables/projects/summary", &team.admin, None).await;
    assert_eq!(status, 200, "{summed}");
    assert_eq!(summed["summary"]["rows"], 7);
    let facets = summed["summary"]["facets"].as_array().unwrap();
    let name = facets.iter().find(|f| f["column"] == "name").expect("name is a facet");
    assert_eq!(name["values"], json!([["p0", 3], ["p1", 2], ["p2", 2]]), "{summed}");
    let (_, filtered) = team.call("GET", "/api/v1/browse/tables/projects/summary?name__lt=p2", &team.admin, None).await;
    assert_eq!(filtered["summary"]["rows"], 5, "{filtered}");
    for path in [
        "/api/v1/browse/tables/projects/summary?description__contains=secret",
        "/api/v1/browse/tables/projects?description__isnull=0",
        "/api/v1/browse/tables/projects?sort=description",
    ] {
        let (status, body) = team.call("GET", path, &team.viewer, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("description"), "{path}: {message}");
    }
    let (status, _) = team.call("GET", "/api/v1/browse/tables/projects?sort=description", &team.admin, None).await;
    assert_eq!(status, 200, "others may sort on it");
    for (path, named) in [
        ("/api/v1/browse/tables/projects?name__like=p", "name__like"),
        ("/api/v1/browse/tables/projects?name__isnull=maybe", "name__isnull"),
        ("/api/v1/browse/tables/projects?cursor=00&before=00", "before"),
    ] {
        let (status, body) = team.call("GET", path, &team.viewer, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(named), "{path}: {body}");
    }
    let (status, _) = team.call("GET", "/api/v1/browse/tables/api_tokens/summary", &team.admin, None).await;
    assert_eq!(status, 404, "the token table has no summary either");

    // A payload's hash is a payload to a viewer: a guessed secret could be checked against it offline.
    let body = json!({ "project_id": first["rows"][0][1], "title": "PGPASSWORD=hunter2" });
    let (status, asked) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "{asked}");
    let (_, rows) = team.call("GET", "/api/v1/browse/tables/approvals", &team.viewer, None).await;
    let column = rows["columns"].as_array().unwrap().iter().position(|c| c == "payload_hash").unwrap();
    assert_eq!(rows["rows"][0][column], Value::Null, "{rows}");
    let (_, approval) =
        team.call("GET", &format!("/api/v1/approvals/{}", asked["id"].as_str().unwrap()), &team.viewer, None).await;
    assert_eq!(approval["payload_hash"], "[REDACTED]", "{approval}");
}

#[actix_rt::test]
async fn refusals_before_the_query_are_audited_and_slow_queries_leave_the_api_its_reads() {
    let team = Team::new().await;
    let huge = format!("SELECT '{}'", "x".repeat(30_000));
    let (status, _) = sql(&team, &team.viewer, &huge).await;
    assert_eq!(status, 400);
    let (status, _) = sql(&team, &team.viewer, " \u{3000}\n").await;
    assert_eq!(status, 400);
    let conn = open_read_only(&team.app.db_path());
    assert_eq!(
        count(&conn, "SELECT count(*) FROM events WHERE type = 'browser.queried'"),
        2,
        "both refusals are on record"
    );
    // Three runaway queries at once: two run (half the pool of four), the third is told to retry, and the
    // API's own reads go on meanwhile.
    let runaway = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT max(i) FROM c";
    let (a, b, c, read) = futures_util::join!(
        sql(&team, &team.viewer, runaway),
        sql(&team, &team.viewer, runaway),
        sql(&team, &team.viewer, runaway),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            team.call("GET", "/api/v1/projects", &team.viewer, None).await
        }
    );
    let mut statuses = vec![a.0, b.0, c.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [400, 400, 503], "{a:?} {b:?} {c:?}");
    assert_eq!(read.0, 200, "{read:?}");
    let not_run =
        count(&conn, "SELECT count(*) FROM events WHERE type = 'browser.queried' AND payload LIKE '%not run: %'");
    assert_eq!(not_run, 1, "the query told to retry is on record too");
}

/// This process's resident memory, in MB.
fn own_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[actix_rt::test]
async fn a_query_that_blows_up_while_being_prepared_costs_only_its_own_process() {
    let team = Team::new().await;
    // SQLite copies a flattened subquery's expression into every reference: 8^7 copies from 269 bytes,
    // built while preparing (1.5 GB and 5 s when this ran inside Atlas). No WITH, so no weigher helps.
    let mut bomb = "SELECT 1 AS a FROM tasks".to_owned();
    for _ in 0..7 {
        bomb = format!("SELECT a+a+a+a+a+a+a+a AS a FROM ({bomb})");
    }
    let before = own_rss_mb();
    let (status, body) = sql(&team, &team.viewer, &bomb).await;
    let grew = own_rss_mb().saturating_sub(before);
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("memory limit") || message.contains("time limit"),
        "the refusal names its limit: {message}"
    );
    // In-process it would be ~1.5 GB; other tests share this process, so the bar is well above their noise.
    assert!(grew < 700, "Atlas itself grew by {grew} MB: the query ran in-process");
    let (status, _) = sql(&team, &team.viewer, "SELECT count(*) FROM tasks").await;
    assert_eq!(status, 200, "the next query is answered");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=browser.queried&limit=2", &team.admin, None).await;
    assert!(
        audit["items"][1]["payload"]["command"]["outcome"].as_str().unwrap_or_default().starts_with("refused"),
        "{audit}"
    );
}
