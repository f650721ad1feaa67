//! A recipient that fails is tried again, and only it: the reviewers who already got their mail do not
//! get it twice, not on a retry and not after a restart (who took which news is kept in the database).

use super::{settings, Told};
use crate::api::Team;
use crate::support::fake_receivers::{FakeHttpReceiver, FakeSmtp};
use crate::support::TestApp;
use atlas::settings::notify::{ChannelSettings, RouteSettings};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Waits (bounded) until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(began.elapsed() < Duration::from_secs(20), "{what} within 20 s");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn a_failing_channel_is_retried_and_nobody_is_told_twice_across_a_restart() {
    let flaky = FakeHttpReceiver::start().await;
    flaky.failing.store(true, Ordering::SeqCst);
    let url = format!("{}/hook", flaky.url);
    let smtp = FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&dir, smtp.port);
    let chat = ChannelSettings { webhook_url: url, format: None, email_to: vec![] };
    settings.notify.channels.insert("chat".into(), chat);
    settings.notify.routes =
        vec![RouteSettings { events: vec!["approval_requested".into()], to: vec!["reviewers".into(), "chat".into()] }];
    let team = Team::with_app(TestApp::spawn_with(dir, settings.clone()).await).await;
    let told = Told { team, smtp };
    let id = told.request_run(&["true"]).await;
    told.mail("alice@example.com", &id).await;
    told.mail("bob@example.com", &id).await;
    until("a second try at the failing channel", || flaky.attempts.load(Ordering::SeqCst) >= 2).await;
    assert_eq!(told.mails_to("alice@example.com").len(), 1, "a retry of the channel mailed alice again");

    // Stopped while the channel still fails: the news is not through, and who took it is remembered.
    let Told { team, smtp } = told;
    let (stopped, dir) = team.app.stop_keeping_files().await;
    stopped.unwrap();
    let tried = flaky.attempts.load(Ordering::SeqCst);
    let app = TestApp::spawn_with(dir, settings).await;
    until("a try after the restart", || flaky.attempts.load(Ordering::SeqCst) > tried).await;
    flaky.failing.store(false, Ordering::SeqCst);
    until("the channel takes the news", || flaky.received.all().len() == 1).await;
    actix_rt::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(flaky.received.all().len(), 1, "the channel got the news once");
    let mails = |address: &str| smtp.mails().iter().filter(|m| m.to.iter().any(|to| to == address)).count();
    assert_eq!((mails("alice@example.com"), mails("bob@example.com")), (1, 1), "nobody was mailed twice");
    // A try's copy left behind by a timeout can be dropped by the mail system: the same Message-ID.
    let alice = smtp.mails().into_iter().find(|m| m.to.iter().any(|to| to == "alice@example.com")).unwrap();
    let id_line = alice.data.lines().find(|l| l.to_lowercase().starts_with("message-id:")).expect("a Message-ID");
    assert!(id_line.contains("<atlas.") && id_line.ends_with(".reviewer-alice@vm-test>"), "{id_line}");
    drop(app);
}

/// A mail server slow to accept holds back only the mail: each send ends at `alerts.send_timeout_s`, and
/// the chat hears of each request at once, not after the mail.
#[actix_rt::test]
async fn a_slow_mail_server_never_holds_back_the_chat() {
    let chat = FakeHttpReceiver::start().await;
    let url = format!("{}/hook", chat.url);
    let told = super::told(move |settings| {
        settings.alerts.send_timeout_s = 1;
        settings
            .notify
            .channels
            .insert("chat".into(), ChannelSettings { webhook_url: url, format: None, email_to: vec![] });
        settings.notify.routes = vec![RouteSettings {
            events: vec!["approval_requested".into()],
            to: vec!["reviewers".into(), "chat".into()],
        }];
    })
    .await;
    told.smtp.delay_ms.store(30_000, Ordering::SeqCst);
    let began = Instant::now();
    let first = told.request_run(&["true"]).await;
    let second = told.request_run(&["true"]).await;
    until("both requests in the chat", || {
        let all = chat.received.all();
        [&first, &second].iter().all(|id| all.iter().any(|(_, body)| body["id"] == id.as_str()))
    })
    .await;
    assert!(began.elapsed() < Duration::from_secs(6), "the chat waited for the mail: {:?}", began.elapsed());
    // The mail server answers again: every reviewer gets each request's mail.
    told.smtp.delay_ms.store(0, Ordering::SeqCst);
    told.mail("alice@example.com", &second).await;
    told.mail("bob@example.com", &first).await;
}

/// News that is old (here: committed an hour ago by the database's clock) is given up at its first
/// failure, in the audit trail as `notify.undelivered`, and the cursor moves on: the mail still goes out.
#[actix_rt::test]
async fn old_news_a_recipient_cannot_take_is_given_up_and_audited() {
    let smtp = FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&dir, smtp.port);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    settings
        .notify
        .channels
        .insert("chat".into(), ChannelSettings { webhook_url: url, format: None, email_to: vec![] });
    settings.notify.routes =
        vec![RouteSettings { events: vec!["approval_requested".into()], to: vec!["reviewers".into(), "chat".into()] }];
    let clock = atlas_actors::domain::ManualClock::new(chrono::Utc::now() - chrono::Duration::hours(1));
    let app = TestApp::spawn_with_clock(dir, settings, std::sync::Arc::new(clock)).await;
    let told = Told { team: Team::with_app(app).await, smtp };
    let id = told.request_run(&["true"]).await;
    told.mail("alice@example.com", &id).await;
    let team = &told.team;
    let began = Instant::now();
    let undelivered = loop {
        let (_, audit) = team.call("GET", "/api/v1/audit?type=notify.undelivered", &team.admin, None).await;
        if let Some(event) = audit["items"].as_array().unwrap().first() {
            break event.clone();
        }
        assert!(began.elapsed() < Duration::from_secs(15), "no notify.undelivered within 15 s");
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(undelivered["aggregate_id"], "channel:chat", "{undelivered}");
    let detail = undelivered["payload"]["command"]["detail"].as_str().unwrap();
    assert!(detail.starts_with("given up after it is over 10 minutes old"), "{detail}");
    // The cursor moved on: the next request's mail goes out.
    let next = told.request_run(&["true"]).await;
    told.mail("bob@example.com", &next).await;
}
