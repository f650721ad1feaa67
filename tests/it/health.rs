//! Health: the admin report names every operational problem; alerts go to every channel once, are not
//! repeated within the interval, and recover once; repeated actor restarts raise an alert.

use crate::api::Team;
use crate::support::fake_receivers::{FakeHttpReceiver, FakeSmtp};
use crate::support::{test_settings, TestApp};
use atlas_actors::fault::Fault;
use atlas_actors::registry::names;
use serde_json::{json, Value};

async fn health_check(team: &Team) -> String {
    let report =
        team.app.handles.scheduler.run_now("health_check", crate::support::tester()).await.expect("the job runs");
    assert!(report.ok, "Atlas stays ready: {report:?}");
    report.detail
}

#[actix_rt::test]
async fn alerts_fire_once_on_every_channel_stay_quiet_while_firing_and_recover_once() {
    let http = FakeHttpReceiver::start().await;
    let smtp = FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.alerts.host_label = "vm-test".into();
    settings.alerts.webhook_url = format!("{}/hook", http.url);
    settings.alerts.telegram_api_base = http.url.clone();
    settings.alerts.telegram_bot_token = "123:bot-secret".into();
    settings.alerts.telegram_chat_id = "42".into();
    settings.alerts.smtp_host = "127.0.0.1".into();
    settings.alerts.smtp_port = smtp.port;
    settings.alerts.smtp_security = atlas::settings::SmtpSecuritySetting::None;
    settings.alerts.smtp_from = "atlas@example.com".into();
    settings.alerts.smtp_to = vec!["ops@example.com".into()];
    settings.health.approval_max_age_h = 0; // any pending approval is overdue
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    assert_eq!(health_check(&team).await, "ready", "a fresh install alerts nobody (no backup yet is a warning)");
    assert!(http.received.all().is_empty());

    // An approval waits longer than allowed.
    let project = team.project("p").await;
    let task = team.task(&project, "waits", Some(vec!["true"])).await;
    let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    let approval = approval["id"].as_str().unwrap().to_owned();
    let detail = health_check(&team).await;
    assert_eq!(detail, "ready; alerts firing: oldest_pending_approval");
    let received = http.received.all();
    assert_eq!(received.len(), 2, "one webhook and one Telegram message: {received:?}");
    let (path, hook) = &received[0];
    assert_eq!(path, "/hook");
    assert_eq!(
        (hook["alert"].as_str(), hook["status"].as_str(), hook["host"].as_str()),
        (Some("oldest_pending_approval"), Some("firing"), Some("vm-test"))
    );
    assert!(hook["detail"].as_str().unwrap().contains(&format!("approval {approval} has waited")), "{hook}");
    let (path, telegram) = &received[1];
    assert_eq!(path, "/bot123:bot-secret/sendMessage");
    assert_eq!(telegram["chat_id"], "42");
    let text = telegram["text"].as_str().unwrap();
    assert!(text.starts_with("[Atlas FIRING] oldest_pending_approval on vm-test"), "{telegram}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        (mails[0].from.as_str(), mails[0].to.as_slice()),
        ("atlas@example.com", ["ops@example.com".to_owned()].as_slice())
    );
    let subject = "Subject: [Atlas FIRING] oldest_pending_approval on vm-test";
    assert!(mails[0].data.contains(subject), "{}", mails[0].data);
    let data = &mails[0].data;
    assert!(
        data.contains("multipart/alternative") && data.contains("text/plain") && data.contains("text/html"),
        "a text and an HTML part: {data}"
    );

    health_check(&team).await;
    assert_eq!(http.received.all().len(), 2, "still firing within the repeat interval: nothing new is sent");
    assert_eq!(smtp.mails().len(), 1);

    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{approval}/reject"), &team.approver, None).await;
    assert_eq!(status, 200);
    assert_eq!(health_check(&team).await, "ready");
    let received = http.received.all();
    assert_eq!(received.len(), 4, "one recovery per HTTP channel: {received:?}");
    assert_eq!(
        (received[2].1["alert"].as_str(), received[2].1["status"].as_str()),
        (Some("oldest_pending_approval"), Some("resolved"))
    );
    assert!(received[3].1["text"].as_str().unwrap().starts_with("[Atlas RESOLVED] oldest_pending_approval"));
    assert!(smtp.mails()[1].data.contains("Subject: [Atlas RESOLVED] oldest_pending_approval"));
    assert_eq!(health_check(&team).await, "ready");
    assert_eq!(http.received.all().len(), 4, "the recovery is sent once");
    let (_, audit) = team.call("GET", "/api/v1/audit?aggregate_type=alert", &team.admin, None).await;
    let trail: Vec<(&str, &str, bool)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["aggregate_id"].as_str().unwrap(),
                e["payload"]["command"]["delivered"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [("alert.resolved", "oldest_pending_approval", true), ("alert.fired", "oldest_pending_approval", true)],
        "{audit}"
    );

    // An actor that keeps failing is an alert of its own.
    for restart in 1..=3 {
        team.app.handles.runner.inject(Fault::PanicNow).await;
        crate::supervision::wait_restarted(&team.app.handles.registry, names::RUNNER, restart).await;
    }
    assert_eq!(health_check(&team).await, "ready; alerts firing: actor_restarts_runner");
    let last = http.received.all().into_iter().nth(4).expect("a restart alert").1;
    assert_eq!(last["alert"], "actor_restarts_runner");
    assert!(last["detail"].as_str().unwrap().contains("runner restarted 3 times"), "{last}");
}

