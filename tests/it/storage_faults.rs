//! Storage faults are clear and survivable: a full disk (a real, small tmpfs) answers 507 naming the cause,
//! makes Atlas unready and alerts, and writing resumes by itself once space is freed; a database damaged on
//! disk is found at start-up and served read-only, with the restore to run, until a restore replaces it.

use crate::support::small_disk::{fill, SmallDisk};
use crate::support::{count, open_read_only, test_settings, TestApp};
use serde_json::json;
use std::path::Path;

#[actix_rt::test]
async fn a_full_disk_answers_507_makes_atlas_unready_and_writing_resumes_once_space_is_freed() {
    let disk = SmallDisk::mount(16);
    let dir = tempfile::TempDir::new_in(&disk.mount).unwrap();
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    let admin = app.admin_token();
    let filler = fill(&disk.mount);
    let text = "x".repeat(4000);

    let mut acknowledged = 0;
    let mut refused = None;
    for i in 0..400 {
        let body = json!({ "name": format!("p{i}"), "description": text });
        let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await;
        match status {
            201 => acknowledged += 1,
            _ => {
                refused = Some((status, answer));
                break;
            }
        }
    }
    let (status, answer) = refused.expect("a full disk refuses a write");
    assert_eq!(status, 507, "{answer}");
    assert_eq!(answer["error"]["code"], "storage_full", "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("disk holding the database is full"), "{answer}");

    let (status, ready) = app.ready().await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["checks"]["storage"]["ok"], false, "{ready}");
    assert!(ready["checks"]["storage"]["detail"].as_str().unwrap().contains("disk is full"), "{ready}");
    let check = app.handles.scheduler.run_now("health_check", crate::support::tester()).await.unwrap();
    assert!(!check.ok && check.detail.contains("not_ready_storage"), "the storage alert fires: {check:?}");
    let (status, answer) = app.call("POST", "/api/v1/admin/backups", Some(&admin), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (507, Some("storage_full")), "as a write: {answer}");
    assert_eq!(half_made(&app.dir.path().join("backups")), Vec::<String>::new(), "the failed backup left nothing");

    std::fs::remove_file(filler).unwrap();
    let body = json!({ "name": "after", "description": text });
    let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "writing resumes without a restart: {answer}");
    let (status, ready) = app.ready().await;
    assert_eq!(status, 200, "{ready}");
    let conn = open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), acknowledged + 1, "every acknowledged write is there");
    drop(conn);
    app.stop().await.unwrap();
}

/// Files in a backup directory that no manifest accounts for.
fn half_made(dir: &Path) -> Vec<String> {
    let manifests: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    manifests
        .iter()
        .filter(|name| !name.ends_with(".manifest.json"))
        .filter(|name| {
            let id = name.split('.').next().unwrap_or_default();
            id.is_empty() || !manifests.contains(&format!("{id}.manifest.json"))
        })
        .cloned()
        .collect()
}

/// 80 KB of garbage written into the middle of the database file while Atlas is stopped.
fn damage(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let size = std::fs::metadata(db).unwrap().len();
    assert!(size > 400_000, "the database is big enough to damage in the middle: {size} bytes");
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    file.seek(SeekFrom::Start(size / 2 / 4096 * 4096)).unwrap();
    file.write_all(&vec![0xa5; 80 * 1024]).unwrap();
    file.sync_all().unwrap();
}

#[actix_rt::test]
async fn a_database_damaged_on_disk_is_served_read_only_with_the_restore_to_run_until_restored() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let text = "y".repeat(4000);
    for i in 0..60 {
        let body = json!({ "name": format!("p{i}"), "description": text });
        assert_eq!(app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await.0, 201);
    }
    let (status, backup) = app.call("POST", "/api/v1/admin/backups", Some(&admin), None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap().to_owned();
    let (status, verified) = app.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), Some(&admin), None).await;
    assert_eq!((status, verified["verified_ok"].as_bool()), (200, Some(true)), "{verified}");
    let (stopped, dir) = app.stop_keeping_files().await;
    stopped.unwrap();
    damage(&dir.path().join("data/atlas.db"));
    // What crashed backup operations leave behind: a copy without a manifest, a verification's scratch
    // copy, a partial download and a manifest's temporary.
    let backups = dir.path().join("backups");
    for junk in ["atlas_20990101_000000.db", ".verify-x.db", ".atlas_y.db.gz.download", "atlas_z.manifest.json.tmp"] {
        std::fs::write(backups.join(junk), b"half made").unwrap();
    }

    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    let (status, ready) = app.ready().await;
    assert_eq!(status, 503, "{ready}");
    let detail = ready["checks"]["storage"]["detail"].as_str().unwrap();
    assert!(detail.contains("quick_check") && detail.contains(&format!("atlas backup restore {id} --yes")), "{ready}");

    let body = json!({ "name": "refused" });
    let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(body)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("storage_fault")), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("refuses every write") && message.contains(&format!("/backups/{id}/restore")),
        "{message}"
    );
    let (status, listed) = app.call("GET", "/api/v1/admin/backups", Some(&admin), None).await;
    assert_eq!(status, 200, "reads are served: {listed}");
    assert_eq!(half_made(&backups), Vec::<String>::new(), "the start removed what crashes left");
    assert!(backups.join(format!("{id}.manifest.json")).exists() && backups.join(format!("{id}.db.gz")).exists());

    let (status, restored) = app.restore(&admin, &id).await;
    assert_eq!(status, 200, "{restored}");
    let (status, ready) = app.ready().await;
    assert_eq!(status, 200, "{ready}");
    let (status, answer) = app.call("POST", "/api/v1/projects", Some(&admin), Some(json!({ "name": "after" }))).await;
    assert_eq!(status, 201, "writes are taken again after the restore: {answer}");
    let conn = open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), 61);
    drop(conn);
    app.stop().await.unwrap();
}

/// SIGTERM while the disk is full: the WAL cannot be folded into the database, but every acknowledged
/// write is already durable in it, so Atlas exits 0 (as README promises) and the next start has them all.
#[actix_rt::test]
async fn sigterm_on_a_full_disk_exits_cleanly_with_every_acknowledged_write_kept() {
    use crate::support::daemon::{Daemon, ATLAS};
    let disk = SmallDisk::mount(16);
    let dir = tempfile::TempDir::new_in(&disk.mount).unwrap();
    let mut daemon = Daemon::start(ATLAS, dir.path(), &[], &[]);
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
    let client = reqwest::Client::new();
    let filler = fill(&disk.mount);
    let text = "x".repeat(4000);
    let mut acknowledged = 0;
    for i in 0..400 {
        let sent = client
            .post(format!("{}/api/v1/projects", daemon.url))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("p{i}"), "description": text }))
            .send()
            .await
            .unwrap();
        match sent.status().as_u16() {
            201 => acknowledged += 1,
            507 => break,
            other => panic!("a write answered {other}"),
        }
    }
    daemon.signal("TERM");
    let status = daemon.wait_exit(std::time::Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "a clean stop although the WAL could not be checkpointed: {status:?}");
    std::fs::remove_file(filler).unwrap();
    let restarted = Daemon::start(ATLAS, dir.path(), &[], &[]);
    drop(restarted);
    let conn = open_read_only(&dir.path().join("data/atlas.db"));
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), acknowledged, "every acknowledged write is there");
}
