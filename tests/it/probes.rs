//! /healthz, /readyz and the JSON error shape.

use crate::support::TestApp;

#[actix_rt::test]
async fn healthz_is_alive_and_readyz_reports_every_part() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("alive")));

    let (status, body) = app.ready().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    for check in ["writer", "read_pool", "migrations"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }
    for actor in ["writer", "health"] {
        assert_eq!(body["actors"][actor]["state"], "running", "{body}");
        assert_eq!(body["actors"][actor]["restarts"], 0, "{body}");
    }
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn readyz_is_503_when_the_writer_does_not_answer() {
    let app = TestApp::spawn().await;
    app.handles.writer.shutdown().await.unwrap();
    let (status, body) = app.ready().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["writer"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["read_pool"]["ok"], true, "{body}");
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200, "liveness does not depend on readiness");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn readyz_without_a_token_says_only_ready_or_not_and_what_fails() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!((status, body.clone()), (200, serde_json::json!({ "ready": true, "failing": [] })));
    let (status, body) = app.call("GET", "/readyz", Some("not-a-token"), None).await;
    assert_eq!((status, body["checks"].is_null()), (200, true), "an unknown token sees no more: {body}");
    app.handles.writer.shutdown().await.unwrap();
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["failing", "ready"], "{body}");
    let failing: Vec<&str> = body["failing"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(failing.contains(&"writer") && failing.contains(&"actor:writer"), "{body}");
    assert!(
        failing.iter().all(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == ':')),
        "names only: {body}"
    );
    let (_, full) = app.ready().await;
    assert!(full["checks"]["writer"]["detail"].is_string(), "a token sees the detail: {full}");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn an_access_that_cannot_be_audited_is_refused() {
    let app = TestApp::spawn().await;
    let viewer = app.token("watcher", atlas_actors::domain::Role::Viewer).await;
    let admin = app.admin_token();
    app.handles.writer.shutdown().await.unwrap();
    // A refused access and an admin read are audited before they are answered: with no writer, neither is.
    for (token, what) in [(viewer.as_str(), "a viewer's refused admin read"), (admin.as_str(), "an admin read")] {
        let (status, body) = app.call("GET", "/api/v1/admin/backups", Some(token), None).await;
        assert_eq!(status, 503, "{what}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or("").contains("could not be audited"), "{what}: {body}");
    }
    let (status, _) = app.call("GET", "/api/v1/projects", Some(&viewer), None).await;
    assert_eq!(status, 200, "plain reads are not audited one by one and still answer");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn unknown_routes_answer_with_a_json_error() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no route for GET /api/v1/nothing-here");
    app.stop().await.unwrap();
}
