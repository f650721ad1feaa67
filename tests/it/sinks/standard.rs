//! Issue 28's sink deliveries: verified by the Standard Webhooks reference library (not Atlas's code),
//! during a key rotation; a 410 disables a sink until an admin enables it; a `Retry-After` is waited for;
//! different aggregates go out together, each in its order; an attempt a SIGKILL cut counts.

use super::{Answer, Got, Receiver};
use crate::api::Team;
use crate::support::daemon::{Daemon, ATLAS};
use crate::support::{test_settings, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `whsec_` + base64 of 32 bytes, as Standard Webhooks senders hand out secrets.
const NEW: &str = "whsec_bmV3LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ==";
const OLD: &str = "whsec_b2xkLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ==";
const OTHER: &str = "whsec_b3RoZXIta2V5LTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg=";

async fn rename(team: &Team, project: &str, name: &str) {
    let body = json!({ "name": name });
    let (code, answer) = team.call("PATCH", &format!("/api/v1/projects/{project}"), &team.admin, Some(body)).await;
    assert_eq!(code, 200, "{answer}");
}

async fn team_with(sink: atlas::settings::SinkSettings) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.sinks = vec![sink];
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

fn sink(url: &str) -> atlas::settings::SinkSettings {
    atlas::settings::SinkSettings {
        name: "chat".into(),
        url: url.to_owned(),
        events: vec!["project.*".into()],
        secret: super::SECRET.into(),
        timeout_s: 5,
        ..Default::default()
    }
}

/// How many of `got` the `standardwebhooks` package (PyPI, the specification's reference library)
/// verifies with `secret`.
fn verified_by_the_library(got: &[Got], secret: &str) -> usize {
    let posts: Vec<Value> =
        got.iter().map(|g| json!({ "headers": g.headers, "body": String::from_utf8_lossy(&g.raw) })).collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&posts).unwrap()).unwrap();
    let script = "import json, sys\n\
        from standardwebhooks.webhooks import Webhook\n\
        hook = Webhook(sys.argv[2])\n\
        ok = 0\n\
        for post in json.load(open(sys.argv[1])):\n\
        \x20   try:\n\
        \x20       hook.verify(post['body'], post['headers']); ok += 1\n\
        \x20   except Exception:\n\
        \x20       pass\n\
        print(ok)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, &file.path().to_string_lossy(), secret])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "the standardwebhooks package is needed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[actix_rt::test]
async fn deliveries_verify_with_the_reference_library_under_both_keys_while_rotating() {
    let (receiver, url) = Receiver::start(vec![Answer::Status(500)]).await;
    let team = team_with(atlas::settings::SinkSettings {
        secret: String::new(),
        secrets: vec![NEW.into(), OLD.into()],
        atlas_headers: false,
        ..sink(&url)
    })
    .await;
    // One aggregate, so its deliveries go one after the other.
    let project = team.project("one").await;
    rename(&team, &project, "two").await;
    let got = receiver.until("three posts (one retried)", |got| got.len() >= 3).await;
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"], "a redelivery keeps its webhook-id");
    assert_ne!(got[1].headers["webhook-id"], got[2].headers["webhook-id"]);
    assert_eq!(got[0].headers["webhook-id"], got[0].body["delivery"], "the delivery id is the webhook-id");
    assert!(got.iter().all(|g| !g.headers.keys().any(|k| k.starts_with("x-atlas"))), "X-Atlas-* turned off");
    assert_eq!(verified_by_the_library(&got, NEW), 3, "a receiver on the new key verifies every delivery");
    assert_eq!(verified_by_the_library(&got, OLD), 3, "and one still on the old key too");
    assert_eq!(verified_by_the_library(&got, OTHER), 0, "another key verifies none: the check can fail");
}

