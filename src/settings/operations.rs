//! The operations sections: off-site backups (`[offsite]`), alert channels (`[alerts]`) and `/metrics`
//! access (`[metrics]`), with their checks and the engine configs built from them (also Health's).

use super::{ApprovalModeSetting, Settings};
use atlas_actors::alerts::actor::AlertsConfig;
use atlas_actors::alerts::channels::{Channel, SmtpSecurity};
use atlas_actors::domain::Secret;
use atlas_actors::health::ops::OpsLimits;
use atlas_actors::health::watchdog::Watchdog;
use atlas_actors::health::HealthConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Off-site copies of each backup in S3-compatible storage (`[offsite]`); off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffsiteSettings {
    pub enabled: bool,
    /// `https://…` of an S3-compatible service; "" = AWS S3 in `region`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Object names start with this.
    pub prefix: String,
    /// "" = from `AWS_ACCESS_KEY_ID`. Prefer `ATLAS_OFFSITE__ACCESS_KEY_ID` to the file.
    pub access_key_id: String,
    /// "" = from `AWS_SECRET_ACCESS_KEY`. Prefer `ATLAS_OFFSITE__SECRET_ACCESS_KEY`; never logged.
    pub secret_access_key: String,
    /// Permit a plain `http://` endpoint (a local MinIO or emulator).
    pub allow_http: bool,
    /// Remote backups kept, newest first.
    pub keep: usize,
    pub request_timeout_s: u64,
    /// Retries per request (5xx, 429, connection errors) with backoff.
    pub max_retries: usize,
}

impl Default for OffsiteSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: String::new(),
            region: "us-east-1".into(),
            bucket: String::new(),
            prefix: "atlas/".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            allow_http: false,
            keep: 30,
            request_timeout_s: 60,
            max_retries: 3,
        }
    }
}

/// Point-in-time recovery (`[pitr]`): every committed batch's changes shipped off-site within seconds,
/// restorable to any moment (`atlas restore --to`). Off by default; needs `[offsite]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PitrSettings {
    pub enabled: bool,
    /// Seconds between shipments (1 allowed; see docs/operations.md for what each costs in requests).
    pub ship_every_s: u64,
    /// The outbox holding a change longer than this is an alert.
    pub max_lag_s: u64,
    /// Snapshots and their changes are kept off-site this long, whatever `offsite.keep` says.
    pub keep_days: u32,
}

impl Default for PitrSettings {
    fn default() -> Self {
        Self { enabled: false, ship_every_s: 10, max_lag_s: 120, keep_days: 7 }
    }
}

impl Settings {
    pub(super) fn validate_pitr(&self) -> Result<(), (&'static str, String)> {
        let pitr = &self.pitr;
        if !(1..=3600).contains(&pitr.ship_every_s) {
            return Err(("pitr.ship_every_s", format!("must be between 1 and 3600, got {}", pitr.ship_every_s)));
        }
        if !(pitr.ship_every_s..=7 * 86_400).contains(&pitr.max_lag_s) {
            return Err((
                "pitr.max_lag_s",
                format!("must be between pitr.ship_every_s ({}) and 604800, got {}", pitr.ship_every_s, pitr.max_lag_s),
            ));
        }
        if !(1..=3650).contains(&pitr.keep_days) {
            return Err(("pitr.keep_days", format!("must be between 1 and 3650, got {}", pitr.keep_days)));
        }
        if pitr.enabled && !self.offsite.enabled {
            return Err(("pitr.enabled", "needs off-site storage: set [offsite] enabled = true and its bucket".into()));
        }
        Ok(())
    }

