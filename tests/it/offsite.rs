//! Off-site copies against moto's S3 server: upload on create, remote retention and listing, restore from
//! remote after the local copies are gone, a damaged remote copy refused, an unreachable store reported.

use crate::api::Team;
use crate::support::moto::Moto;
use crate::support::{test_settings, TestApp};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use serde_json::{json, Value};

const BUCKET: &str = "atlas-backups";

async fn team_with_offsite(endpoint: &str, keep: usize) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.offsite.enabled = true;
    settings.offsite.endpoint = endpoint.to_owned();
    settings.offsite.allow_http = true;
    settings.offsite.bucket = BUCKET.into();
    settings.offsite.prefix = "site-a/".into();
    settings.offsite.access_key_id = "testing".into();
    settings.offsite.secret_access_key = "testing-secret".into();
    settings.offsite.keep = keep;
    settings.offsite.max_retries = 0;
    settings.offsite.request_timeout_s = 10;
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

async fn backup_now(team: &Team) -> Value {
    let (status, body) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn project_names(team: &Team) -> Vec<String> {
    let (status, body) = team.call("GET", "/api/v1/projects?limit=500", &team.viewer, None).await;
    assert_eq!(status, 200, "{body}");
    let mut names: Vec<String> =
        body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

/// The remote object's bytes, or `None` when it does not exist.
async fn remote_object(moto: &Moto, name: &str) -> Option<Vec<u8>> {
    match moto.store(BUCKET).get(&ObjectPath::from(format!("site-a/{name}"))).await {
        Ok(found) => Some(found.bytes().await.unwrap().to_vec()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(other) => panic!("moto: {other}"),
    }
}

async fn audit_types(team: &Team, kind: &str) -> Vec<String> {
    let (_, audit) = team.call("GET", &format!("/api/v1/audit?type={kind}"), &team.admin, None).await;
    audit["items"].as_array().unwrap().iter().map(|e| e["aggregate_id"].as_str().unwrap().to_owned()).collect()
}

#[actix_rt::test]
async fn backups_go_off_site_keep_their_retention_and_restore_from_remote() {
    let moto = Moto::start(BUCKET).await;
    let team = team_with_offsite(&moto.endpoint, 2).await;
    team.project("alpha").await;
    let first = backup_now(&team).await;
    team.project("beta").await;
    let second = backup_now(&team).await;
    let third = backup_now(&team).await;
    for backup in [&first, &second, &third] {
        assert!(backup["uploaded_at"].is_string() && backup["upload_error"].is_null(), "{backup}");
    }
    team.project("gamma, after the last backup").await;

    let (status, remote) = team.call("GET", "/api/v1/admin/backups/remote", &team.admin, None).await;
    assert_eq!(status, 200, "{remote}");
    let remote_ids: Vec<&str> = remote["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(remote_ids, [third["id"].as_str().unwrap(), second["id"].as_str().unwrap()], "keep = 2, newest first");
    assert_eq!(remote["items"][0]["checksum"], third["checksum"]);
    assert_eq!(remote["items"][0]["row_counts"]["projects"], 2);
    assert!(remote_object(&moto, first["file"].as_str().unwrap()).await.is_none(), "the pruned file is gone remotely");
    let kept = remote_object(&moto, third["file"].as_str().unwrap()).await.expect("the newest file is kept");
    let local = std::fs::read(team.app.dir.path().join("backups").join(third["file"].as_str().unwrap())).unwrap();
    assert!(kept == local, "uploaded byte for byte");
    assert_eq!(audit_types(&team, "backup.pruned_remote").await, [first["id"].as_str().unwrap()]);
    assert_eq!(audit_types(&team, "backup.uploaded").await.len(), 3);

    // The VM's disk is lost: no local backups. The remote copy brings the database back.
    let local = team.app.dir.path().join("backups");
    std::fs::remove_dir_all(&local).unwrap();
    let third_id = third["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/backups/remote/{third_id}/restore");
    let (status, body) = team.call("POST", &path, &team.admin, Some(json!({ "confirm": "yes" }))).await;
    assert_eq!(status, 400, "only {{\"confirm\": true}} is accepted: {body}");
    let (status, body) = team.call("POST", &path, &team.admin, Some(json!({ "confirm": true }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], third_id);
    assert_eq!(project_names(&team).await, ["alpha", "beta"], "the database is the one backed up");
    assert!(local.join(third["file"].as_str().unwrap()).is_file(), "the downloaded backup is kept locally");
    assert_eq!(audit_types(&team, "backup.downloaded").await, [third_id]);
    assert_eq!(audit_types(&team, "backup.restored").await, [third_id]);

    let (status, body) = team
        .call(
            "POST",
            "/api/v1/admin/backups/remote/atlas_20000101_000000/restore",
            &team.admin,
            Some(json!({ "confirm": true })),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("atlas_20000101_000000"), "{body}");
    team.project("writes go on after a remote restore").await;
}

#[actix_rt::test]
async fn a_damaged_remote_copy_is_refused_and_an_unreachable_store_is_reported() {
    let moto = Moto::start(BUCKET).await;
    let team = team_with_offsite(&moto.endpoint, 5).await;
    team.project("kept").await;
    let backup = backup_now(&team).await;
    let id = backup["id"].as_str().unwrap();
    let name = backup["file"].as_str().unwrap();
    let mut bytes = remote_object(&moto, name).await.unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    moto.store(BUCKET).put(&ObjectPath::from(format!("site-a/{name}")), bytes.into()).await.unwrap();
    team.project("written after the backup").await;

    let path = format!("/api/v1/admin/backups/remote/{id}/restore");
    let (status, body) = team.call("POST", &path, &team.admin, Some(json!({ "confirm": true }))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("failed verification"), "{body}");
    assert_eq!(project_names(&team).await, ["kept", "written after the backup"], "the original stays in place");

    drop(moto);
    let failed = backup_now(&team).await;
    let why = failed["upload_error"].as_str().expect("the upload failure is on the backup");
    assert!(why.contains("off-site upload"), "{why}");
    assert!(!why.contains("testing-secret"), "the secret never appears in errors: {why}");
    assert!(failed["uploaded_at"].is_null());
    assert_eq!(audit_types(&team, "backup.upload_failed").await, [failed["id"].as_str().unwrap()]);
    let (status, body) = team.call("GET", "/api/v1/admin/backups/remote", &team.admin, None).await;
    assert_eq!(status, 503, "{body}");
    let (status, listed) = team.call("GET", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["upload_error"].as_str(), Some(why), "the list shows which copies are local only");
}

#[actix_rt::test]
async fn remote_operations_without_off_site_storage_are_refused_clearly() {
    let team = Team::new().await;
    let (status, body) = team.call("GET", "/api/v1/admin/backups/remote", &team.admin, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("offsite.enabled"), "{body}");
    let made = backup_now(&team).await;
    assert!(made["uploaded_at"].is_null() && made["upload_error"].is_null(), "local only, no error: {made}");
    let path = format!("/api/v1/admin/backups/{}/upload", made["id"].as_str().unwrap());
    let (status, body) = team.call("POST", &path, &team.admin, None).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = team.call("GET", "/api/v1/admin/backups/remote", &team.viewer, None).await;
    assert_eq!(status, 403, "admin only");
}

#[test]
fn off_site_settings_are_checked_at_load_time() {
    let load = |flags: &[&str]| {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        atlas::settings::load(Some(std::path::Path::new("config/atlas.toml")), Vec::new(), &flags).map(|_| ())
    };
    let err = load(&["offsite.enabled=true"]).unwrap_err().to_string();
    assert!(err.contains("offsite.bucket"), "{err}");
    let err = load(&["offsite.enabled=true", "offsite.bucket=b", "offsite.endpoint=http://127.0.0.1:9000"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("offsite.endpoint") && err.contains("allow_http"), "{err}");
    let err =
        load(&["offsite.enabled=true", "offsite.bucket=b", "offsite.endpoint=s3.example.com"]).unwrap_err().to_string();
    assert!(err.contains("https://"), "{err}");
    assert!(load(&["offsite.enabled=true", "offsite.bucket=b", "offsite.endpoint=https://s3.example.com"]).is_ok());
}