fn level<'a>(report: &'a Value, check: &str) -> &'a str {
    report["operations"]["checks"][check]["level"].as_str().unwrap_or_else(|| panic!("no check {check}: {report}"))
}

#[actix_rt::test]
async fn the_health_report_names_every_operational_problem_without_making_atlas_unready() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.health.approval_max_age_h = 0;
    settings.health.critical_unacked_after_m = 0;
    settings.health.disk_min_free_mib = u64::MAX / 2;
    settings.runner.failed_severity = atlas_actors::domain::Severity::Critical;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;

    let (status, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(status, 200, "{report}");
    for check in ["database_quick_check", "oldest_pending_approval", "unacknowledged_critical_errors", "wal_size"] {
        assert_eq!(level(&report, check), "ok", "{check}: {report}");
    }
    assert_eq!(level(&report, "disk_data"), "critical");
    assert_eq!(level(&report, "disk_backups"), "critical");
    assert_eq!(level(&report, "newest_backup"), "warn", "a new database has had no time to be backed up");
    assert!(report["operations"]["checks"].get("sheets_import").is_none(), "Sheets is off: not checked");
    for actor in ["writer", "health", "runner", "scheduler", "housekeeper", "sheets_sync", "backup", "notifier"] {
        let status = &report["actors"][actor];
        assert_eq!(status["state"], "running", "{actor}: {report}");
        assert!(status["last_heartbeat"].is_string() && status["restarts"] == 0, "{actor}: {status}");
    }

    // A failing run (a critical hotlist entry) and a pending approval.
    let project = team.project("p").await;
    let failing = team.task(&project, "fails", Some(vec!["false"])).await;
    let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{failing}/run"), &team.agent, None).await;
    let approval = approval["id"].as_str().unwrap().to_owned();
    team.call("POST", &format!("/api/v1/approvals/{approval}/approve"), &team.approver, None).await;
    assert_eq!(team.finished_run(&failing).await["status"], "failed");
    let waiting = team.task(&project, "waits", Some(vec!["true"])).await;
    let (status, _) = team.call("POST", &format!("/api/v1/tasks/{waiting}/run"), &team.agent, None).await;
    assert_eq!(status, 202);

    let (_, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(level(&report, "oldest_pending_approval"), "critical", "{report}");
    assert_eq!(level(&report, "unacknowledged_critical_errors"), "critical", "{report}");
    assert!(report["operations"]["checks"]["unacknowledged_critical_errors"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("1 critical"));
    assert!(report["ready"].as_bool().unwrap(), "operational problems alert; they do not make Atlas unready");

    let (status, ready) = team.app.ready().await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready["operations"].is_null(), "no health_check has run yet");
    let detail = health_check(&team).await;
    assert!(
        detail.contains("oldest_pending_approval") && detail.contains("unacknowledged_critical_errors"),
        "{detail}"
    );
    let (_, ready) = team.app.ready().await;
    assert_eq!(level(&ready, "disk_data"), "critical", "readyz shows the last checks");
    assert_eq!(
        ready["alerts"],
        json!(["disk_backups", "disk_data", "oldest_pending_approval", "unacknowledged_critical_errors"])
    );

    let (_, audit) = team.call("GET", "/api/v1/audit?type=alert.fired", &team.admin, None).await;
    let fired = audit["items"].as_array().unwrap();
    assert_eq!(fired.len(), 4, "{audit}");
    assert!(fired.iter().all(|e| e["payload"]["command"]["delivered"] == false), "no channel is configured: {audit}");

    let (status, body) = team.call("GET", "/api/v1/admin/health", &team.viewer, None).await;
    assert_eq!(status, 403, "{body}");
}

#[actix_rt::test]
async fn the_newest_backup_check_reports_its_verification() {
    let team = Team::new().await;
    let (_, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    let (_, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(level(&report, "newest_backup"), "ok", "{report}");
    let detail = report["operations"]["checks"]["newest_backup"]["detail"].as_str().unwrap();
    assert!(detail.ends_with("not verified yet"), "{detail}");

    let id = backup["id"].as_str().unwrap();
    let verify = format!("/api/v1/admin/backups/{id}/verify");
    let (_, verified) = team.call("POST", &verify, &team.admin, None).await;
    assert_eq!(verified["verified_ok"], true);
    let (_, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert!(report["operations"]["checks"]["newest_backup"]["detail"].as_str().unwrap().ends_with(", verified"));

    let file = team.app.dir.path().join("backups").join(backup["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let (_, verified) = team.call("POST", &verify, &team.admin, None).await;
    assert_eq!(verified["verified_ok"], false);
    let (_, report) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
    assert_eq!(level(&report, "newest_backup"), "critical");
    let detail = report["operations"]["checks"]["newest_backup"]["detail"].as_str().unwrap();
    assert!(detail.contains("FAILED verification: checksum mismatch"), "{detail}");
}

#[actix_rt::test]
async fn a_restarting_actor_alerts_between_health_checks_in_slack_format() {
    use atlas_actors::alerts::channels::Channel;
    let http = FakeHttpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = atlas_actors::store::StoreConfig::at(dir.path().join("data/atlas.db"));
    let mut config = atlas_actors::SupervisorConfig::new(store);
    config.backup.dir = dir.path().join("backups");
    let style = atlas_actors::alerts::messages::WebhookStyle::SlackText;
    let hook = Channel::Webhook { url: format!("{}/hook", http.url), style };
    config.alerts.notify = atlas_actors::notify::NotifyConfig::alerts_to([("webhook".to_owned(), hook)]);
    config.alerts.host = "vm-9".into();
    config.health.alert_every = Some(std::time::Duration::from_millis(100));
    let handles = atlas_actors::start(config, std::sync::Arc::new(atlas_actors::domain::SystemClock)).await.unwrap();
    for restart in 1..=3 {
        handles.backup.inject(Fault::PanicNow).await;
        crate::supervision::wait_restarted(&handles.registry, names::BACKUP, restart).await;
    }
    let mut text = None;
    for _ in 0..100 {
        if let Some((_, body)) = http.received.all().into_iter().next() {
            text = body["text"].as_str().map(str::to_owned);
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = text.expect("an alert within 5 s, with no health_check job run");
    assert!(text.starts_with("[Atlas FIRING] actor_restarts_backup on vm-9\nbackup restarted 3 times"), "{text}");
    // Later evaluations still see the backup's restarts: a second actor restarting is alerted by one of
    // them, and by then the first alert has not gone out again.
    for restart in 1..=3 {
        handles.scheduler.inject(Fault::PanicNow).await;
        crate::supervision::wait_restarted(&handles.registry, names::SCHEDULER, restart).await;
    }
    let texts = || -> Vec<String> {
        http.received.all().into_iter().filter_map(|(_, body)| body["text"].as_str().map(str::to_owned)).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !texts().iter().any(|t| t.contains("actor_restarts_scheduler")) {
        assert!(std::time::Instant::now() < deadline, "the scheduler's restarts were never alerted: {:?}", texts());
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let backup_alerts = texts().iter().filter(|t| t.contains("actor_restarts_backup")).count();
    assert_eq!(backup_alerts, 1, "sent once while it lasts: {:?}", texts());
    handles.shutdown().await.unwrap();
}

#[test]
fn alert_settings_are_checked_at_load_time() {
    let load = |flags: &[&str]| {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        atlas::settings::load(Some(std::path::Path::new("config/atlas.toml")), Vec::new(), &flags).map(|_| ())
    };
    let cases: &[(&[&str], &str)] = &[
        (&["alerts.webhook_url=hooks.example.com/x"], "alerts.webhook_url"),
        (&["alerts.telegram_bot_token=123:abc"], "alerts.telegram_chat_id"),
        (&["alerts.telegram_api_base=api.telegram.org"], "alerts.telegram_api_base"),
        (&["alerts.smtp_host=mail", "alerts.smtp_from=atlas@example.com"], "alerts.smtp_to"),
        (
            &["alerts.smtp_host=mail", "alerts.smtp_from=not an address", "alerts.smtp_to=[\"a@b.c\"]"],
            "alerts.smtp_from",
        ),
        (&["alerts.smtp_host=mail", "alerts.smtp_from=a@b.c", "alerts.smtp_to=[\"nobody\"]"], "alerts.smtp_to"),
        (
            &["alerts.smtp_host=mail", "alerts.smtp_port=0", "alerts.smtp_from=a@b.c", "alerts.smtp_to=[\"d@e.f\"]"],
            "alerts.smtp_port",
        ),
        (&["alerts.smtp_security=ssl"], "alerts.smtp_security"),
        (&["alerts.repeat_every_m=0"], "alerts.repeat_every_m"),
        (&["metrics.access=public"], "metrics.access"),
        (&["health.alert_check_s=1"], "health.alert_check_s"),
    ];
    for (flags, key) in cases {
        let err = load(flags).expect_err(&format!("{flags:?} is refused")).to_string();
        assert!(err.contains(key), "{flags:?} → {err}");
    }
    assert!(load(&["alerts.smtp_host=mail", "alerts.smtp_from=a@b.c", "alerts.smtp_to=[\"d@e.f\"]"]).is_ok());
}
