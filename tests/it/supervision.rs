//! Panic drills: a panicking actor answers its callers with an error, is restarted by its supervisor, the
//! others keep serving, and nothing acknowledged is lost. An actor that cannot restart ends the process.

use crate::support::{count, open_read_only, TestApp};
use crate::writer::{create_project, submit_concurrently};
use atlas_actors::domain::{Actor, CommandError};
use atlas_actors::fault::Fault;
use atlas_actors::registry::{names, ActorRegistry, ActorState};
use std::time::Duration;

/// Waits (bounded) until `actor` has restarted `restarts` times and runs again.
pub async fn wait_restarted(registry: &ActorRegistry, actor: &str, restarts: u64) {
    for _ in 0..1000 {
        if let Some(status) = registry.status(actor) {
            if status.restarts == restarts && status.state == ActorState::Running {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{actor} did not restart {restarts} time(s): {:?}", registry.status(actor));
}

#[actix_rt::test]
async fn a_writer_panic_restarts_only_the_writer_and_loses_nothing_acknowledged() {
    let app = TestApp::spawn().await;
    let before = submit_concurrently(&app.handles, (0..100).map(|i| create_project(&format!("a{i}"))).collect()).await;
    assert!(before.iter().all(Result::is_ok));

    app.handles.writer.inject(Fault::PanicNow).await;
    wait_restarted(&app.handles.registry, names::WRITER, 1).await;
    let health = app.handles.registry.status(names::HEALTH).unwrap();
    assert_eq!((health.restarts, health.state), (0, ActorState::Running), "health never stopped");
    let writer = app.handles.registry.status(names::WRITER).unwrap();
    assert!(writer.last_error.unwrap().contains("injected fault"));

    let after = submit_concurrently(&app.handles, (0..100).map(|i| create_project(&format!("b{i}"))).collect()).await;
    assert!(after.iter().all(Result::is_ok), "the restarted writer serves");
    let (status, body) = app.ready().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"]["writer"]["restarts"], 1);

    let conn = open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), 200);
    assert_eq!(count(&conn, "SELECT count(*) FROM events WHERE aggregate_type = 'project'"), 200);
    app.stop().await.expect("clean stop after a restart");
}

#[actix_rt::test]
async fn a_panic_inside_a_batch_fails_that_batch_only_and_keeps_every_acknowledged_write() {
    let app = TestApp::spawn().await;
    app.handles.writer.inject(Fault::PanicInNextBatch).await;
    let results = submit_concurrently(&app.handles, (0..300).map(|i| create_project(&format!("c{i}"))).collect()).await;
    let acknowledged = results.iter().filter(|r| r.is_ok()).count();
    let refused = results.iter().filter(|r| matches!(r, Err(CommandError::Unavailable(_)))).count();
    assert!(refused > 0, "the batch that panicked was refused");
    assert_eq!(acknowledged + refused, 300, "every caller got an answer: {:?}", results.iter().find(|r| r.is_err()));
    wait_restarted(&app.handles.registry, names::WRITER, 1).await;

    app.handles.writer.submit(create_project("after"), Actor::new("test")).await.expect("writes work again");
    let conn = open_read_only(&app.db_path());
    assert_eq!(
        count(&conn, "SELECT count(*) FROM projects") as usize,
        acknowledged + 1,
        "exactly the acknowledged writes"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM events WHERE aggregate_type = 'project'") as usize, acknowledged + 1);
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn a_health_panic_restarts_only_health_while_writes_go_on() {
    let app = TestApp::spawn().await;
    app.handles.health.inject(Fault::PanicNow).await;
    let during = submit_concurrently(&app.handles, (0..50).map(|i| create_project(&format!("d{i}"))).collect()).await;
    assert!(during.iter().all(Result::is_ok), "the writer kept serving");
    wait_restarted(&app.handles.registry, names::HEALTH, 1).await;
    assert_eq!(app.handles.registry.status(names::WRITER).unwrap().restarts, 0, "the writer never stopped");

    let (status, body) = app.ready().await;
    assert_eq!(status, 200, "the restarted health actor answers: {body}");
    assert_eq!(body["actors"]["health"]["restarts"], 1);
    let conn = open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), 50);
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn a_writer_that_cannot_reopen_its_database_ends_the_process_with_an_error() {
    let app = TestApp::spawn().await;
    app.handles.writer.submit(create_project("kept"), Actor::new("test")).await.unwrap();
    let db = app.db_path();
    // The disk "loses" the database: the file and its WAL are gone and garbage stands in its place.
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        std::fs::rename(&path, format!("{path}.moved")).unwrap();
    }
    std::fs::write(&db, vec![0x5a_u8; 8192]).unwrap();

    app.handles.writer.inject(Fault::PanicNow).await;
    let err = app.ended().await.expect_err("the app ends on its own");
    assert_eq!(err.exit_code(), 70, "{err}");
    let message = err.to_string();
    assert!(message.contains("writer") && message.contains("reopening the database failed"), "{message}");
}

#[actix_rt::test]
async fn runner_and_scheduler_panics_restart_them_and_they_serve_again() {
    let team = crate::api::Team::new().await;
    team.app.handles.runner.inject(Fault::PanicNow).await;
    team.app.handles.scheduler.inject(Fault::PanicNow).await;
    wait_restarted(&team.app.handles.registry, names::RUNNER, 1).await;
    wait_restarted(&team.app.handles.registry, names::SCHEDULER, 1).await;
    assert_eq!(team.app.handles.registry.status(names::WRITER).unwrap().restarts, 0);

    let project = team.project("after").await;
    let task = team.task(&project, "echo", Some(vec!["echo", "still here"])).await;
    let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    let id = approval["id"].as_str().unwrap();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    let run = team.finished_run(&task).await;
    assert_eq!((run["status"].as_str(), run["output"].as_str()), (Some("success"), Some("still here\n")), "{run}");
    let report = team
        .app
        .handles
        .scheduler
        .run_now("health_check", crate::support::tester())
        .await
        .expect("the restarted scheduler runs jobs");
    assert!(report.ok, "{report:?}");
}

#[actix_rt::test]
async fn housekeeper_sheets_backup_and_notifier_panics_restart_each_while_the_others_serve() {
    let team = crate::api::Team::new().await;
    let handles = team.app.handles.clone();
    handles.housekeeper.inject(Fault::PanicNow).await;
    handles.sheets.inject(Fault::PanicNow).await;
    handles.backup.inject(Fault::PanicNow).await;
    handles.notifier.inject(Fault::PanicNow).await;
    for actor in [names::HOUSEKEEPER, names::SHEETS, names::BACKUP, names::NOTIFIER] {
        wait_restarted(&handles.registry, actor, 1).await;
    }
    for actor in [names::WRITER, names::RUNNER, names::SCHEDULER, names::HEALTH] {
        assert_eq!(handles.registry.status(actor).unwrap().restarts, 0, "{actor} was not touched");
    }
    team.project("writes go on").await;

    // Each restarted actor does its work again.
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "backup: {backup}");
    let expiry =
        handles.scheduler.run_now("approval_expiry", crate::support::tester()).await.expect("housekeeper answers");
    assert!(expiry.ok, "{expiry:?}");
    let sync = handles.scheduler.run_now("sheets_sync", crate::support::tester()).await.expect("sheets_sync answers");
    assert_eq!((sync.ok, sync.detail.as_str()), (true, "Sheets sync is disabled ([sheets] enabled = false)"));
    let delivery = handles.notifier.evaluate(Default::default(), chrono::Utc::now()).await;
    assert_eq!(delivery, Ok(Default::default()), "the notifier answers");
    let (status, ready) = team.app.ready().await;
    assert_eq!(status, 200, "{ready}");
}

