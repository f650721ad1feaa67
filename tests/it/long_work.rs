//! Long work never blocks an actor's loop: a backup and an off-site upload that each outlast the heartbeat
//! limit run while every actor keeps beating, readiness stays green and systemd's watchdog keeps being fed.
//! (A genuinely stuck actor still starves the watchdog: `supervision::the_watchdog_is_fed_only_while…`.)

use crate::supervision::{notification, watched_config};
use atlas_actors::backup::offsite::OffsiteConfig;
use atlas_actors::backup::BackupRequest;
use atlas_actors::registry::names;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STALE: Duration = Duration::from_secs(2);

/// An S3 endpoint that takes `delay` to answer every request, then refuses it.
async fn slow_s3(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    actix_rt::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            actix_rt::spawn(async move {
                let mut buffer = vec![0u8; 1 << 16];
                let _ = tokio::time::timeout(delay, async { while stream.read(&mut buffer).await.unwrap_or(0) > 0 {} })
                    .await;
                let body = "<Error><Code>SlowDown</Code><Message>slow</Message></Error>";
                let reply = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    endpoint
}

/// Runs `operation` while checking, every 200 ms, that Atlas is ready and that the watchdog was fed within
/// the last second; returns the operation's answer and how long it took.
async fn watched_while<T: 'static>(
    handles: &atlas_actors::Handles,
    socket: &tokio::net::UnixDatagram,
    operation: impl std::future::Future<Output = T> + 'static,
) -> (T, Duration) {
    let started = Instant::now();
    let running = actix_rt::spawn(operation);
    let mut saw_operation = false;
    while !running.is_finished() {
        let fed = notification(socket, "WATCHDOG=1", Duration::from_secs(1)).await;
        assert!(fed.is_some(), "the watchdog went unfed for a second, {:?} into the operation", started.elapsed());
        while notification(socket, "", Duration::from_millis(1)).await.is_some() {}
        let report = handles.health.readiness().await.unwrap();
        assert!(report.ready, "not ready {:?} into the operation: {:?}", started.elapsed(), report.checks);
        saw_operation |= report.actors[names::BACKUP].operation.is_some();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(saw_operation, "the health report names the running operation");
    (running.await.unwrap(), started.elapsed())
}

#[actix_rt::test]
async fn a_backup_and_an_upload_longer_than_the_heartbeat_limit_keep_atlas_ready_and_the_watchdog_fed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, socket) = watched_config(&dir, STALE);
    config.backup.options.pages_per_step = 1;
    config.backup.options.pause_between_steps = Duration::from_millis(25);
    config.backup.offsite = Some(OffsiteConfig {
        endpoint: slow_s3(STALE * 2).await,
        region: "us-east-1".into(),
        bucket: "atlas".into(),
        prefix: String::new(),
        access_key_id: "testing".into(),
        secret_access_key: atlas_actors::domain::Secret("testing-secret".into()),
        allow_http: true,
        keep: 3,
        request_timeout: Duration::from_secs(10),
        max_retries: 0,
    });
    let handles = atlas_actors::start(config, std::sync::Arc::new(atlas_actors::domain::SystemClock)).await.unwrap();
    assert!(notification(&socket, "WATCHDOG=1", Duration::from_secs(3)).await.is_some(), "fed at start");

    // A backup copied one page per step (its upload to the slow endpoint follows).
    let backup = handles.backup.clone();
    let (made, took) =
        watched_while(
            &handles,
            &socket,
            async move { backup.ask(BackupRequest::Create, crate::support::tester()).await },
        )
        .await;
    let Ok(atlas_actors::backup::BackupAnswer::One(manifest)) = made else { panic!("{made:?}") };
    assert!(took > STALE * 2, "the backup and its upload outlasted the heartbeat limit: {took:?}");
    assert!(manifest.upload_error.is_some(), "the slow endpoint refused the upload: {manifest:?}");

    // The upload alone, asked again.
    let backup = handles.backup.clone();
    let id = manifest.id.clone();
    let (uploaded, took) = watched_while(&handles, &socket, async move {
        backup.ask(BackupRequest::Upload(id), crate::support::tester()).await
    })
    .await;
    assert!(uploaded.is_err(), "{uploaded:?}");
    assert!(took > STALE, "the upload outlasted the heartbeat limit: {took:?}");
    assert_eq!(handles.registry.status(names::BACKUP).unwrap().operation, None, "the operation is over");
    handles.shutdown().await.unwrap();
}
