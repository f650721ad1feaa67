//! Found by attacking the panic boundary, long work and storage faults; each failed before its fix.

use crate::supervision::wait_restarted;
use crate::support::damage::damage_object;
use crate::support::small_disk::{fill, SmallDisk};
use crate::support::{test_settings, TestApp};
use atlas_actors::backup::BackupRequest;
use atlas_actors::fault::Fault;
use atlas_actors::registry::names;
use atlas_actors::scheduler::RunNowError;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

async fn slow_app(projects: usize) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.backup.pages_per_step = 1;
    settings.backup.step_pause_ms = 20;
    let app = TestApp::spawn_with(dir, settings).await;
    let admin = app.admin_token();
    let text = "z".repeat(4000);
    for i in 0..projects {
        let body = json!({ "name": format!("p{i}"), "description": text });
        assert_eq!(app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await.0, 201);
    }
    app
}

fn backup_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|e| e.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A request queued behind one whose future panics is answered: the panicking one's caller gets the
/// panic as an error, the next one its answer (neither a "Mailbox closed").
#[actix_rt::test]
async fn a_request_queued_behind_one_that_panics_is_answered() {
    let app = TestApp::spawn().await;
    let backup = app.handles.backup.clone();
    backup.inject(Fault::PanicInHandler).await;
    let (first, second) = tokio::join!(
        backup.ask(BackupRequest::Create, crate::support::tester()),
        backup.ask(BackupRequest::List, crate::support::tester())
    );
    let (first, second) = (first.map(|_| ()), second.map(|_| ()));
    assert!(
        first.as_ref().is_err_and(|why| !why.message().contains("Mailbox")),
        "the armed fault fired in the first operation, and its caller was told: {first:?}"
    );
    assert_eq!(second, Ok(()), "the request queued behind it is answered");
}

