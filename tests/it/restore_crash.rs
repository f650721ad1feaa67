//! A restore killed by SIGKILL at any instant loses no acknowledged write: each one is in the live
//! database or in a listed backup that verifies, and the next start is clean (no leftovers).

use crate::support::daemon::Daemon;
use crate::support::open_read_only;
use atlas_actors::backup::file;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

async fn call(url: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let request = client
        .request(awc::http::Method::from_bytes(method.as_bytes()).unwrap(), format!("{url}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")));
    let sent = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    };
    match sent {
        Ok(mut response) => (response.status().as_u16(), response.json().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

fn holds(db: &Path, id: &str) -> bool {
    let conn = open_read_only(db);
    conn.query_row("SELECT count(*) FROM projects WHERE id = ?1", [id], |r| r.get::<_, i64>(0)).unwrap() == 1
}

#[actix_rt::test]
async fn a_restore_killed_at_any_instant_loses_no_acknowledged_write() {
    for delay_ms in [0u64, 3, 10, 25, 60, 150, 400] {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Daemon::start(ATLAS, dir.path(), &[], &[]);
        let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
        let padding = "x".repeat(2_000);
        for i in 0..300 {
            let body = json!({ "name": format!("before-{i}"), "description": padding });
            assert_eq!(call(&daemon.url, "POST", "/api/v1/projects", &token, Some(body)).await.0, 201);
        }
        let (status, backup) = call(&daemon.url, "POST", "/api/v1/admin/backups", &token, None).await;
        assert_eq!(status, 201, "{backup}");
        let mut acknowledged = Vec::new();
        for i in 0..20 {
            let (status, made) =
                call(&daemon.url, "POST", "/api/v1/projects", &token, Some(json!({ "name": format!("after-{i}") })))
                    .await;
            assert_eq!(status, 201);
            acknowledged.push(made["id"].as_str().unwrap().to_owned());
        }
        let restore = format!("/api/v1/admin/backups/{}/restore", backup["id"].as_str().unwrap());
        let (url, token2) = (daemon.url.clone(), token.clone());
        let request =
            actix_rt::spawn(
                async move { call(&url, "POST", &restore, &token2, Some(json!({ "confirm": true }))).await },
            );
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        daemon.signal("KILL");
        daemon.wait_exit(Duration::from_secs(5));
        let _ = request.await;

        let mut restarted = Daemon::start(ATLAS, dir.path(), &[], &[]);
        let (status, _) = call(&restarted.url, "GET", "/readyz", &token, None).await;
        assert_eq!(status, 200, "a clean start after a kill {delay_ms} ms into the restore");
        restarted.signal("TERM");
        restarted.wait_exit(Duration::from_secs(15));

        let data = dir.path().join("data");
        for leftover in ["atlas.db.restore-marker", "atlas.db.pre-restore", "atlas.db.restore-tmp"] {
            assert!(!data.join(leftover).exists(), "{leftover} left behind after a kill at {delay_ms} ms");
        }
        let live = data.join("atlas.db");
        let backups = dir.path().join("backups");
        let listed = file::list(&backups).unwrap();
        let mut in_backups = std::collections::HashSet::new();
        for manifest in &listed {
            let verified = file::verify(&backups, &manifest.id, chrono::Utc::now()).unwrap();
            if verified.verified_ok != Some(true) {
                continue;
            }
            let plain = file::materialize(&backups, &verified, &dir.path().join("check.db")).unwrap();
            for id in &acknowledged {
                if holds(&plain, id) {
                    in_backups.insert(id.clone());
                }
            }
        }
        let lost: Vec<&String> =
            acknowledged.iter().filter(|id| !holds(&live, id) && !in_backups.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "killed {delay_ms} ms into the restore: {} acknowledged writes lost: {lost:?}",
            lost.len()
        );
    }
}
