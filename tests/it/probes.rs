//! /healthz, /readyz and the JSON error shape.

use crate::support::TestApp;

#[actix_rt::test]
async fn healthz_is_alive_and_readyz_reports_every_part() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("alive")));

    let (status, body) = app.get("/readyz").await;
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
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["writer"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["read_pool"]["ok"], true, "{body}");
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200, "liveness does not depend on readiness");
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
