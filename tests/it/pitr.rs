//! Point-in-time recovery against moto's S3 server: restore to a noted time (A present, B absent), a
//! restore from the bucket alone onto an empty directory after SIGKILL under load, a changeset that does
//! not apply (refused, the original untouched), a migration inside the chain, and the drill.

use crate::api::Team;
use crate::support::daemon::Daemon;
use crate::support::moto::Moto;
use crate::support::{count, open_read_only, test_settings, TestApp};
use atlas_actors::pitr::segment;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

mod during_restore;
mod one_bucket;

const BUCKET: &str = "atlas-pitr";
const PREFIX: &str = "site-p/";

fn pitr_settings(dir: &tempfile::TempDir, endpoint: &str) -> atlas::settings::Settings {
    let mut settings = test_settings(dir);
    settings.offsite.enabled = true;
    settings.offsite.endpoint = endpoint.to_owned();
    settings.offsite.allow_http = true;
    settings.offsite.bucket = BUCKET.into();
    settings.offsite.prefix = PREFIX.into();
    settings.offsite.access_key_id = "testing".into();
    settings.offsite.secret_access_key = "testing-secret".into();
    settings.offsite.max_retries = 0;
    settings.offsite.request_timeout_s = 10;
    settings.pitr.enabled = true;
    settings.pitr.ship_every_s = 1;
    settings
}

async fn pitr_team(moto: &Moto) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let settings = pitr_settings(&dir, &moto.endpoint);
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

async fn status(team: &Team) -> Value {
    let (code, body) = team.call("GET", "/api/v1/admin/pitr", &team.admin, None).await;
    assert_eq!(code, 200, "{body}");
    body
}

