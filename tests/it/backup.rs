//! Backup files: create, verify, list, retention, and damage detection, on a live database.

use crate::support::TestApp;
use crate::writer::{create_project, submit_concurrently};
use atlas_actors::backup::file::{self, BackupOptions};
use std::time::Duration;

fn options(compress: bool) -> BackupOptions {
    BackupOptions { compress, pages_per_step: 64, pause_between_steps: Duration::from_millis(1) }
}

fn at(offset_s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&chrono::Utc)
        + chrono::Duration::seconds(offset_s)
}

#[actix_rt::test]
async fn backups_are_made_listed_and_verified_plain_and_compressed() {
    let app = TestApp::spawn().await;
    submit_concurrently(&app.handles, (0..200).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let dir = app.dir.path().join("backups");
    for (i, compress) in [false, true].into_iter().enumerate() {
        let manifest = file::create(&app.db_path(), &dir, &options(compress), at(i as i64)).unwrap();
        assert_eq!(manifest.row_counts["projects"], 200);
        assert_eq!(manifest.schema_version, atlas_actors::store::migrate::latest_version());
        assert!(manifest.file.ends_with(if compress { ".db.gz" } else { ".db" }), "{}", manifest.file);
        let verified = file::verify(&dir, &manifest.id, at(60)).unwrap();
        assert_eq!((verified.verified_ok, verified.verify_detail.as_deref()), (Some(true), Some("ok")));
    }
    let ids: Vec<String> = file::list(&dir).unwrap().into_iter().map(|m| m.id).collect();
    let short = timeline_short(&app);
    let named = |stamp: &str| format!("atlas_{stamp}_{short}");
    assert_eq!(ids, [named("20261123_100001"), named("20261123_100000")], "newest first, named by time and timeline");
    assert!(file::load(&dir, "../etc/passwd").is_err());
}

/// The first eight characters of the database's timeline, which a backup's name ends with.
fn timeline_short(app: &TestApp) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(app.db_path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let timeline: String = conn.query_row("SELECT timeline FROM pitr_timeline", [], |r| r.get(0)).unwrap();
    timeline[..8].to_owned()
}

#[actix_rt::test]
async fn a_flipped_byte_or_a_truncated_file_is_always_detected() {
    let app = TestApp::spawn().await;
    submit_concurrently(&app.handles, (0..50).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let dir = app.dir.path().join("backups");
    for (offset, compress) in [(0, false), (1, true)] {
        let flipped = file::create(&app.db_path(), &dir, &options(compress), at(offset)).unwrap();
        let path = dir.join(&flipped.file);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let result = file::verify(&dir, &flipped.id, at(60)).unwrap();
        assert_eq!(result.verified_ok, Some(false), "{result:?}");
        assert!(result.verify_detail.unwrap().contains("checksum mismatch"));
    }
    let truncated = file::create(&app.db_path(), &dir, &options(true), at(2)).unwrap();
    let path = dir.join(&truncated.file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let result = file::verify(&dir, &truncated.id, at(60)).unwrap();
    assert_eq!(result.verified_ok, Some(false));
    assert!(result.verify_detail.unwrap().contains("size is"), "truncation is caught before decompressing");
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".verify")),
        "no scratch left"
    );
}

#[actix_rt::test]
async fn retention_keeps_the_newest_and_never_the_only_verified_one() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().join("backups");
    let oldest = file::create(&app.db_path(), &dir, &options(true), at(0)).unwrap();
    file::verify(&dir, &oldest.id, at(1)).unwrap();
    for i in 1..5 {
        file::create(&app.db_path(), &dir, &options(true), at(i * 10)).unwrap();
    }
    let deleted = file::prune(&dir, 2).unwrap();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    let kept: Vec<String> = file::list(&dir).unwrap().into_iter().map(|m| m.id).collect();
    let short = timeline_short(&app);
    let named = |stamp: &str| format!("atlas_{stamp}_{short}");
    assert_eq!(
        kept,
        [named("20261123_100040"), named("20261123_100030"), named("20261123_100000")],
        "the only verified backup stays"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 6, "files and manifests of the deleted ones are gone");
}