/// A panic elsewhere in the Backup actor while a create runs on the blocking pool: the create goes on as a
/// task of its own, keeps the turn (a failing operation after it waits, so its sweep cannot delete the
/// copy being written), stays in the health report, and its caller is answered.
#[actix_rt::test]
async fn a_restart_mid_backup_keeps_the_running_create_its_turn_and_its_caller() {
    let app = slow_app(60).await;
    let backups = app.dir.path().join("backups");
    let backup = app.handles.backup.clone();
    let running = actix_rt::spawn(async move { backup.ask(BackupRequest::Create, crate::support::tester()).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let copying = backup_files(&backups);
    assert!(copying.iter().any(|n| n.ends_with(".db")), "the copy is being written: {copying:?}");
    app.handles.backup.inject(Fault::PanicNow).await;
    wait_restarted(&app.handles.registry, names::BACKUP, 1).await;
    let operation = app.handles.registry.status(names::BACKUP).unwrap().operation;
    assert!(operation.is_some_and(|o| o.starts_with("backup create")), "the running copy is still shown");
    // A failing operation sweeps leftovers after it fails: it must wait for the create.
    let failed = app.handles.backup.ask(BackupRequest::Verify("atlas_nope".into()), crate::support::tester()).await;
    assert!(failed.is_err());
    let answer = tokio::time::timeout(Duration::from_secs(30), running).await.expect("answered").unwrap();
    let Ok(atlas_actors::backup::BackupAnswer::One(made)) = answer else { panic!("the create's caller: {answer:?}") };
    let listed = atlas_actors::backup::file::list(&backups).unwrap();
    assert!(
        listed.iter().any(|m| m.id == made.id) && backups.join(&made.file).exists(),
        "{:?}",
        backup_files(&backups)
    );
}

/// A scheduler restart keeps a running job: it is still shown running, and running it again is refused
/// (`AlreadyRunning`) while the first instance goes on in its owner.
#[actix_rt::test]
async fn a_scheduler_restart_keeps_a_running_job_running_and_unstartable() {
    let app = slow_app(60).await;
    let scheduler = app.handles.scheduler.clone();
    let first = actix_rt::spawn(async move { scheduler.run_now("backup", crate::support::tester()).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.handles.scheduler.inject(Fault::PanicNow).await;
    wait_restarted(&app.handles.registry, names::SCHEDULER, 1).await;
    let listed = app.handles.scheduler.list().await.unwrap();
    let slot = listed.iter().find(|j| j.job == "backup").unwrap();
    let owner = app.handles.registry.status(names::BACKUP).unwrap().operation;
    assert!(owner.is_some_and(|o| o.starts_with("backup create")), "the first run goes on in the Backup actor");
    assert!(slot.running, "the restarted scheduler still shows it running: {slot:?}");
    let second = app.handles.scheduler.run_now("backup", crate::support::tester()).await;
    assert_eq!(second.map(|r| r.ok), Err(RunNowError::AlreadyRunning("backup".into())), "unstartable while it runs");
    drop(first);
}

async fn app_with_verified_backup() -> (tempfile::TempDir, String, String) {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    for i in 0..20 {
        let body = json!({ "name": format!("p{i}"), "description": "d".repeat(2000) });
        assert_eq!(app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await.0, 201);
    }
    let (status, backup) = app.call("POST", "/api/v1/admin/backups", Some(&admin), None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap().to_owned();
    let (status, _) = app.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), Some(&admin), None).await;
    assert_eq!(status, 200);
    let (stopped, dir) = app.stop_keeping_files().await;
    stopped.unwrap();
    (dir, id, admin)
}

/// The database as a reader sees it: the file and its WAL.
fn sha(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
    (std::fs::read(path).unwrap(), wal)
}

/// Damaged mode refuses the writer's maintenance as it refuses commands: a VACUUM never rewrites a file
/// served read-only as damaged (damage on the freelist: quick_check fails, a VACUUM would not read it).
#[actix_rt::test]
async fn vacuum_never_writes_to_a_database_served_read_only_as_damaged() {
    use std::io::{Seek, SeekFrom, Write};
    let (dir, _id, admin) = app_with_verified_backup().await;
    let db = dir.path().join("data/atlas.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE scratch(x); INSERT INTO scratch SELECT randomblob(3000) FROM \
            (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) SELECT i FROM n); \
            DROP TABLE scratch; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap();
        assert!(free > 10, "{free}");
    }
    let header = std::fs::read(&db).unwrap();
    let trunk = u32::from_be_bytes(header[32..36].try_into().unwrap()) as u64;
    let page = u16::from_be_bytes(header[16..18].try_into().unwrap()) as u64;
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.seek(SeekFrom::Start((trunk - 1) * page)).unwrap();
    file.write_all(&vec![0xa5; page as usize]).unwrap();
    file.sync_all().unwrap();
    drop(file);
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    let (status, ready) = app.ready().await;
    eprintln!("readyz: {status} {}", ready["checks"]["storage"]);
    assert_eq!(status, 503, "damaged: {ready}");
    let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(json!({"name": "x"}))).await;
    assert_eq!(status, 503, "{answer}");
    let before = sha(&app.db_path());
    let (status, answer) = app.call("POST", "/api/v1/admin/db/vacuum", Some(&admin), None).await;
    let after = sha(&app.db_path());
    eprintln!("vacuum on a damaged database: {status} {answer}; WAL {} -> {} bytes", before.1.len(), after.1.len());
    assert!(before == after, "the damaged database was rewritten by a maintenance write ({status} {answer})");
}

/// A database whose schema_migrations table is damaged can still be restored through Atlas both ways the
/// advice names: the CLI with no service running, and the service itself, which starts read-only.
#[actix_rt::test]
async fn a_damaged_migrations_table_still_starts_read_only_and_the_cli_restore_works() {
    let (dir, id, _admin) = app_with_verified_backup().await;
    let db = dir.path().join("data/atlas.db");
    damage_object(&db, "schema_migrations");
    let settings = test_settings(&dir);
    let cli = actix_rt::task::spawn_blocking(move || atlas::backup_cli::run(&settings, BackupRequest::Restore(id)))
        .await
        .unwrap();
    assert!(cli.is_ok(), "the CLI restores with no service running: {cli:?}");
    let conn = crate::support::open_read_only(&db);
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).unwrap();
    assert_eq!((check.as_str(), crate::support::count(&conn, "SELECT count(*) FROM projects")), ("ok", 20));

    let (dir, id, admin) = app_with_verified_backup().await;
    damage_object(&dir.path().join("data/atlas.db"), "schema_migrations");
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    assert!(app.handles.writer.storage().refusal().is_some(), "the service starts, read-only");
    let (status, body) = app.restore(&admin, &id).await;
    assert_eq!(status, 200, "the running service restores it: {body}");
    let (status, body) = app.call("POST", "/api/v1/projects", Some(&admin), Some(json!({ "name": "after" }))).await;
    assert_eq!(status, 201, "writable again: {body}");
}

/// A damaged tokens table: serve still starts, read-only (the bootstrap's token count does not stop it).
#[actix_rt::test]
async fn a_damaged_tokens_table_still_starts_read_only() {
    let (dir, id, _) = app_with_verified_backup().await;
    let db = dir.path().join("data/atlas.db");
    damage_object(&db, "api_tokens");
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings.clone()).await;
    // No token can be read, so /readyz shows only what fails (the advice is in the log and `atlas backup`).
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert!(ready["failing"].as_array().unwrap().iter().any(|f| f == "storage"), "{ready}");
    // The tokens cannot be read: the advised way out is the CLI restore with the service stopped.
    let (stopped, dir) = app.stop_keeping_files().await;
    stopped.unwrap();
    let restore = {
        let (settings, id) = (settings.clone(), id.clone());
        actix_rt::task::spawn_blocking(move || atlas::backup_cli::run(&settings, BackupRequest::Restore(id)))
    };
    let restored = restore.await.unwrap();
    assert!(restored.is_ok(), "{restored:?}");
    let app = TestApp::spawn_with(dir, settings).await;
    let (status, ready) = app.ready().await;
    assert_eq!(status, 200, "{ready}");
}

