//! Overload is graceful: with every read connection busy, a read waits a bounded time and is then
//! answered 503 `busy` with `Retry-After`, never left waiting for seconds.

use crate::support::{test_settings, TestApp};
use std::time::Duration;

#[actix_rt::test]
async fn a_saturated_read_pool_answers_503_busy_with_retry_after_within_the_bounded_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.database.read_pool_size = 1;
    settings.database.read_wait_ms = 100;
    let app = TestApp::spawn_with(dir, settings).await;
    let admin = app.admin_token();
    assert_eq!(app.call("GET", "/api/v1/projects", Some(&admin), None).await.0, 200, "the token table is loaded");

    // The one read connection is held by a slow read.
    let readers = app.handles.readers.clone();
    let slow = actix_rt::spawn(async move {
        readers
            .read(|conn| {
                std::thread::sleep(Duration::from_secs(2));
                conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = awc::Client::default()
        .get(format!("{}/api/v1/projects", app.url))
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .send()
        .await
        .unwrap();
    // Answered while the slow read still holds the pool's one connection: the bounded wait ended first.
    assert!(!slow.is_finished(), "the 503 came after the slow read, not after the bounded wait");
    assert_eq!(response.status().as_u16(), 503);
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(retry_after.as_deref(), Some("1"));
    let mut response = response;
    let body: serde_json::Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "busy", "{body}");
    slow.await.unwrap().unwrap();
    assert_eq!(app.call("GET", "/api/v1/projects", Some(&admin), None).await.0, 200, "served again");
}
