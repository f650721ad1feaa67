//! `/metrics`: valid Prometheus text (checked with an independent parser), the series an operator graphs,
//! and its access rule (a token, or loopback when configured).

use crate::api::Team;
use crate::support::{test_settings, TestApp};
use prometheus_parse::{Scrape, Value};

async fn scrape(team: &Team, token: Option<&str>) -> (u16, String) {
    let (status, body) = team.app.raw("GET", "/metrics", token, None, None).await;
    (status, String::from_utf8(body).expect("UTF-8 text"))
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
        |s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            Value::Histogram(ref buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => f64::NAN,
        },
    )
}

#[actix_rt::test]
async fn metrics_parse_as_prometheus_text_and_count_what_happened() {
    let team = Team::new().await;
    let (status, body) = scrape(&team, None).await;
    assert_eq!(status, 401, "a token is needed by default: {body}");

    team.project("one").await;
    team.project("two").await;
    let project = team.project("three").await;
    let task = team.task(&project, "waits", Some(vec!["true"])).await;
    let (status, _) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(status, 202);
    team.call("GET", "/api/v1/no/such/route", &team.viewer, None).await;

    let (status, body) = scrape(&team, Some(&team.viewer)).await;
    assert_eq!(status, 200, "{body}");
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("valid Prometheus text");
    assert!(parsed.docs.contains_key("atlas_http_request_duration_seconds"), "documented with # HELP");
    let created = [("route", "/api/v1/projects"), ("method", "POST"), ("status", "201")];
    assert_eq!(value(&parsed, "atlas_http_request_duration_seconds", &created), Some(3.0), "{body}");
    assert_eq!(
        value(&parsed, "atlas_http_request_duration_seconds", &[("route", "unmatched"), ("status", "404")]),
        Some(1.0),
        "unknown paths share one series"
    );
    assert!(value(&parsed, "atlas_writer_commands_total", &[]).unwrap() >= 4.0);
    assert!(value(&parsed, "atlas_writer_batches_total", &[]).unwrap() >= 1.0);
    assert_eq!(value(&parsed, "atlas_writer_queue_depth", &[]), Some(0.0));
    assert_eq!(value(&parsed, "atlas_actor_restarts_total", &[("actor", "writer")]), Some(0.0));
    assert_eq!(value(&parsed, "atlas_actor_up", &[("actor", "notifier")]), Some(1.0));
    assert_eq!(value(&parsed, "atlas_pending_approvals", &[]), Some(1.0));
    assert!(value(&parsed, "atlas_oldest_pending_approval_timestamp_seconds", &[]).unwrap() > 1.7e9);
    assert_eq!(value(&parsed, "atlas_backups_local", &[]), Some(0.0));

    let (status, _) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201);
    let (_, body) = scrape(&team, Some(&team.viewer)).await;
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(value(&parsed, "atlas_backups_local", &[]), Some(1.0));
    assert!(value(&parsed, "atlas_backup_newest_size_bytes", &[]).unwrap() > 0.0);
    assert_eq!(value(&parsed, "atlas_backup_newest_verified", &[]), Some(0.0));
}

#[actix_rt::test]
async fn loopback_access_needs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.metrics.access = atlas::settings::MetricsAccess::Loopback;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let (status, body) = scrape(&team, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("# TYPE atlas_writer_queue_depth gauge"), "{body}");
}