/// Waits up to `within` for a datagram containing `wanted`; `None` when none came.
pub async fn notification(socket: &tokio::net::UnixDatagram, wanted: &str, within: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut buffer = [0u8; 256];
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await {
        let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
        if text.contains(wanted) {
            return Some(text);
        }
    }
    None
}

/// Actors in `dir` whose Health feeds a watchdog socket (returned) every 100 ms, beats stale after `stale`.
pub fn watched_config(
    dir: &tempfile::TempDir,
    stale: Duration,
) -> (atlas_actors::SupervisorConfig, tokio::net::UnixDatagram) {
    use atlas_actors::health::watchdog::Watchdog;
    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let mut config =
        atlas_actors::SupervisorConfig::new(atlas_actors::store::StoreConfig::at(dir.path().join("atlas.db")));
    config.health.watchdog =
        Some(Watchdog { socket: socket_path.to_str().unwrap().to_owned(), every: Duration::from_millis(100) });
    config.health.heartbeat_stale_after = chrono::Duration::from_std(stale).unwrap();
    (config, socket)
}

#[actix_rt::test]
async fn the_watchdog_is_fed_only_while_every_actor_beats() {
    let dir = tempfile::tempdir().unwrap();
    let (config, socket) = watched_config(&dir, Duration::from_millis(2500));
    let handles = atlas_actors::start(config, std::sync::Arc::new(atlas_actors::domain::SystemClock)).await.unwrap();
    assert!(notification(&socket, "WATCHDOG=1", Duration::from_secs(3)).await.is_some(), "fed while all beat");

    // The writer's thread is stuck for 6 s: its heartbeat goes stale and the watchdog starves.
    let writer = handles.writer.clone();
    let stalled = actix_rt::spawn(async move { writer.inject(Fault::Stall(Duration::from_secs(6))).await });
    tokio::time::sleep(Duration::from_millis(3500)).await;
    while notification(&socket, "", Duration::from_millis(10)).await.is_some() {} // what was fed before
    assert_eq!(notification(&socket, "WATCHDOG=1", Duration::from_millis(1500)).await, None, "not fed while stuck");
    assert!(handles.registry.all_alive(chrono::Duration::milliseconds(2500)).unwrap_err().contains("writer"));

    stalled.await.unwrap();
    assert!(notification(&socket, "WATCHDOG=1", Duration::from_secs(3)).await.is_some(), "fed again once it beats");
    handles.shutdown().await.unwrap();
}