    /// The shipper's and the restore's settings; `None` when point-in-time recovery is off.
    pub fn pitr_config(&self) -> Option<atlas_actors::pitr::PitrConfig> {
        self.pitr.enabled.then(|| atlas_actors::pitr::PitrConfig {
            ship_every: Duration::from_secs(self.pitr.ship_every_s),
            max_lag: Duration::from_secs(self.pitr.max_lag_s),
            keep_days: self.pitr.keep_days,
            ..Default::default()
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"alert", "status", "detail", "since", "host", "summary"}`
    Json,
    /// `{"text": "…"}` (Slack, Mattermost, Rocket.Chat incoming webhooks)
    Slack,
    /// Slack Block Kit (an incoming webhook's `blocks`)
    Blockkit,
    /// An Adaptive Card for a Microsoft Teams Workflows webhook
    Teams,
    /// A Google Chat card (`cardsV2`)
    Googlechat,
}

impl WebhookFormat {
    pub(super) fn style(self) -> atlas_actors::alerts::messages::WebhookStyle {
        use atlas_actors::alerts::messages::WebhookStyle;
        match self {
            Self::Json => WebhookStyle::Json,
            Self::Slack => WebhookStyle::SlackText,
            Self::Blockkit => WebhookStyle::SlackBlocks,
            Self::Teams => WebhookStyle::Teams,
            Self::Googlechat => WebhookStyle::GoogleChat,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecuritySetting {
    None,
    Starttls,
    Tls,
}

/// Alert channels (`[alerts]`): each is on when its address is set; none by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// A firing alert is sent again at most this often (minutes) until it clears.
    pub repeat_every_m: u64,
    /// Seconds one delivery may take.
    pub send_timeout_s: u64,
    /// Named in every message; "" = the machine's host name.
    pub host_label: String,
    pub webhook_url: String,
    pub webhook_format: WebhookFormat,
    pub telegram_bot_token: String,
    pub telegram_chat_id: String,
    pub telegram_api_base: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecuritySetting,
    pub smtp_username: String,
    pub smtp_password: String,
    pub smtp_from: String,
    pub smtp_to: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            repeat_every_m: 60,
            send_timeout_s: 10,
            host_label: String::new(),
            webhook_url: String::new(),
            webhook_format: WebhookFormat::Json,
            telegram_bot_token: String::new(),
            telegram_chat_id: String::new(),
            telegram_api_base: "https://api.telegram.org".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: SmtpSecuritySetting::Starttls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_from: String::new(),
            smtp_to: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAccess {
    /// Any valid token (a Prometheus `authorization` credential).
    Token,
    /// Requests from 127.0.0.1 / ::1 without a token (a scraper on the same VM or through an SSH tunnel).
    Loopback,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    pub access: MetricsAccess,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { access: MetricsAccess::Token }
    }
}

impl Settings {
    pub(super) fn validate_alerts(&self) -> Result<(), (&'static str, String)> {
        let alerts = &self.alerts;
        if !(1..=7 * 24 * 60).contains(&alerts.repeat_every_m) {
            return Err((
                "alerts.repeat_every_m",
                format!("must be between 1 and 10080, got {}", alerts.repeat_every_m),
            ));
        }
        if !(1..=300).contains(&alerts.send_timeout_s) {
            return Err(("alerts.send_timeout_s", format!("must be between 1 and 300, got {}", alerts.send_timeout_s)));
        }
        let is_url = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        let url = &alerts.webhook_url;
        if !url.is_empty() && !is_url(url) {
            return Err(("alerts.webhook_url", format!("must be an http(s):// URL, got {url:?}")));
        }
        if !is_url(&alerts.telegram_api_base) {
            let base = &alerts.telegram_api_base;
            return Err(("alerts.telegram_api_base", format!("must be an http(s):// URL, got {base:?}")));
        }
        if alerts.telegram_bot_token.is_empty() != alerts.telegram_chat_id.is_empty() {
            return Err((
                "alerts.telegram_chat_id",
                "telegram needs both telegram_bot_token and telegram_chat_id".into(),
            ));
        }
        if !alerts.smtp_host.is_empty() {
            if alerts.smtp_port == 0 {
                return Err(("alerts.smtp_port", "must be a port number (1-65535), got 0".into()));
            }
            if !atlas_actors::alerts::channels::is_email_address(&alerts.smtp_from) {
                return Err(("alerts.smtp_from", format!("must be an e-mail address, got {:?}", alerts.smtp_from)));
            }
            if alerts.smtp_to.is_empty() && self.notify.routes.is_empty() {
                return Err((
                    "alerts.smtp_to",
                    "needs at least one recipient when smtp_host is set (or [[notify.routes]] that e-mail reviewers)"
                        .into(),
                ));
            }
            if let Some(bad) = alerts.smtp_to.iter().find(|to| !atlas_actors::alerts::channels::is_email_address(to)) {
                return Err(("alerts.smtp_to", format!("{bad:?} is not an e-mail address")));
            }
        }
        Ok(())
    }

    /// The SMTP server of `[alerts]`, when set (its `to` is `alerts.smtp_to`).
    pub(super) fn smtp_server(&self) -> Option<Channel> {
        let a = &self.alerts;
        (!a.smtp_host.is_empty()).then(|| Channel::Smtp {
            host: a.smtp_host.clone(),
            port: a.smtp_port,
            security: match a.smtp_security {
                SmtpSecuritySetting::None => SmtpSecurity::None,
                SmtpSecuritySetting::Starttls => SmtpSecurity::StartTls,
                SmtpSecuritySetting::Tls => SmtpSecurity::Tls,
            },
            username: a.smtp_username.clone(),
            password: Secret(a.smtp_password.clone()),
            from: a.smtp_from.clone(),
            to: a.smtp_to.clone(),
        })
    }

    /// `[alerts]`'s channels that are set (e-mail only with recipients).
    pub(super) fn alert_channels(&self) -> Vec<Channel> {
        let a = &self.alerts;
        let mut channels = Vec::new();
        if !a.webhook_url.is_empty() {
            channels.push(Channel::Webhook { url: a.webhook_url.clone(), style: a.webhook_format.style() });
        }
        if !a.telegram_bot_token.is_empty() {
            channels.push(Channel::Telegram {
                api_base: a.telegram_api_base.clone(),
                bot_token: Secret(a.telegram_bot_token.clone()),
                chat_id: a.telegram_chat_id.clone(),
            });
        }
        if !a.smtp_to.is_empty() {
            channels.extend(self.smtp_server());
        }
        channels
    }

    /// The Notifier's config: the channels, the routes (`notify.rs`), how often and how long.
    pub fn alerts_config(&self) -> AlertsConfig {
        let a = &self.alerts;
        let host = if a.host_label.is_empty() {
            std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "atlas".into())
        } else {
            a.host_label.clone()
        };
        AlertsConfig {
            notify: self.notify_config(),
            repeat_every: chrono::Duration::minutes(a.repeat_every_m as i64),
            timeout: Duration::from_secs(a.send_timeout_s),
            host,
        }
    }

    /// Health's view: probes, heartbeats, operational limits, and the systemd watchdog from the environment.
    pub fn health_config(&self) -> HealthConfig {
        let h = &self.health;
        let minutes = |m: u64| chrono::Duration::minutes(m as i64);
        HealthConfig {
            probe_timeout: Duration::from_millis(h.probe_timeout_ms),
            heartbeat_stale_after: chrono::Duration::seconds(h.heartbeat_stale_s as i64),
            ops: Some(OpsLimits {
                database: self.database.path.clone(),
                backup_dir: self.backup.dir.clone(),
                sheets_enabled: self.sheets.enabled,
                sheets_shared_reviewer: (self.sheets.approval_mode == ApprovalModeSetting::Shared)
                    .then(|| self.sheets.shared_reviewer.clone()),
                disk_min_free_mib: h.disk_min_free_mib,
                wal_max_mib: h.wal_max_mib,
                sync_stale_after: minutes(h.sync_stale_after_m),
                backup_max_age: chrono::Duration::hours(h.backup_max_age_h as i64),
                approval_max_age: chrono::Duration::hours(h.approval_max_age_h as i64),
                critical_unacked_after: minutes(h.critical_unacked_after_m),
                validation_failure_pct: h.validation_failure_pct,
                validation_min_sample: h.validation_min_sample.into(),
                pitr_max_lag: self.pitr.enabled.then(|| chrono::Duration::seconds(self.pitr.max_lag_s as i64)),
                sinks: self.sinks.iter().map(|s| s.name.clone()).collect(),
                remind_after: (self.approvals.remind_after_h > 0.0)
                    .then(|| chrono::Duration::milliseconds((self.approvals.remind_after_h * 3_600_000.0) as i64)),
                outcomes: atlas_actors::health::outcomes::OutcomeLimits {
                    decision_mean_max: chrono::Duration::seconds((h.outcome_decision_mean_max_h * 3600.0) as i64),
                    critical_resolution_max: chrono::Duration::seconds(
                        (h.outcome_critical_resolution_max_h * 3600.0) as i64,
                    ),
                    sync_completion_min_pct: h.outcome_sync_completion_min_pct,
                    validation_pass_min_pct: h.outcome_validation_pass_min_pct,
                },
            }),
            watchdog: Watchdog::from_env(),
            restart_alert_threshold: h.restart_alert_threshold,
            restart_window: minutes(h.restart_window_m),
            alert_every: Some(Duration::from_secs(h.alert_check_s)),
        }
    }

    pub(super) fn validate_offsite(&self) -> Result<(), (&'static str, String)> {
        let offsite = &self.offsite;
        if !(1..=10_000).contains(&offsite.keep) {
            return Err(("offsite.keep", format!("must be between 1 and 10000, got {}", offsite.keep)));
        }
        if !(1..=3600).contains(&offsite.request_timeout_s) {
            return Err((
                "offsite.request_timeout_s",
                format!("must be between 1 and 3600, got {}", offsite.request_timeout_s),
            ));
        }
        if offsite.max_retries > 20 {
            return Err(("offsite.max_retries", format!("must be at most 20, got {}", offsite.max_retries)));
        }
        if !offsite.enabled {
            return Ok(());
        }
        if offsite.bucket.trim().is_empty() {
            return Err(("offsite.bucket", "must be set when offsite.enabled = true".into()));
        }
        let endpoint = &offsite.endpoint;
        if !endpoint.is_empty() && !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
            return Err(("offsite.endpoint", format!("must start with https:// (or http://), got {endpoint:?}")));
        }
        if endpoint.starts_with("http://") && !offsite.allow_http {
            return Err(("offsite.endpoint", "is plain http://; set offsite.allow_http = true to permit it".into()));
        }
        Ok(())
    }
}
