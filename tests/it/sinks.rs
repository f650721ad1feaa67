//! Event sinks against a local receiver: order per aggregate, retries after 5xx and timeouts with the same
//! X-Atlas-Delivery, the signature checked as a receiver would, dead letters visible and retryable, and no
//! event lost across a SIGKILL of Atlas mid-delivery. `standard.rs`: Standard Webhooks, 410, Retry-After,
//! concurrency and attempts a crash cut.

mod standard;

use crate::api::Team;
use crate::support::daemon::{Daemon, ATLAS};
use crate::support::{test_settings, TestApp};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "sink-secret-0123456789";

/// One POST as the receiver saw it.
#[derive(Clone, Debug)]
struct Got {
    delivery: String,
    timestamp: String,
    signature: String,
    body: Value,
    raw: Vec<u8>,
    headers: std::collections::HashMap<String, String>,
    /// When it arrived.
    at: Instant,
}

/// What the receiver answers: statuses in order (then 200), or a stall (no answer for that long).
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    Stall(Duration),
    /// A status with `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Every answer takes this long (a receiver's latency).
    latency: Duration,
    /// Posts being answered now, and the most at once.
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl Receiver {
    async fn start(script: Vec<Answer>) -> (Self, String) {
        Self::start_with(script, Duration::ZERO).await
    }

    async fn start_with(script: Vec<Answer>, latency: Duration) -> (Self, String) {
        let receiver = Self { script: Arc::new(Mutex::new(script.into())), latency, ..Self::default() };
        let state = receiver.clone();
        let server = HttpServer::new(move || {
            App::new().app_data(web::Data::new(state.clone())).route("/hook", web::post().to(take))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://{}/hook", server.addrs()[0]);
        actix_rt::spawn(server.run());
        (receiver, url)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    async fn until(&self, what: &str, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "{what} within 30 s: {got:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn take(req: HttpRequest, body: web::Bytes, receiver: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    receiver.got.lock().unwrap().push(Got {
        delivery: header("X-Atlas-Delivery"),
        timestamp: header("X-Atlas-Timestamp"),
        signature: header("X-Atlas-Signature"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        at: Instant::now(),
    });
    {
        let mut in_flight = receiver.in_flight.lock().unwrap();
        in_flight.0 += 1;
        in_flight.1 = in_flight.1.max(in_flight.0);
    }
    tokio::time::sleep(receiver.latency).await;
    receiver.in_flight.lock().unwrap().0 -= 1;
    let next = receiver.script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
    let status = |code| actix_web::http::StatusCode::from_u16(code).unwrap();
    match next {
        Answer::Status(code) => HttpResponse::build(status(code)).finish(),
        Answer::RetryAfter(code, seconds) => {
            HttpResponse::build(status(code)).insert_header(("Retry-After", seconds.to_string())).finish()
        }
        Answer::Stall(long) => {
            tokio::time::sleep(long).await;
            HttpResponse::Ok().finish()
        }
    }
}

/// What a receiver does: HMAC-SHA256 over "<timestamp>.<body>" with the shared secret, and a fresh stamp.
fn verified(got: &Got) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.", got.timestamp).as_bytes());
    mac.update(&got.raw);
    let expected = format!("sha256={}", hex_of(&mac.finalize().into_bytes()));
    let fresh = got.timestamp.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    expected == got.signature && fresh
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn team_with_sink(url: &str, max_attempts: u32, timeout_s: u64) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.sinks = vec![atlas::settings::SinkSettings {
        name: "chat".into(),
        url: url.to_owned(),
        events: vec!["project.*".into()],
        secret: SECRET.into(),
        max_attempts,
        timeout_s,
        ..Default::default()
    }];
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

#[actix_rt::test]
async fn deliveries_keep_their_order_survive_5xx_and_are_signed() {
    let (receiver, url) = Receiver::start(vec![Answer::Status(500), Answer::Status(503)]).await;
    let team = team_with_sink(&url, 5, 5).await;
    let project = team.project("first name").await;
    for name in ["second name", "third name"] {
        let (code, body) = team
            .call("PATCH", &format!("/api/v1/projects/{project}"), &team.admin, Some(json!({ "name": name })))
            .await;
        assert_eq!(code, 200, "{body}");
    }
    let got = receiver.until("five posts", |got| got.len() >= 5).await;
    let types: Vec<&str> = got.iter().map(|g| g.body["event"]["type"].as_str().unwrap_or("?")).collect();
    assert_eq!(
        types,
        ["project.created", "project.created", "project.created", "project.updated", "project.updated"],
        "the creation is retried until it lands, and nothing after it overtakes it"
    );
    assert!(got[0].delivery == got[1].delivery && got[1].delivery == got[2].delivery, "a retry is the same delivery");
    assert_ne!(got[2].delivery, got[3].delivery);
    assert!(got.iter().all(verified), "every post verifies: {got:?}");
    assert_eq!(got[4].body["event"]["payload"]["after"]["name"], "third name");
    assert!(!String::from_utf8_lossy(&got[0].raw).contains(SECRET), "the secret signs, it is never sent");
    let (_, sinks) = team.call("GET", "/api/v1/admin/sinks", &team.admin, None).await;
    assert_eq!(sinks["items"][0]["delivered"], 3, "{sinks}");
    assert_eq!(sinks["items"][0]["waiting"], 0, "{sinks}");
    // A forged signature is what a receiver refuses: the check above is not a tautology.
    let mut forged = got[0].clone();
    forged.raw.push(b' ');
    assert!(!verified(&forged));
}

#[actix_rt::test]
async fn a_delivery_that_keeps_timing_out_is_dead_lettered_and_retried_from_the_api() {
    let stall = Answer::Stall(Duration::from_secs(3));
    let (receiver, url) = Receiver::start(vec![stall, stall]).await;
    let team = team_with_sink(&url, 2, 1).await;
    team.project("slow").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let (_, sinks) = team.call("GET", "/api/v1/admin/sinks", &team.admin, None).await;
        if sinks["items"][0]["dead"] == 1 {
            break sinks["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "not dead-lettered: {sinks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["attempts"], 2, "{dead}");
    assert!(letter["last_error"].as_str().unwrap().contains("not delivered"), "{dead}");
    let (_, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(health["operations"]["checks"]["sink_dead_letters"]["level"], "warn", "{health}");

    let id = letter["delivery_id"].as_str().unwrap().to_owned();
    let (code, body) =
        team.call("POST", &format!("/api/v1/admin/sinks/deliveries/{id}/retry"), &team.admin, None).await;
    assert_eq!(code, 200, "{body}");
    let got = receiver.until("the retried delivery", |got| got.len() >= 3).await;
    assert!(got.iter().all(|g| g.delivery == id), "the same delivery id each time");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, sinks) = team.call("GET", "/api/v1/admin/sinks", &team.admin, None).await;
        if sinks["items"][0]["delivered"] == 1 && sinks["items"][0]["dead"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not delivered after the retry: {sinks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, _) = team.call("POST", &format!("/api/v1/admin/sinks/deliveries/{id}/retry"), &team.admin, None).await;
    assert_eq!(code, 404, "only a dead delivery can be retried");
    let (code, _) = team.call("POST", "/api/v1/admin/sinks/deliveries/not-hex!/retry", &team.admin, None).await;
    assert_eq!(code, 400);
}

#[actix_rt::test]
async fn no_event_is_lost_across_a_sigkill_in_the_middle_of_a_delivery() {
    // The first post is held unanswered while Atlas is killed.
    let (receiver, url) = Receiver::start(vec![Answer::Stall(Duration::from_secs(20))]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("atlas.toml");
    std::fs::write(
        &config,
        format!(
            "[[sinks]]\nname = \"chat\"\nurl = \"{url}\"\nevents = [\"project.created\"]\nsecret = \"{SECRET}\"\ntimeout_s = 30\n"
        ),
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(ATLAS, dir.path(), &["--config", &config], &[]);
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let mut made = Vec::new();
    for i in 0..5 {
        let mut response = client
            .post(format!("{}/api/v1/projects", daemon.url))
            .bearer_auth(&token)
            .send_json(&json!({ "name": format!("p{i}") }))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        made.push(body["id"].as_str().unwrap().to_owned());
    }
    let first = receiver.until("the first post", |got| !got.is_empty()).await[0].delivery.clone();
    daemon.signal("KILL");
    daemon.wait_exit(Duration::from_secs(10));
    let _again = Daemon::start(ATLAS, dir.path(), &["--config", &config], &[]);
    // The other projects' deliveries went out meanwhile (different aggregates go together).
    let got = receiver
        .until("every project's creation, and the cut one again", |got| {
            made.iter().all(|id| got.iter().any(|g| g.body["event"]["aggregate_id"] == id.as_str()))
                && got.iter().filter(|g| g.delivery == first).count() >= 2
        })
        .await;
    let firsts: Vec<&Got> = got.iter().filter(|g| g.delivery == first).collect();
    assert!(firsts.len() >= 2, "the delivery cut off by the kill came again with the same X-Atlas-Delivery: {got:?}");
    assert!(got.iter().all(verified));
}

fn sink(name: &str, url: &str, events: &str, timeout_s: u64) -> atlas::settings::SinkSettings {
    atlas::settings::SinkSettings {
        name: name.into(),
        url: url.to_owned(),
        events: vec![events.into()],
        secret: SECRET.into(),
        max_attempts: 20,
        timeout_s,
        ..Default::default()
    }
}

#[actix_rt::test]
async fn a_hanging_sink_delays_no_other_and_a_backlog_drains_in_one_round() {
    let (_slow, slow_url) = Receiver::start(vec![Answer::Stall(Duration::from_secs(30)); 50]).await;
    let (fast, fast_url) = Receiver::start(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.sinks = vec![sink("slow", &slow_url, "project.*", 20), sink("fast", &fast_url, "project.*", 5)];
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("busy").await;
    for i in 0..20 {
        let body = json!({ "name": format!("rename {i}") });
        let (code, _) = team.call("PATCH", &format!("/api/v1/projects/{project}"), &team.admin, Some(body)).await;
        assert_eq!(code, 200);
    }
    // `until` gives up after 30 s, the time one stalled delivery to the slow sink takes: the fast sink's
    // backlog arrives while the slow one hangs, never after it. How fast is for a benchmark, not a test.
    let got = fast.until("all 21 of one project's events", |got| got.len() >= 21).await;
    let names: Vec<&str> =
        got.iter().skip(1).map(|g| g.body["event"]["payload"]["after"]["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("rename {i}")).collect();
    assert_eq!(names, expected, "in order");
}

#[actix_rt::test]
async fn deliveries_left_for_a_removed_sink_hold_no_other_sink_back() {
    let (_gone, gone_url) = Receiver::start(vec![Answer::Stall(Duration::from_secs(30)); 50]).await;
    let (kept, kept_url) = Receiver::start(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.sinks = vec![sink("gone", &gone_url, "*", 20), sink("kept", &kept_url, "project.created", 5)];
    let app = TestApp::spawn_with(dir, settings.clone()).await;
    for i in 0..5 {
        let (code, _) = app
            .call("POST", "/api/v1/projects", Some(&app.admin_token()), Some(json!({ "name": format!("p{i}") })))
            .await;
        assert_eq!(code, 201);
    }
    let (_, dir) = app.stop_keeping_files().await;
    settings.sinks.retain(|s| s.name == "kept");
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    team.project("after the sink was removed").await;
    let got = kept
        .until("the project made after the removal", |got| {
            got.iter().any(|g| g.body["event"]["payload"]["after"]["name"] == "after the sink was removed")
        })
        .await;
    assert!(got.len() >= 6, "{got:?}");
    assert!(
        got.iter().all(|g| g.body["sink"] == "kept" && g.body["event"]["type"] == "project.created"),
        "only kept's own deliveries reach it: {got:?}"
    );
    let (_, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    let check = &health["operations"]["checks"]["sink_dead_letters"];
    assert_eq!(check["level"], "warn", "{health}");
    assert!(check["detail"].as_str().unwrap().contains("no longer configured (gone)"), "{check}");
}
