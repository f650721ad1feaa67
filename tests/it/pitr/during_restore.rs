//! What happens while an online restore runs: writers through restores to `latest` (no acknowledged write
//! lost, a held write answered 503 `restoring`), a run in flight through the swap, a hanging bucket.

use super::*;

/// Writers keep posting through two online restores to `latest`, back to back: every write acknowledged
/// (201) is in the database afterwards; a write the restore held off is answered 503 `restoring` with
/// `Retry-After`, never acknowledged and lost.
#[actix_rt::test]
async fn writes_acknowledged_during_an_online_restore_to_latest_are_all_kept() {
    // Shipping every second: the outbox is trimmed under the rebuild, which is then redone with writes held.
    writers_through_two_restores(1).await;
    // Shipping rarely: the rebuilt copy catches up with the outbox while writes are held.
    writers_through_two_restores(3600).await;
}

async fn writers_through_two_restores(ship_every_s: u64) {
    let moto = Moto::start(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = pitr_settings(&dir, &moto.endpoint);
    settings.pitr.ship_every_s = ship_every_s;
    settings.pitr.max_lag_s = 3600;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let (code, snapshot) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(code, 201, "{snapshot}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, token, stop) = (team.app.url.clone(), team.admin.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut acknowledged, mut held) = (Vec::new(), 0);
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    i += 1;
                    let name = format!("w{w}-{i}");
                    let sent = client
                        .post(format!("{url}/api/v1/projects"))
                        .bearer_auth(&token)
                        .json(&json!({ "name": name }))
                        .send()
                        .await;
                    let Ok(answer) = sent else { continue };
                    match answer.status().as_u16() {
                        201 => acknowledged.push(name),
                        503 => {
                            assert!(answer.headers().contains_key("retry-after"), "a held write says when to retry");
                            let body: Value = answer.json().await.unwrap_or_default();
                            assert_eq!(body["error"]["code"], "restoring", "{body}");
                            held += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        other => panic!("a write answered {other}"),
                    }
                }
                (acknowledged, held)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut reports = Vec::new();
    for _ in 0..2 {
        let (code, report) = restore_to(&team, "latest").await;
        assert_eq!(code, 200, "{report}");
        reports.push(report);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut acknowledged, mut held) = (Vec::new(), 0);
    for writer in writers {
        let (names, refused) = writer.await.unwrap();
        acknowledged.extend(names);
        held += refused;
    }
    let kept: std::collections::HashSet<String> = open_read_only(&team.app.db_path())
        .prepare("SELECT name FROM projects")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|n| !kept.contains(*n)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost: {lost:?}", lost.len(), acknowledged.len());
    assert!(acknowledged.len() > 20, "the writers kept writing: {}", acknowledged.len());
    // Each report counts the rows it swapped in, the caught-up ones included: every project committed
    // by the change it was restored through.
    for report in &reports {
        let through = report["restored_through"].as_str().unwrap();
        let swapped: i64 = open_read_only(&team.app.db_path())
            .query_row("SELECT count(*) FROM projects WHERE created_at <= ?1", [through], |r| r.get(0))
            .unwrap();
        assert_eq!(report["row_counts"]["projects"], swapped, "{report}");
    }
    eprintln!("{} writes acknowledged, {held} held off with 503 restoring", acknowledged.len());
}

/// A run still going when a restore to `latest` swaps keeps going in this Atlas: its real end is
/// recorded (it used to be marked failed by the swap, and its result then refused).
#[actix_rt::test]
async fn a_run_in_flight_through_a_restore_to_latest_records_its_real_end() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    until_based(&team).await;
    let project = team.project("runs").await;
    let task = team.task(&project, "slow", Some(vec!["sh", "-c", "sleep 2; echo done"])).await;
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    let run = if status == 202 {
        let id = approval["id"].as_str().unwrap();
        let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
        assert_eq!(status, 200);
        let (_, runs) = team.call("GET", &format!("/api/v1/runs?task_id={task}"), &team.viewer, None).await;
        runs["items"][0]["id"].as_str().unwrap().to_owned()
    } else {
        assert_eq!(status, 201, "{approval}");
        approval["id"].as_str().unwrap().to_owned()
    };
    team.until_running(&run).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // its process is recorded
    let (code, report) = restore_to(&team, "latest").await;
    assert_eq!(code, 200, "{report}");
    let ended = team.finished_run(&task).await;
    assert_eq!(
        (ended["status"].as_str(), ended["exit_code"].as_i64()),
        (Some("success"), Some(0)),
        "the run's real end after the restore: {ended}"
    );
    assert!(ended["output"].as_str().unwrap_or_default().contains("done"), "{ended}");
}

/// A bucket that accepts connections and never answers: the restore rebuilds with writes still taken,
/// so the whole wait costs no refused write, and it fails without touching the database.
#[actix_rt::test]
async fn a_hanging_bucket_refuses_no_write_while_a_restore_waits_for_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // accepted, never answered
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = pitr_settings(&dir, &endpoint);
    settings.offsite.request_timeout_s = 1;
    settings.pitr.ship_every_s = 3600;
    settings.pitr.max_lag_s = 3600;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let restore = {
        let (url, token) = (team.app.url.clone(), team.admin.clone());
        actix_rt::spawn(async move {
            post(&url, &token, "/api/v1/admin/restore", json!({ "to": "latest", "confirm": true })).await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut written = 0;
    while !restore.is_finished() {
        let (code, body) =
            team.call("POST", "/api/v1/projects", &team.admin, Some(json!({ "name": format!("p{written}") }))).await;
        assert_eq!(code, 201, "a write while the restore waits for the bucket: {body}");
        written += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, answer) = restore.await.unwrap();
    assert_ne!(code, 200, "the restore cannot succeed without its bucket: {answer}");
    assert!(written > 5, "writes went on while the restore waited: {written}");
    assert_eq!(project_names(&team).await.len(), written, "the database is untouched");
}