#[actix_rt::test]
async fn a_410_disables_the_sink_its_deliveries_wait_and_an_admin_enables_it_again() {
    let (receiver, url) = Receiver::start(vec![Answer::Status(410)]).await;
    let team = team_with(sink(&url)).await;
    let project = team.project("a").await;
    rename(&team, &project, "b").await;
    rename(&team, &project, "c").await;
    let first = receiver.until("the first post", |got| !got.is_empty()).await[0].delivery.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    let sinks = loop {
        let (_, sinks) = team.call("GET", "/api/v1/admin/sinks", &team.admin, None).await;
        if !sinks["items"][0]["disabled"].is_null() {
            break sinks;
        }
        assert!(Instant::now() < deadline, "never disabled: {sinks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(sinks["items"][0]["waiting"], 3, "nothing is lost: {sinks}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.got().len(), 1, "nothing more goes to a receiver that said 410 Gone");
    let (_, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    let check = &health["operations"]["checks"]["sinks_disabled"];
    assert_eq!(check["level"], "warn", "{health}");
    assert!(check["detail"].as_str().unwrap().contains("chat"), "{check}");

    let (code, body) = team.call("POST", "/api/v1/admin/sinks/chat/enable", &team.approver, None).await;
    assert_eq!(code, 403, "an admin's: {body}");
    // The console's Admin page shows it disabled and enables it (the API's command, as the admin).
    let admin = crate::console::visitor::sign_in(&team.app.url, &team.admin).await;
    let (_, page) = admin.get("/console/admin").await;
    assert!(page.contains("disabled</span> since") && page.contains("410 Gone"), "{page}");
    let enabled = admin.submit("/console/admin/sinks/chat/enable", &[("csrf", &admin.csrf)]).await;
    assert_eq!(enabled.status, 303);
    let got = receiver.until("all three, the first again", |got| got.len() >= 4).await;
    assert_eq!(got[1].delivery, first, "the delivery the 410 answered goes first, with its id");
    let names: Vec<&str> =
        got[1..].iter().map(|g| g.body["event"]["payload"]["after"]["name"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let (code, _) = team.call("POST", "/api/v1/admin/sinks/chat/enable", &team.admin, None).await;
    assert_eq!(code, 404, "only a disabled sink can be enabled");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=sink.enabled", &team.admin, None).await;
    assert_eq!(audit["items"][0]["actor"], "admin", "{audit}");
}

/// Found by the attack on the 410: the deliveries due with the one a 410 answered were still sent, and
/// a 410 on a delivery's last allowed attempt dead-lettered it, unsent, once the sink was enabled.
#[actix_rt::test]
async fn after_a_410_nothing_more_is_begun_and_its_delivery_keeps_its_attempt() {
    let (receiver, url) = Receiver::start_with(vec![Answer::Status(410)], Duration::from_millis(200)).await;
    let team = team_with(atlas::settings::SinkSettings { concurrency: 1, max_attempts: 1, ..sink(&url) }).await;
    let mut projects = Vec::new();
    for i in 0..6 {
        projects.push(team.project(&format!("p{i}")).await);
    }
    receiver.until("the post answered 410", |got| !got.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.got().len(), 1, "nothing is begun after a 410: {:?}", receiver.got().len());
    let (code, _) = team.call("POST", "/api/v1/admin/sinks/chat/enable", &team.admin, None).await;
    assert_eq!(code, 200);
    let got = receiver
        .until("every project's creation", |got| {
            projects.iter().all(|id| got.iter().any(|g| g.body["event"]["aggregate_id"] == id.as_str()))
        })
        .await;
    let (_, sinks) = team.call("GET", "/api/v1/admin/sinks", &team.admin, None).await;
    assert_eq!(sinks["items"][0]["dead"], 0, "the 410 used no attempt: {sinks}");
    assert_eq!(got[1].delivery, got[0].delivery, "the delivery the 410 answered goes again first");
}

#[actix_rt::test]
async fn a_retry_after_is_waited_for_instead_of_the_backoff() {
    let (receiver, url) = Receiver::start(vec![Answer::RetryAfter(503, 4)]).await;
    let team = team_with(sink(&url)).await;
    team.project("later").await;
    let got = receiver.until("the retry", |got| got.len() >= 2).await;
    let waited = got[1].at - got[0].at;
    // The backoff alone would try again after 1 s (2 s at most, with the queue's 1 s tick).
    assert!(waited >= Duration::from_millis(3500), "Retry-After: 4 was honoured: waited {waited:?}");
}

/// Deliveries of different aggregates go out together (a 200 ms receiver), each aggregate's in order.
#[actix_rt::test]
async fn different_aggregates_go_out_together_and_each_keeps_its_order() {
    let (receiver, url) = Receiver::start_with(Vec::new(), Duration::from_millis(200)).await;
    let team = team_with(atlas::settings::SinkSettings { concurrency: 8, ..sink(&url) }).await;
    let mut projects = Vec::new();
    for i in 0..8 {
        projects.push(team.project(&format!("p{i}")).await);
    }
    for round in 0..3 {
        for project in &projects {
            rename(&team, project, &format!("{project} v{round}")).await;
        }
    }
    let got = receiver.until("all 32 events", |got| got.len() >= 32).await;
    for project in &projects {
        let names: Vec<&str> = got
            .iter()
            .filter(|g| g.body["event"]["aggregate_id"] == project.as_str())
            .map(|g| g.body["event"]["payload"]["after"]["name"].as_str().unwrap_or("?"))
            .collect();
        let expected: Vec<String> =
            std::iter::once(names[0].to_owned()).chain((0..3).map(|round| format!("{project} v{round}"))).collect();
        assert_eq!(names, expected, "one aggregate's deliveries keep their order");
    }
    let most = receiver.in_flight.lock().unwrap().1;
    assert!(most > 1, "deliveries of different aggregates were in flight together: at most {most}");
}

/// One slow answer holds back only its own aggregate: another project's deliveries go out meanwhile.
#[actix_rt::test]
async fn a_slow_answer_holds_back_only_its_own_aggregate() {
    // The stalled answer outlasts the checks below, and the sink's timeout outlasts it: nothing here ends
    // it early.
    let (receiver, url) = Receiver::start(vec![Answer::Stall(Duration::from_secs(8))]).await;
    let team = team_with(atlas::settings::SinkSettings { timeout_s: 30, ..sink(&url) }).await;
    let slow = team.project("slow").await;
    receiver.until("the post that stalls", |got| !got.is_empty()).await;
    let stalled_at = Instant::now();
    let quick = team.project("quick").await;
    rename(&team, &quick, "quick 1").await;
    rename(&team, &quick, "quick 2").await;
    receiver
        .until("the other project's three events", |got| {
            got.iter().filter(|g| g.body["event"]["aggregate_id"] == quick.as_str()).count() >= 3
        })
        .await;
    let waited = stalled_at.elapsed();
    assert!(waited < Duration::from_secs(6), "they did not wait for the stalled answer: {waited:?}");
    assert_eq!(receiver.got()[0].body["event"]["aggregate_id"], slow.as_str());
}

#[actix_rt::test]
async fn an_attempt_cut_by_a_sigkill_counts_against_max_attempts() {
    let (receiver, url) = Receiver::start(vec![Answer::Stall(Duration::from_secs(20))]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("atlas.toml");
    let secret = super::SECRET;
    let sink = format!(
        "[[sinks]]\nname = \"chat\"\nurl = \"{url}\"\nevents = [\"project.created\"]\nsecret = \"{secret}\"\ntimeout_s = 30\nmax_attempts = 1\n"
    );
    std::fs::write(&config, sink).unwrap();
    let config = config.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(ATLAS, dir.path(), &["--config", &config], &[]);
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let created = client
        .post(format!("{}/api/v1/projects", daemon.url))
        .bearer_auth(&token)
        .send_json(&json!({ "name": "once" }))
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    receiver.until("the one attempt", |got| !got.is_empty()).await;
    daemon.signal("KILL");
    daemon.wait_exit(Duration::from_secs(10));
    let again = Daemon::start(ATLAS, dir.path(), &["--config", &config], &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let sinks: Value = loop {
        let mut answer =
            client.get(format!("{}/api/v1/admin/sinks", again.url)).bearer_auth(&token).send().await.unwrap();
        let sinks: Value = answer.json().await.unwrap();
        if sinks["items"][0]["dead"] == 1 {
            break sinks;
        }
        assert!(Instant::now() < deadline, "the used-up delivery was never dead-lettered: {sinks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(receiver.got().len(), 1, "max_attempts = 1: the attempt the kill cut was the one: {sinks}");
    let letter = &sinks["items"][0]["dead_letters"][0];
    assert!(letter["last_error"].as_str().unwrap().contains("cut short"), "{sinks}");
}
