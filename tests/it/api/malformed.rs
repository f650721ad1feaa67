//! Hundreds of malformed requests at every documented route: each gets a JSON 4xx, never a 500 or a panic,
//! and Atlas is still ready afterwards with no actor restarted.

use super::openapi::operations;
use super::Team;

fn bad_ids() -> Vec<String> {
    vec![
        "x-1".into(),
        "%2e%2e".into(),
        "a%20b".into(),
        "x".repeat(300),
        "%00".into(),
        "%ff%fe".into(),
        "%F0%9F%99%82".into(),
        "project-01%27%3B%20DROP%20TABLE%20tasks".into(),
    ]
}

fn bad_bodies() -> Vec<(Vec<u8>, &'static str)> {
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let wrong_types = br#"{"name": 1, "title": [1], "project_id": {}, "role": null, "resolution": 5, "notes": 7,
        "priority": "x", "command": [1, 2], "status": 3, "expected_version": "one", "timeout_s": 1.5}"#;
    vec![
        (b"{".to_vec(), "application/json"),
        (b"[]".to_vec(), "application/json"),
        (b"null".to_vec(), "application/json"),
        (b"123".to_vec(), "application/json"),
        (b"\"text\"".to_vec(), "application/json"),
        (b"{\"a\":".to_vec(), "application/json"),
        (b"{} {}".to_vec(), "application/json"),
        (deep.into_bytes(), "application/json"),
        (wrong_types.to_vec(), "application/json"),
        (vec![0xff, 0xfe, 0x7b], "application/json"),
        (format!("{{\"name\": \"{}\"}}", "x".repeat(70_000)).into_bytes(), "application/json"),
        (b"{\"zzz\": 1}".to_vec(), "application/json"),
        (b"{\"name\": \"ok\"}".to_vec(), "text/plain"),
        (b"name=ok".to_vec(), "application/x-www-form-urlencoded"),
    ]
}

const BAD_QUERIES: &[&str] = &[
    "?limit=abc",
    "?limit=-1",
    "?limit=99999999999999999999",
    "?cursor=%00",
    "?cursor=6e6f",
    "?status=%ff",
    "?zzz=1",
    "?limit=1&limit=2",
    "?resolved=maybe",
    "?type=%00",
    "?severity=urgent",
    "?project_id=..%2F..",
];

#[actix_rt::test]
async fn no_malformed_request_gets_a_500_or_kills_anything() {
    let team = Team::new().await;
    let (_, doc) = team.call("GET", "/api/v1/openapi.json", &team.admin, None).await;
    let mut sent = 0;
    let mut check = |method: &str, path: &str, status: u16, body: &[u8]| {
        sent += 1;
        assert!(status < 500, "{method} {path} answered {status}: {}", String::from_utf8_lossy(body));
        if status >= 400 {
            let json: serde_json::Value = serde_json::from_slice(body)
                .unwrap_or_else(|_| panic!("{method} {path} {status} is not JSON: {}", String::from_utf8_lossy(body)));
            assert!(
                json["error"]["code"].is_string() && json["error"]["message"].is_string(),
                "{method} {path}: {json}"
            );
        }
    };
    for (method, template) in operations(&doc) {
        let method = method.to_uppercase();
        let paths: Vec<String> = if template.contains('{') {
            bad_ids().iter().map(|id| template.replace("{id}", id).replace("{name}", id).replace("{job}", id)).collect()
        } else {
            vec![template.clone()]
        };
        for path in &paths {
            if method == "GET" {
                for query in BAD_QUERIES {
                    let full = format!("{path}{query}");
                    let (status, body) = team.app.raw(&method, &full, Some(&team.admin), None, None).await;
                    check(&method, &full, status, &body);
                }
            } else {
                for (body, kind) in bad_bodies() {
                    let (status, response) =
                        team.app.raw(&method, path, Some(&team.admin), Some(body), Some(kind)).await;
                    check(&method, path, status, &response);
                }
            }
        }
    }
    assert!(sent >= 300, "sent {sent} malformed requests");
    let (status, ready) = team.app.ready().await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["actors"]["writer"]["restarts"], 0);
    assert_eq!(ready["actors"]["health"]["restarts"], 0);
}

#[actix_rt::test]
async fn echoed_input_is_cut_and_escaped() {
    let team = Team::new().await;
    let long = "x".repeat(20_000);
    for path in [
        format!("/api/v1/tasks/{long}"),
        format!("/api/v1/admin/backups/{long}/verify"),
        "/api/v1/tasks/task-1%0AERROR%20forged%20line%00".to_owned(),
        "/api/v1/admin/backups/atlas_1%0Aforged%00/verify".to_owned(),
    ] {
        let method = if path.ends_with("/verify") { "POST" } else { "GET" };
        let (status, body) = team.call(method, &path, &team.admin, None).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.chars().count() < 300, "a 20 KB id is not echoed whole: {} characters", message.len());
        assert!(!message.contains('\n') && !message.contains('\0'), "control characters are escaped: {message:?}");
    }
}

#[actix_rt::test]
async fn a_trickled_body_is_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings.http.body_timeout_s = 1;
    let team = Team::with_app(crate::support::TestApp::spawn_with(dir, settings).await).await;
    let addr = team.app.url.trim_start_matches("http://").to_owned();
    let token = team.admin.clone();
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let head = format!(
            "POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        stream.write_all(head.as_bytes()).unwrap();
        // Never send the rest: read until the server has answered (or 5 s pass).
        let mut response = Vec::new();
        let mut chunk = [0u8; 1024];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline && !String::from_utf8_lossy(&response).contains("body_timeout_s") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("http.body_timeout_s"), "{response}");
}