#[actix_rt::test]
async fn a_backup_taken_under_concurrent_writes_is_a_consistent_snapshot() {
    let app = TestApp::spawn().await;
    submit_concurrently(&app.handles, (0..2000).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let handles = app.handles.clone();
    let writing = actix_rt::spawn(async move {
        let mut acknowledged = 0;
        for round in 0..20 {
            let results =
                submit_concurrently(&handles, (0..50).map(|i| create_project(&format!("w{round}-{i}"))).collect())
                    .await;
            acknowledged += results.iter().filter(|r| r.is_ok()).count();
        }
        acknowledged
    });
    let (db, dir) = (app.db_path(), app.dir.path().join("backups"));
    let manifest = tokio::task::spawn_blocking(move || {
        let manifest = file::create(
            &db,
            &dir,
            &BackupOptions { compress: true, pages_per_step: 8, pause_between_steps: Duration::from_millis(2) },
            at(0),
        )
        .unwrap();
        (file::verify(&dir, &manifest.id, at(1)).unwrap(), manifest)
    })
    .await
    .unwrap();
    assert_eq!(writing.await.unwrap(), 1000, "every write during the backup was acknowledged");
    let (verified, made) = manifest;
    assert_eq!(verified.verified_ok, Some(true), "{:?}", verified.verify_detail);
    assert!(made.row_counts["projects"] >= 2000 && made.row_counts["events"] >= made.row_counts["projects"]);
}

#[actix_rt::test]
async fn the_admin_api_makes_lists_and_verifies_backups_and_audits_them() {
    let team = crate::api::Team::new().await;
    team.project("before the backup").await;
    let (status, made) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["row_counts"]["projects"], 1);
    let id = made["id"].as_str().unwrap();
    let (status, verified) = team.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), &team.admin, None).await;
    assert_eq!((status, verified["verified_ok"].as_bool()), (200, Some(true)), "{verified}");
    let (_, listed) = team.call("GET", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(team.call("POST", "/api/v1/admin/backups/atlas_19990101_000000/verify", &team.admin, None).await.0, 404);
    assert_eq!(team.call("POST", "/api/v1/admin/backups", &team.approver, None).await.0, 403);
    let (_, audit) = team.call("GET", "/api/v1/audit?aggregate_type=backup", &team.admin, None).await;
    let types: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["backup.verified", "backup.created"]);

    let report = team.app.handles.scheduler.run_now("backup_verify", crate::support::tester()).await.unwrap();
    assert!(report.ok && report.detail.contains("verified"), "{report:?}");
}

