//! Token handling: the first-start admin token file, tokens made over the API and by the CLI beside a
//! running service.

use super::Team;
use crate::support::TestApp;
use serde_json::json;

#[actix_rt::test]
async fn the_first_start_writes_one_admin_token_to_a_private_file() {
    let app = TestApp::spawn().await;
    let file = app.dir.path().join("data/admin.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let token = app.admin_token();
    assert!(token.starts_with("atlas_") && token.len() == 70, "{token}");
    let (status, body) = app.call("GET", "/api/v1/admin/tokens", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["name"], "admin");
    assert!(!body.to_string().contains(&token[6..]), "the secret is never listed");

    let conn = crate::support::open_read_only(&app.db_path());
    let stored: String =
        conn.query_row("SELECT token_hash FROM api_tokens WHERE name = 'admin'", [], |r| r.get(0)).unwrap();
    assert_ne!(stored, token, "only the hash is stored");
    let events: String = conn.query_row("SELECT group_concat(payload) FROM events", [], |r| r.get(0)).unwrap();
    assert!(!events.contains(&stored) && !events.contains(&token), "neither the token nor its hash is audited");

    let dir = app.dir.path().to_path_buf();
    let (stopped, kept) = app.stop_keeping_files().await;
    stopped.unwrap();
    let settings = crate::support::test_settings(&kept);
    let again = TestApp::spawn_with(kept, settings).await;
    assert_eq!(std::fs::read_to_string(dir.join("data/admin.token")).unwrap().trim(), token, "no second token is made");
    again.stop().await.unwrap();
}

#[actix_rt::test]
async fn tokens_made_over_the_api_work_and_names_are_never_reused() {
    let team = Team::new().await;
    let (status, created) = team
        .call("POST", "/api/v1/admin/tokens", &team.admin, Some(json!({ "name": "deploy-bot", "role": "agent" })))
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    assert_eq!(team.call("GET", "/api/v1/projects", token, None).await.0, 200);
    let (status, _) = team
        .call("POST", "/api/v1/admin/tokens", &team.admin, Some(json!({ "name": "deploy-bot", "role": "viewer" })))
        .await;
    assert_eq!(status, 409);
    let (status, body) =
        team.call("POST", "/api/v1/admin/tokens", &team.admin, Some(json!({ "name": "x", "role": "root" }))).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("invalid role"), "{body}");
    let (status, body) = team
        .call("POST", "/api/v1/admin/tokens", &team.admin, Some(json!({ "name": "bad name", "role": "viewer" })))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("invalid name"), "{body}");
}

#[actix_rt::test]
async fn the_cli_creates_a_token_while_the_service_runs() {
    let app = TestApp::spawn().await;
    let db = app.db_path();
    // The service applies it (over its admin socket): the CLI never opens a second writer.
    let (cwd, path) = (app.dir.path().to_path_buf(), db.display().to_string());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_atlas"))
            .current_dir(cwd)
            .args(["token", "create", "--name", "from-cli", "--role", "approver", "--set"])
            .arg(format!("database.path={path:?}"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the running service created the token"));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let (status, body) = app.call("GET", "/api/v1/approvals", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    // Recorded under `cli:` and the Unix user the kernel names as the socket's peer.
    let (_, audit) = app.call("GET", "/api/v1/audit?type=token.created", Some(&app.admin_token()), None).await;
    let by_cli = audit["items"].as_array().unwrap().iter().find(|e| e["aggregate_id"] == "from-cli").cloned();
    assert_eq!(by_cli.map(|e| e["actor"].clone()), Some(atlas::cli_actor::this_user().as_str().into()), "{audit}");

    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_atlas"))
        .current_dir(app.dir.path())
        .args(["token", "list", "--set"])
        .arg(format!("database.path={:?}", db.display().to_string()))
        .output()
        .unwrap();
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains("from-cli") && text.contains("approver") && !text.contains(&token), "{text}");
    app.stop().await.unwrap();
}

/// Tokens are checked against an in-memory table (no read-pool round trip); every change reaches it before
/// the change's caller is answered: a new token works, a revoked one is refused, and a restore brings the
/// restored file's tokens, each on the very next request.
#[actix_rt::test]
async fn the_in_memory_token_table_follows_every_change_at_once() {
    let team = Team::new().await;
    let read = |token: String| {
        let app = &team.app;
        async move { app.call("GET", "/api/v1/projects", Some(&token), None).await.0 }
    };
    assert_eq!(read(team.viewer.clone()).await, 200, "the table is loaded");
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{backup}");
    let made = json!({ "name": "late-bot", "role": "viewer" });
    let (status, created) = team.call("POST", "/api/v1/admin/tokens", &team.admin, Some(made)).await;
    assert_eq!(status, 201, "{created}");
    let late = created["token"].as_str().unwrap().to_owned();
    assert_eq!(read(late.clone()).await, 200, "a token made after the table was loaded works at once");

    let (status, _) = team.call("DELETE", "/api/v1/admin/tokens/viewer", &team.admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(read(team.viewer.clone()).await, 401, "a revoked token is refused on the next request");

    let id = backup["id"].as_str().unwrap();
    let (status, restored) = team.app.restore(&team.admin, id).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(read(late).await, 401, "the restored file has no such token");
    assert_eq!(read(team.viewer.clone()).await, 200, "the restored file's viewer token is live again");
}

/// An admin cannot lock everyone out: the last admin token, its own included, is not revoked (409 naming
/// why) until another admin token exists.
#[actix_rt::test]
async fn the_last_admin_token_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let (status, body) = app.call("DELETE", "/api/v1/admin/tokens/admin", Some(&admin), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("last admin token"), "{body}");
    let (status, made) = app
        .call("POST", "/api/v1/admin/tokens", Some(&admin), Some(json!({ "name": "second", "role": "admin" })))
        .await;
    assert_eq!(status, 201, "{made}");
    let (status, body) = app.call("DELETE", "/api/v1/admin/tokens/admin", Some(&admin), None).await;
    assert_eq!(status, 200, "with another admin it goes: {body}");
    let second = made["token"].as_str().unwrap();
    let (status, _) = app.call("DELETE", "/api/v1/admin/tokens/second", Some(second), None).await;
    assert_eq!(status, 409, "and that one is now the last");
    // An old row named like Atlas's own actors can never sign in, so it does not count as an admin.
    rusqlite::Connection::open(app.db_path())
        .unwrap()
        .execute(
            "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) VALUES ('system', 'admin', ?1, 'x', 'legacy')",
            ["a".repeat(64)],
        )
        .unwrap();
    let (status, _) = app.call("DELETE", "/api/v1/admin/tokens/second", Some(second), None).await;
    assert_eq!(status, 409, "a token that cannot sign in is no other admin");
    app.stop().await.unwrap();
}