/// A verification on a full disk (its scratch decompression hits ENOSPC) says it could not check the
/// backup here and records nothing: a good backup is never marked as having failed verification.
#[actix_rt::test]
async fn a_full_disk_during_verification_never_marks_a_good_backup_failed() {
    let disk = SmallDisk::mount(24);
    let dir = tempfile::TempDir::new_in(&disk.mount).unwrap();
    let mut settings = test_settings(&dir);
    settings.backup.compress = true;
    let app = TestApp::spawn_with(dir, settings).await;
    let admin = app.admin_token();
    for i in 0..400 {
        let body = json!({ "name": format!("p{i}"), "description": "q".repeat(4000) });
        assert_eq!(app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await.0, 201);
    }
    let (status, backup) = app.call("POST", "/api/v1/admin/backups", Some(&admin), None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap().to_owned();
    let db_size = std::fs::metadata(app.db_path()).unwrap().len();
    let filler = fill(&disk.mount);
    // Give back less than the database's size: the staged copy starts, then runs out of space.
    let f = std::fs::OpenOptions::new().write(true).open(&filler).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - db_size / 2).unwrap();
    drop(f);
    let (status, answer) = app.restore(&admin, &id).await;
    eprintln!("restore on a full disk: {status} {answer}");
    let data: Vec<String> = backup_files(app.db_path().parent().unwrap());
    eprintln!("data directory after the failed restore: {data:?}");
    std::fs::remove_file(filler).unwrap();
    let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(json!({"name": "after"}))).await;
    eprintln!("write after freeing: {status} {answer}");
    let (_, listed) = app.call("GET", "/api/v1/admin/backups", Some(&admin), None).await;
    eprintln!("listed after freeing: {listed}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(app.dir.path().join(format!("backups/{id}.manifest.json"))).unwrap())
            .unwrap();
    assert_ne!(manifest["verified_ok"], json!(false), "a full disk recorded a good backup as failed: {manifest}");
}