#[actix_rt::test]
async fn database_health_stats_vacuum_and_checkpoint() {
    let team = crate::api::Team::new().await;
    submit_concurrently(&team.app.handles, (0..300).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let (status, health) = team.call("GET", "/api/v1/admin/db/health", &team.admin, None).await;
    assert_eq!((status, health["quick_check"].as_str()), (200, Some("ok")), "{health}");
    let wal_before = health["wal_bytes"].as_u64().unwrap();
    assert!(health["page_count"].as_i64().unwrap() > 10 && wal_before > 0, "{health}");
    let (_, stats) = team.call("GET", "/api/v1/admin/db/stats", &team.admin, None).await;
    assert_eq!(stats["rows"]["projects"], 300);
    assert!(stats["database_bytes"].as_u64().unwrap() > 0);

    let (status, checkpoint) = team.call("POST", "/api/v1/admin/db/checkpoint", &team.admin, None).await;
    assert_eq!(status, 200, "{checkpoint}");
    assert!(checkpoint["detail"].as_str().unwrap().starts_with("checkpoint: busy 0"), "{checkpoint}");
    let (_, health) = team.call("GET", "/api/v1/admin/db/health", &team.admin, None).await;
    let wal_after = health["wal_bytes"].as_u64().unwrap();
    assert!(wal_after < wal_before, "the WAL was truncated (only the audit event since): {wal_before} -> {wal_after}");
    let (status, vacuum) = team.call("POST", "/api/v1/admin/db/vacuum", &team.admin, None).await;
    assert_eq!(status, 200, "{vacuum}");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=db.maintained", &team.admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    assert_eq!(team.call("POST", "/api/v1/admin/db/vacuum", &team.approver, None).await.0, 403);
    team.project("after the vacuum").await;
}

fn project_ids(path: &std::path::Path) -> std::collections::HashSet<String> {
    let conn = crate::support::open_read_only(path);
    let mut stmt = conn.prepare("SELECT id FROM projects").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

#[actix_rt::test]
async fn a_restore_under_concurrent_writes_loses_nothing_acknowledged() {
    let team = crate::api::Team::new().await;
    submit_concurrently(&team.app.handles, (0..100).map(|i| create_project(&format!("kept{i}"))).collect()).await;
    let (_, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    let id = backup["id"].as_str().unwrap().to_owned();
    submit_concurrently(&team.app.handles, (0..50).map(|i| create_project(&format!("later{i}"))).collect()).await;

    let handles = team.app.handles.clone();
    let writing = actix_rt::spawn(async move {
        let mut acknowledged = Vec::new();
        for round in 0..20 {
            for result in
                submit_concurrently(&handles, (0..20).map(|i| create_project(&format!("during{round}-{i}"))).collect())
                    .await
            {
                if let atlas_actors::domain::Applied::Project(p) =
                    result.expect("no write fails during a restore").applied
                {
                    acknowledged.push(p.id.to_string());
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        acknowledged
    });
    let operator = team.app.token("ops-alice", atlas_actors::domain::Role::Admin).await;
    let (status, restored) = team.app.restore(&operator, &id).await;
    assert_eq!(status, 200, "{restored}");
    let acknowledged = writing.await.unwrap();
    assert_eq!(acknowledged.len(), 400);

    let live = project_ids(&team.app.db_path());
    let dir = team.app.dir.path().join("backups");
    let safety = file::list(&dir).unwrap().into_iter().find(|m| m.id != id).expect("a safety backup was taken");
    let safety_copy = team.app.dir.path().join("safety.db");
    file::materialize(&dir, &safety, &safety_copy).unwrap();
    let before_restore = project_ids(&safety_copy);
    for project in &acknowledged {
        assert!(live.contains(project) || before_restore.contains(project), "acknowledged write {project} was lost");
    }
    assert!(live.iter().filter(|p| !acknowledged.contains(p)).count() == 100, "the backup's 100 projects are back");
    assert_eq!(before_restore.len() - acknowledged.iter().filter(|p| before_restore.contains(*p)).count(), 150);

    let (status, projects) = team.call("GET", "/api/v1/projects?limit=500", &team.viewer, None).await;
    assert_eq!(
        (status, projects["items"].as_array().unwrap().len()),
        (200, live.len()),
        "readers see the restored file"
    );
    restore_recorded_first(&team.app.db_path(), &dir, &id, &safety.id);
    team.project("after the restore").await;
}

/// The restored database's first event is the restore, by the token that asked, naming the backup and the
/// safety backup: every event before it is the backup's own (a write held during the swap comes after).
fn restore_recorded_first(live: &std::path::Path, dir: &std::path::Path, id: &str, safety: &str) {
    let copy = dir.with_file_name("restored-backup.db");
    file::materialize(dir, &file::load(dir, id).unwrap(), &copy).unwrap();
    let backed_up = crate::support::count(&crate::support::open_read_only(&copy), "SELECT count(*) FROM events");
    let conn = crate::support::open_read_only(live);
    let (at, actor, payload): (i64, String, String) = conn
        .query_row("SELECT id, actor, payload FROM events WHERE type = 'backup.restored'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(actor, "ops-alice", "the restoring token's name: {payload}");
    let command = &payload["command"];
    assert_eq!((command["from"].as_str(), command["safety_backup"].as_str()), (Some(id), Some(safety)), "{payload}");
    assert_eq!(command["from_remote"], false, "{payload}");
    let before = crate::support::count(
        &conn,
        &format!("SELECT count(*) FROM events WHERE id < {at} AND type <> 'run.recovered'"),
    );
    assert_eq!(before, backed_up, "nothing but the backup's own events precede the restore's");
}

/// A backup whose schema carries more than Atlas's migrations make (a trigger rewriting every event's
/// actor, added by whoever could write the backup directory or the bucket) fails verification and is never
/// restored: its trigger would run in the live database.
#[actix_rt::test]
async fn a_backup_with_a_trigger_added_fails_verification_and_is_not_restored() {
    let team = crate::api::Team::new().await;
    team.project("the original").await;
    let (_, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    let dir = team.app.dir.path().join("backups");
    let tampered = team.app.dir.path().join("tampered.db");
    file::materialize(&dir, &file::load(&dir, backup["id"].as_str().unwrap()).unwrap(), &tampered).unwrap();
    rusqlite::Connection::open(&tampered)
        .unwrap()
        .execute_batch("CREATE TRIGGER forge AFTER INSERT ON events BEGIN UPDATE events SET actor = 'system' WHERE id = new.id; END;")
        .unwrap();
    let forged = file::create(&tampered, &dir, &options(true), at(0)).unwrap();
    let path = format!("/api/v1/admin/backups/{}/verify", forged.id);
    let (_, verified) = team.call("POST", &path, &team.admin, None).await;
    assert_eq!(verified["verified_ok"], false, "{verified}");
    assert!(verified["verify_detail"].as_str().unwrap().contains("added trigger forge"), "{verified}");
    let (status, body) = team.app.restore(&team.admin, &forged.id).await;
    assert_eq!(status, 409, "{body}");
    team.project("after the refusal").await;
    let conn = crate::support::open_read_only(&team.app.db_path());
    assert_eq!(
        crate::support::count(&conn, "SELECT count(*) FROM events WHERE actor = 'system' AND type = 'project.created'"),
        0
    );
    assert_eq!(crate::support::count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'forge'"), 0);
}

#[actix_rt::test]
async fn a_failed_restore_leaves_the_original_database_in_place() {
    let team = crate::api::Team::new().await;
    team.project("the original").await;
    // A backup from a newer Atlas: it verifies, but this binary cannot open it.
    let newer = tempfile::tempdir().unwrap();
    let newer_db = newer.path().join("atlas.db");
    atlas_actors::store::migrate_database(
        &atlas_actors::store::StoreConfig::at(&newer_db),
        &atlas_actors::domain::SystemClock,
    )
    .unwrap();
    rusqlite::Connection::open(&newer_db)
        .unwrap()
        .execute("INSERT INTO schema_migrations VALUES (99, '0099_future', 'x', 'now')", [])
        .unwrap();
    let dir = team.app.dir.path().join("backups");
    let foreign = file::create(&newer_db, &dir, &options(true), at(0)).unwrap();

    for body in
        [serde_json::json!({ "confirm": false }), serde_json::json!({}), serde_json::json!({ "confirm": "yes" })]
    {
        let (status, _) =
            team.call("POST", &format!("/api/v1/admin/backups/{}/restore", foreign.id), &team.admin, Some(body)).await;
        assert_eq!(status, 400);
    }
    let (status, body) = team
        .call(
            "POST",
            &format!("/api/v1/admin/backups/{}/restore", foreign.id),
            &team.admin,
            Some(serde_json::json!({ "confirm": true })),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("the original database is back in place"), "{body}");
    let (status, projects) = team.call("GET", "/api/v1/projects", &team.viewer, None).await;
    assert_eq!((status, projects["items"][0]["name"].as_str()), (200, Some("the original")));
    team.project("still writable").await;
    let (_, ready) = team.app.ready().await;
    assert_eq!(ready["ready"], true, "{ready}");
}

/// Between the read pool's release and its reopening on the restored file, reads are answered 503
/// `restoring` with `Retry-After`, never from a stand-in database ("no such table") or with a 500.
#[actix_rt::test]
async fn reads_during_a_restore_are_told_to_retry() {
    use atlas_actors::domain::{Command, NewProject, ProjectId};
    let app = TestApp::spawn().await;
    let token = app.admin_token();
    let padding = "x".repeat(4_000);
    for chunk in 0..8 {
        let commands = (0..500)
            .map(|i| {
                let (id, name) = (ProjectId::generate(), format!("p{chunk}-{i}"));
                Command::CreateProject(NewProject { id, name, description: Some(padding.clone()) })
            })
            .collect();
        assert!(submit_concurrently(&app.handles, commands).await.iter().all(Result::is_ok));
    }
    let (status, backup) = app.call("POST", "/api/v1/admin/backups", Some(&token), None).await;
    assert_eq!(status, 201, "{backup}");
    let restore = format!("{}/api/v1/admin/backups/{}/restore", app.url, backup["id"].as_str().unwrap());
    let bearer = format!("Bearer {token}");
    let restoring = {
        let bearer = bearer.clone();
        actix_rt::spawn(async move {
            let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
            let sent = client
                .post(restore)
                .insert_header(("Authorization", bearer))
                .send_json(&serde_json::json!({ "confirm": true }));
            sent.await.expect("restore answered").status().as_u16()
        })
    };
    let client = awc::Client::default();
    let mut told_to_retry = 0;
    while !restoring.is_finished() {
        let mut response = client
            .get(format!("{}/api/v1/projects?limit=5", app.url))
            .insert_header(("Authorization", bearer.clone()))
            .send()
            .await
            .expect("a read answered");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status == 200 {
            continue;
        }
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("restoring")), "{body}");
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        told_to_retry += 1;
    }
    assert_eq!(restoring.await.unwrap(), 200);
    eprintln!("{told_to_retry} reads were told to retry during the restore");
}

/// A restore interrupted mid-replay (SIGKILL) leaves a journal beside its staging path. The next restore's
/// copy goes to the same path: the stale journal must not be taken as the new file's (SQLite would roll
/// a stranger's pages into it, or refuse a read-only open as "attempt to write a readonly database").
#[actix_rt::test]
async fn a_journal_left_by_an_interrupted_restore_is_never_taken_as_the_next_copys() {
    let app = TestApp::spawn().await;
    submit_concurrently(&app.handles, (0..20).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let dir = app.dir.path().join("backups");
    let manifest = file::create(&app.db_path(), &dir, &options(true), at(0)).unwrap();
    let staged = app.dir.path().join("atlas.db.restore-tmp");
    // The leftover: a copy whose replay was cut off with its transaction's journal on disk.
    file::materialize(&dir, &manifest, &staged).unwrap();
    {
        let conn = rusqlite::Connection::open(&staged).unwrap();
        // Enough changed pages, with a tiny cache, that the journal is synced and pages are written.
        conn.execute_batch(
            "CREATE TABLE junk (x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
             INSERT INTO junk SELECT randomblob(4000) FROM n;
             PRAGMA cache_size = 1;
             BEGIN IMMEDIATE; UPDATE junk SET x = randomblob(4000); DELETE FROM projects;",
        )
        .unwrap();
        let journal = std::fs::read(app.dir.path().join("atlas.db.restore-tmp-journal")).unwrap();
        std::mem::forget(conn); // killed: the transaction never ends
        std::fs::write(app.dir.path().join("kept-journal"), journal).unwrap();
    }
    std::fs::write(
        app.dir.path().join("atlas.db.restore-tmp-journal"),
        std::fs::read(app.dir.path().join("kept-journal")).unwrap(),
    )
    .unwrap();
    std::fs::remove_file(&staged).unwrap();

    file::materialize(&dir, &manifest, &staged).unwrap();
    let conn = rusqlite::Connection::open_with_flags(&staged, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let projects: i64 = conn.query_row("SELECT count(*) FROM projects", [], |r| r.get(0)).unwrap();
    assert_eq!(projects, 20, "the new copy reads as itself");
    assert!(!app.dir.path().join("atlas.db.restore-tmp-journal").exists(), "the stale journal is gone");
}