/// Waits (bounded) until a snapshot starts the chain and every change committed up to `through` is
/// off-site. (An empty outbox is no sign: each admin call, this poll too, is itself an audited change.)
async fn until_shipped(team: &Team, through: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = status(team).await;
        let shipped = now["shipper"]["shipped_through_at"].as_str().is_some_and(|at| at >= through);
        if now["shipper"]["base"].is_string() && shipped {
            return now;
        }
        assert!(Instant::now() < deadline, "not shipped through {through} within 30 s: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the chain's first snapshot.
async fn until_based(team: &Team) -> Value {
    until_shipped(team, "").await
}

async fn made_project(team: &Team, name: &str) -> Value {
    let (code, body) = team.call("POST", "/api/v1/projects", &team.admin, Some(json!({ "name": name }))).await;
    assert_eq!(code, 201, "{body}");
    body
}

async fn project_names(team: &Team) -> Vec<String> {
    let (code, body) = team.call("GET", "/api/v1/projects?limit=500", &team.viewer, None).await;
    assert_eq!(code, 200, "{body}");
    let mut names: Vec<String> =
        body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

async fn restore_to(team: &Team, to: &str) -> (u16, Value) {
    team.call("POST", "/api/v1/admin/restore", &team.admin, Some(json!({ "to": to, "confirm": true }))).await
}

/// The segment objects of every timeline, by name relative to the prefix.
async fn segments(moto: &Moto) -> Vec<String> {
    use futures_util::StreamExt;
    let store = moto.store(BUCKET);
    let under = ObjectPath::from(format!("{PREFIX}pitr"));
    let mut names: Vec<String> = store
        .list(Some(&under))
        .map(|meta| meta.unwrap().location.as_ref().strip_prefix(PREFIX).unwrap().to_owned())
        .collect()
        .await;
    names.sort();
    names
}

async fn records_of(moto: &Moto, name: &str) -> Vec<segment::Record> {
    let object = moto.store(BUCKET).get(&ObjectPath::from(format!("{PREFIX}{name}"))).await.unwrap();
    segment::decode(&object.bytes().await.unwrap()).unwrap()
}

async fn put_segment(moto: &Moto, name: &str, records: &[segment::Record]) {
    let location = ObjectPath::from(format!("{PREFIX}{name}"));
    moto.store(BUCKET).put(&location, segment::encode(records).into()).await.unwrap();
}

#[actix_rt::test]
async fn a_restore_to_a_noted_time_has_a_and_not_b_and_forks_a_new_chain() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    let idle = until_based(&team).await;
    assert_eq!(idle["enabled"], true);
    assert!(idle["restorable_through"].is_string(), "{idle}");
    let a = made_project(&team, "A, before the noted time").await;
    let noted = a["created_at"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = made_project(&team, "B, after it").await;
    let shipped = until_shipped(&team, b["created_at"].as_str().unwrap()).await;
    assert!(shipped["shipper"]["segments_uploaded"].as_u64().unwrap() >= 1, "{shipped}");
    assert!(shipped["shipper"]["last_upload_error"].is_null(), "{shipped}");
    let timeline = shipped["shipper"]["timeline"].as_str().unwrap().to_owned();

    let (code, drill) = team
        .call("POST", "/api/v1/admin/restore", &team.admin, Some(json!({ "to": noted, "verify_only": true })))
        .await;
    assert_eq!(code, 200, "{drill}");
    assert_eq!(drill["verify_only"], true);
    assert_eq!(project_names(&team).await, ["A, before the noted time", "B, after it"], "a drill swaps nothing");
    let (code, job) = team.call("POST", "/api/v1/admin/schedules/pitr_drill/run", &team.admin, None).await;
    assert_eq!(code, 200, "{job}");
    assert!(job["ok"] == true && job["detail"].as_str().unwrap().contains("integrity ok"), "{job}");
    let (_, drilled) = team.call("GET", "/api/v1/audit?type=backup.pitr_drilled", &team.admin, None).await;
    assert_eq!(
        drilled["items"].as_array().map(Vec::len),
        Some(2),
        "the API drill and the job are on record: {drilled}"
    );

    let (code, report) = restore_to(&team, &noted).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["integrity"], "ok");
    assert!(report["changes_applied"].as_u64().unwrap() >= 1, "A came from a changeset: {report}");
    assert_eq!(report["restored_through"], noted.as_str());
    assert_eq!(project_names(&team).await, ["A, before the noted time"], "B is gone, A is there");
    assert!(report["safety_backup"].is_string(), "{report}");
    // The restored database's own record: who restored, to when, and the safety backup.
    let (_, audit) = team.call("GET", "/api/v1/audit?type=backup.pitr_restored", &team.admin, None).await;
    let restored = &audit["items"][0];
    assert_eq!(restored["actor"], "admin", "{audit}");
    let command = &restored["payload"]["command"];
    assert_eq!((&command["to"], &command["safety_backup"]), (&json!(noted), &report["safety_backup"]), "{audit}");

    // The restored database ships under a timeline of its own, from a snapshot of its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let forked = status(&team).await;
        if forked["shipper"]["timeline"].as_str() != Some(timeline.as_str()) && forked["shipper"]["base"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot for the new timeline within 30 s: {forked}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = made_project(&team, "C, on the new timeline").await;
    until_shipped(&team, c["created_at"].as_str().unwrap()).await;
    let (code, latest) = restore_to(&team, "latest").await;
    assert_eq!(code, 200, "{latest}");
    assert_eq!(project_names(&team).await, ["A, before the noted time", "C, on the new timeline"]);
    let (_, audit) = team.call("GET", "/api/v1/audit?type=backup.pitr_restored", &team.admin, None).await;
    assert!(audit["items"].as_array().is_some_and(|items| !items.is_empty()), "{audit}");
}

#[actix_rt::test]
async fn a_changeset_that_does_not_apply_stops_the_restore_and_leaves_the_original() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    until_based(&team).await;
    let alpha = made_project(&team, "alpha").await;
    let shipped = until_shipped(&team, alpha["created_at"].as_str().unwrap()).await;
    let timeline = shipped["shipper"]["timeline"].as_str().unwrap().to_owned();
    let last_seq = shipped["shipper"]["shipped_through_seq"].as_i64().unwrap();
    // A change that inserts alpha a second time: it cannot apply after the real one.
    let mut replayed = None;
    for name in segments(&moto).await.into_iter().filter(|n| n.contains(&timeline)) {
        for record in records_of(&moto, &name).await {
            if record.changeset.windows(5).any(|w| w == b"alpha") {
                replayed = Some((name.clone(), record));
            }
        }
    }
    let (alpha_segment, mut conflicting) = replayed.expect("alpha's change was shipped");
    conflicting.seq = last_seq + 1;
    put_segment(&moto, &segment::name(&timeline, last_seq + 1, last_seq + 1), &[conflicting]).await;
    let before = project_names(&team).await;

    let (code, refused) = restore_to(&team, "latest").await;
    assert_eq!(code, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains(&format!("changeset {}", last_seq + 1)) && message.contains("does not apply"),
        "{refused}"
    );
    assert_eq!(project_names(&team).await, before, "the live database is untouched");
    made_project(&team, "still writable").await;
    let leftovers: Vec<_> = std::fs::read_dir(team.app.db_path().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restore-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "the rebuilt copy is gone: {leftovers:?}");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=backup.pitr_restore_failed", &team.admin, None).await;
    assert!(audit["items"][0]["payload"].to_string().contains("does not apply"), "{audit}");

    // A lost segment is refused too, naming the gap, rather than replayed around.
    let fake = segment::name(&timeline, last_seq + 1, last_seq + 1);
    moto.store(BUCKET).delete(&ObjectPath::from(format!("{PREFIX}{fake}"))).await.unwrap();
    let after = made_project(&team, "after the lost segment").await;
    until_shipped(&team, after["created_at"].as_str().unwrap()).await;
    moto.store(BUCKET).delete(&ObjectPath::from(format!("{PREFIX}{alpha_segment}"))).await.unwrap();
    let (code, refused) = restore_to(&team, "latest").await;
    assert_eq!(code, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("missing from the bucket"), "{refused}");
    assert_eq!(
        project_names(&team).await,
        ["after the lost segment", "alpha", "still writable"],
        "the live database is untouched"
    );
}

#[actix_rt::test]
async fn a_migration_inside_the_chain_ends_it() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    until_based(&team).await;
    let a = made_project(&team, "A, before the migration").await;
    let before_migration = a["created_at"].as_str().unwrap().to_owned();
    let a_shipped = until_shipped(&team, &before_migration).await;
    let through_a = a_shipped["shipper"]["shipped_through_seq"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = made_project(&team, "B, after the migration").await;
    let after_migration = b["created_at"].as_str().unwrap().to_owned();
    let shipped = until_shipped(&team, &after_migration).await;
    let timeline = shipped["shipper"]["timeline"].as_str().unwrap().to_owned();
    // What an upgrade in between would have left: every change after A taken at the next schema version.
    let next_version = atlas_actors::store::migrate::latest_version() + 1;
    for name in segments(&moto).await.into_iter().filter(|n| n.contains(&timeline)) {
        let mut records = records_of(&moto, &name).await;
        for record in records.iter_mut().filter(|r| r.seq > through_a) {
            record.schema_version = next_version;
        }
        put_segment(&moto, &name, &records).await;
    }

    let (code, refused) = restore_to(&team, &after_migration).await;
    assert_eq!(code, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("schema migration") && message.contains(&format!("version {next_version}")), "{refused}");
    assert_eq!(project_names(&team).await, ["A, before the migration", "B, after the migration"], "untouched");

    let (code, report) = restore_to(&team, &before_migration).await;
    assert_eq!(code, 200, "the chain up to the migration still restores: {report}");
    assert_eq!(project_names(&team).await, ["A, before the migration"]);
}

#[actix_rt::test]
async fn an_idle_database_uploads_nothing() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    until_based(&team).await;
    // No HTTP from here on (each admin call is an audited change): the monitor and the file are read directly.
    let db = open_read_only(&team.app.db_path());
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&db, "SELECT count(*) FROM pitr_outbox") > 0 {
        assert!(Instant::now() < deadline, "the outbox never emptied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let snapshot = || team.app.handles.pitr.monitor.snapshot();
    // One whole cycle after the outbox emptied (the one that emptied it has counted its segment by then).
    let emptied = snapshot().cycles;
    while snapshot().cycles < emptied + 2 {
        assert!(Instant::now() < deadline, "no shipping cycle ran after the outbox emptied: {:?}", snapshot());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (uploaded, objects) = (snapshot().segments_uploaded, segments(&moto).await);
    let idle_from = snapshot().cycles;
    while snapshot().cycles < idle_from + 3 {
        assert!(Instant::now() < deadline, "three more shipping cycles never ran: {:?}", snapshot());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(snapshot().segments_uploaded, uploaded, "three idle cycles uploaded");
    assert_eq!(segments(&moto).await, objects);
}

#[actix_rt::test]
async fn an_unreachable_bucket_keeps_the_outbox_reports_the_error_and_alerts_on_the_lag() {
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut settings = pitr_settings(&dir, &format!("http://{dead}"));
    settings.offsite.request_timeout_s = 1;
    settings.pitr.max_lag_s = 1;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    made_project(&team, "kept until it is shipped").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let failing = loop {
        let now = status(&team).await;
        if now["shipper"]["consecutive_failures"].as_u64().unwrap_or(0) >= 2 {
            break now;
        }
        assert!(Instant::now() < deadline, "no failures recorded: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(failing["shipper"]["last_upload_error"].as_str().unwrap().contains("off-site"), "{failing}");
    assert!(failing["restorable_through"].is_null(), "no snapshot reached the bucket: {failing}");
    let db = open_read_only(&team.app.db_path());
    let kept = count(&db, "SELECT count(*) FROM pitr_outbox WHERE instr(changeset, CAST('kept until' AS BLOB)) > 0");
    assert_eq!(kept, 1, "nothing leaves the outbox unless its upload is confirmed");
    let (code, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(code, 200, "{health}");
    let check = &health["operations"]["checks"]["pitr_lag"];
    assert_eq!(check["level"], "critical", "{health}");
    assert!(check["detail"].as_str().unwrap().contains("wait to be shipped"), "{health}");
    assert!(health["pitr"]["shipper"]["last_upload_error"].is_string(), "the report carries the figures: {health}");
    let (_, metrics) = team.app.raw("GET", "/metrics", Some(&team.admin), None, None).await;
    let metrics = String::from_utf8(metrics).unwrap();
    let rows = metrics.lines().find(|l| l.starts_with("atlas_pitr_outbox_rows ")).expect("the outbox gauge");
    assert_ne!(rows, "atlas_pitr_outbox_rows 0", "{metrics}");
}

#[actix_rt::test]
async fn a_snapshot_whose_manifest_misplaces_it_is_refused() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    let based = until_based(&team).await;
    let a = made_project(&team, "A").await;
    until_shipped(&team, a["created_at"].as_str().unwrap()).await;
    let base = based["shipper"]["base"].as_str().unwrap();
    let manifest = team.app.dir.path().join(format!("backups/{base}.manifest.json"));
    let honest: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    // One change later than it is: replay would skip a change and still pass every other check.
    let mut skipping = honest.clone();
    skipping["pitr"]["seq"] = json!(honest["pitr"]["seq"].as_i64().unwrap() + 1);
    std::fs::write(&manifest, serde_json::to_vec(&skipping).unwrap()).unwrap();
    let (code, refused) = restore_to(&team, "latest").await;
    assert_eq!(code, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("manifest was altered"), "{refused}");
    assert_eq!(project_names(&team).await, ["A"]);
}

#[actix_rt::test]
async fn latest_on_a_live_database_keeps_what_it_has_not_shipped_yet() {
    let moto = Moto::start(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = pitr_settings(&dir, &moto.endpoint);
    // The shipper never gets round to it: everything after the snapshot stays in the outbox.
    settings.pitr.ship_every_s = 3600;
    settings.pitr.max_lag_s = 3600;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let (code, snapshot) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(code, 201, "{snapshot}");
    made_project(&team, "committed, not shipped").await;
    let (code, report) = restore_to(&team, "latest").await;
    assert_eq!(code, 200, "{report}");
    assert!(report["from_local_outbox"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["ended_by"], "the newest change committed", "{report}");
    assert_eq!(project_names(&team).await, ["committed, not shipped"], "an acknowledged write survives `latest`");
}

#[actix_rt::test]
async fn bad_restore_requests_are_refused_with_the_field_named() {
    let moto = Moto::start(BUCKET).await;
    let team = pitr_team(&moto).await;
    let (code, body) = team
        .call("POST", "/api/v1/admin/restore", &team.admin, Some(json!({ "to": "yesterday", "confirm": true })))
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("to:"), "{body}");
    let (code, body) = team.call("POST", "/api/v1/admin/restore", &team.admin, Some(json!({ "to": "latest" }))).await;
    assert_eq!(code, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("confirm"), "{body}");
    let (code, _) = team
        .call("POST", "/api/v1/admin/restore", &team.approver, Some(json!({ "to": "latest", "confirm": true })))
        .await;
    assert_eq!(code, 403, "admins only");
    let (code, body) = restore_to(&team, "2999-01-01T00:00:00Z").await;
    assert_eq!(code, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("in the future"), "{body}");
    let (code, body) = restore_to(&team, "1999-01-01T00:00:00Z").await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no recovery snapshot"), "{body}");
}

/// `--set` flags for the binary: off-site storage on moto and shipping every second.
fn daemon_flags(endpoint: &str) -> Vec<String> {
    [
        "offsite.enabled=true".to_owned(),
        format!("offsite.endpoint={endpoint:?}"),
        "offsite.allow_http=true".into(),
        format!("offsite.bucket={BUCKET:?}"),
        format!("offsite.prefix={PREFIX:?}"),
        "offsite.access_key_id=\"testing\"".into(),
        "offsite.secret_access_key=\"testing-secret\"".into(),
        "offsite.max_retries=0".into(),
        "pitr.enabled=true".into(),
        "pitr.ship_every_s=1".into(),
    ]
    .into_iter()
    .flat_map(|flag| ["--set".to_owned(), flag])
    .collect()
}

async fn post(url: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let sent = client.post(format!("{url}{path}")).bearer_auth(token).send_json(&body).await;
    match sent {
        Ok(mut response) => (response.status().as_u16(), response.json().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

#[actix_rt::test]
async fn after_sigkill_under_load_latest_restores_onto_an_empty_directory_from_the_bucket_alone() {
    let moto = Moto::start(BUCKET).await;
    let flags = daemon_flags(&moto.endpoint);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let first = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(crate::support::daemon::ATLAS, first.path(), &args, &[]);
    let token = std::fs::read_to_string(first.path().join("data/admin.token")).unwrap().trim().to_owned();
    // The first snapshot is taken by the shipper on its own; wait for it before the load.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
        let mut answer =
            client.get(format!("{}/api/v1/admin/pitr", daemon.url)).bearer_auth(&token).send().await.unwrap();
        let now: Value = answer.json().await.unwrap();
        if now["shipper"]["base"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "no first snapshot within 30 s: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut acknowledged: Vec<(String, Instant)> = Vec::new();
    let load_until = Instant::now() + Duration::from_secs(4);
    let mut i = 0;
    while Instant::now() < load_until {
        let (code, made) = post(&daemon.url, &token, "/api/v1/projects", json!({ "name": format!("load-{i}") })).await;
        assert_eq!(code, 201, "{made}");
        acknowledged.push((made["id"].as_str().unwrap().to_owned(), Instant::now()));
        i += 1;
    }
    daemon.signal("KILL");
    let killed_at = Instant::now();
    daemon.wait_exit(Duration::from_secs(10));

    let fresh = tempfile::tempdir().unwrap();
    // A drill first: it checks the bucket and leaves no empty database behind on this empty machine.
    let drilled = std::process::Command::new(crate::support::daemon::ATLAS)
        .current_dir(fresh.path())
        .args(&args)
        .args(["restore", "--to", "latest", "--from-remote", "--verify-only"])
        .output()
        .unwrap();
    let drill_said = String::from_utf8_lossy(&drilled.stdout).into_owned() + &String::from_utf8_lossy(&drilled.stderr);
    assert!(drilled.status.success() && drill_said.contains("checked (not swapped in)"), "{drill_said}");
    assert!(!fresh.path().join("data/atlas.db").exists(), "a drill on an empty machine leaves no database");
    let restored = std::process::Command::new(crate::support::daemon::ATLAS)
        .current_dir(fresh.path())
        .args(&args)
        .args(["restore", "--to", "latest", "--from-remote", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&restored.stdout).into_owned() + &String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{said}");
    assert!(said.contains("integrity_check ok"), "{said}");
    assert!(said.contains("there was no database here before"), "no safety backup of nothing is claimed: {said}");
    let db = open_read_only(&fresh.path().join("data/atlas.db"));
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    // Shipping runs every second; an upload takes a moment more, so a second of allowance on top.
    let bound = Duration::from_secs(1) + Duration::from_secs(1);
    let mut missing = Vec::new();
    let (mut older, mut recent_present, mut recent) = (0, 0, 0);
    for (id, at) in &acknowledged {
        let present =
            db.query_row("SELECT count(*) FROM projects WHERE id = ?1", [id], |r| r.get::<_, i64>(0)).unwrap() == 1;
        if killed_at.duration_since(*at) > bound {
            older += 1;
            if !present {
                missing.push(id.clone());
            }
        } else {
            recent += 1;
            recent_present += i32::from(present);
        }
    }
    assert!(older > 20, "the load ran long enough to mean something ({older} older writes)");
    assert!(
        missing.is_empty(),
        "{} of {older} writes acknowledged over {bound:?} before the kill are missing",
        missing.len()
    );
    eprintln!("pitr kill test: {older} older writes all present; {recent_present} of {recent} of the last {bound:?}");
}
