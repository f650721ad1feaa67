//! Telling people: approval links e-mailed to each reviewer (`links`), and routes sending each kind of
//! news to its channels in each service's own format (`routes`). Atlas's public address in these tests
//! is a proxy's (`PUBLIC`); a test maps it back to the listener, as the proxy would.

mod links;
mod retries;
mod routes;

use crate::api::Team;
use crate::support::fake_receivers::FakeSmtp;
use crate::support::{test_settings, TestApp};
use atlas::settings::notify::RouteSettings;
use atlas::settings::Settings;
use std::time::{Duration, Instant};

/// `console.public_url`: the address people reach, a TLS proxy in front of the listener.
pub const PUBLIC: &str = "https://atlas.example.test";

pub struct Told {
    pub team: Team,
    pub smtp: FakeSmtp,
}

/// Settings whose reviewers (alice, bob, the admin, the viewer) have addresses, with approval requests
/// and reminders routed to them through the SMTP server on `smtp_port`.
pub fn settings(dir: &tempfile::TempDir, smtp_port: u16) -> Settings {
    let mut settings = test_settings(dir);
    settings.console.public_url = format!("{PUBLIC}/");
    settings.alerts.host_label = "vm-test".into();
    settings.alerts.smtp_host = "127.0.0.1".into();
    settings.alerts.smtp_port = smtp_port;
    settings.alerts.smtp_security = atlas::settings::SmtpSecuritySetting::None;
    settings.alerts.smtp_from = "atlas@example.com".into();
    for (name, address) in [
        ("alice", "alice@example.com"),
        ("bob", "bob@example.com"),
        ("admin", "admin@example.com"),
        ("viewer", "viewer@example.com"),
    ] {
        settings.notify.reviewers.insert(name.into(), address.into());
    }
    settings.notify.routes = vec![RouteSettings {
        events: vec!["approval_requested".into(), "approval_reminder".into()],
        to: vec!["reviewers".into()],
    }];
    settings
}

/// A team on `settings`, changed by `adjust` before start.
pub async fn told(adjust: impl FnOnce(&mut Settings)) -> Told {
    let smtp = FakeSmtp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&dir, smtp.port);
    adjust(&mut settings);
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    Told { team, smtp }
}

impl Told {
    /// The text part of each mail to `address`, decoded, in order.
    pub fn mails_to(&self, address: &str) -> Vec<String> {
        self.smtp
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|to| to == address))
            .map(|m| text_part(&m.data))
            .collect()
    }

    /// Waits (bounded) for a mail to `address` that mentions `wanted`.
    pub async fn mail(&self, address: &str, wanted: &str) -> String {
        let began = Instant::now();
        loop {
            if let Some(mail) = self.mails_to(address).into_iter().find(|m| m.contains(wanted)) {
                return mail;
            }
            assert!(began.elapsed() < Duration::from_secs(15), "no mail to {address} about {wanted} within 15 s");
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A link of a mail, as the listener's path (the proxy's address taken off).
    pub fn path_of(&self, mail: &str, label: &str) -> String {
        let line = mail
            .lines()
            .find(|l| l.starts_with(&format!("{label}: ")))
            .unwrap_or_else(|| panic!("no {label} in {mail}"));
        let url = &line[label.len() + 2..];
        url.strip_prefix(PUBLIC).unwrap_or_else(|| panic!("{url} is not under {PUBLIC}")).to_owned()
    }

    /// A run of a task asked for by the agent: the approval's id.
    pub async fn request_run(&self, command: &[&str]) -> String {
        let team = &self.team;
        let project = team.project("ops").await;
        let task = team.task(&project, "Deploy", Some(command.to_vec())).await;
        let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
        assert_eq!(status, 202, "{approval}");
        approval["id"].as_str().unwrap().to_owned()
    }

    pub async fn approval(&self, id: &str) -> serde_json::Value {
        self.team.call("GET", &format!("/api/v1/approvals/{id}"), &self.team.admin, None).await.1
    }
}

/// A message's `text/plain` part, its quoted-printable undone (lettre quotes lines over 76 characters).
fn text_part(data: &str) -> String {
    let start = data.find("Content-Type: text/plain").unwrap_or_else(|| panic!("no text part in {data}"));
    let part = &data[start..];
    let body_at = part.find("\n\n").expect("the part's headers end") + 2;
    let headers = &part[..body_at];
    let body = &part[body_at..part[body_at..].find("\n--").map_or(part.len(), |end| body_at + end)];
    assert!(!headers.contains("base64"), "the test reads 7bit or quoted-printable parts: {headers}");
    if !headers.contains("quoted-printable") {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut at = 0;
    let raw = joined.as_bytes();
    while at < raw.len() {
        if raw[at] == b'=' && at + 2 < raw.len() + 1 {
            if let Ok(byte) =
                u8::from_str_radix(std::str::from_utf8(&raw[at + 1..(at + 3).min(raw.len())]).unwrap_or(""), 16)
            {
                bytes.push(byte);
                at += 3;
                continue;
            }
        }
        bytes.push(raw[at]);
        at += 1;
    }
    String::from_utf8(bytes).expect("UTF-8 text")
}
