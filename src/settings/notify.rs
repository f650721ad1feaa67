//! `[notify]` (who is told what: named channels, routes, reviewers' addresses) and `[links]` (approval
//! links' lifetime and sign-in). Routes name kinds of news and targets; without routes, `[alerts]`'s
//! channels get alerts and approval reminders exactly as before routes existed.

use super::operations::WebhookFormat;
use super::Settings;
use atlas_actors::alerts::channels::{is_email_address, Channel};
use atlas_actors::notify::{Kind, LinkSettings, NotifyConfig, Route, Target, REVIEWERS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The names `[alerts]`'s own channels have in routes.
pub const ALERT_CHANNELS: [&str; 3] = ["webhook", "telegram", "email"];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Reviewer token name → e-mail address: who a route to "reviewers" can reach.
    pub reviewers: BTreeMap<String, String>,
    /// More channels, by name.
    pub channels: BTreeMap<String, ChannelSettings>,
    pub routes: Vec<RouteSettings>,
}

/// A channel: a webhook (`webhook_url`, `format`) or e-mail to fixed addresses (`email_to`, through
/// `[alerts]`'s SMTP server).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelSettings {
    pub webhook_url: String,
    pub format: Option<WebhookFormat>,
    pub email_to: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSettings {
    /// Kinds of news: approval_requested, approval_reminder, approval_decided, run_failed, critical_error, alert.
    pub events: Vec<String>,
    /// "reviewers", or channel names.
    pub to: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksSettings {
    /// A link works this many hours after it was sent (and once, and only while the approval waits).
    pub ttl_h: u64,
    /// The link's page asks for the reviewer's sign-in first (possession of the e-mail is not enough).
    pub require_sign_in: bool,
}

impl Default for LinksSettings {
    fn default() -> Self {
        Self { ttl_h: 72, require_sign_in: false }
    }
}

type Refusal = (&'static str, String);

impl Settings {
    /// The channels by name: `[alerts]`'s that are set, then `[notify.channels]`.
    fn notify_channels(&self) -> BTreeMap<String, Channel> {
        let mut channels: BTreeMap<String, Channel> =
            self.alert_channels().into_iter().map(|c| (channel_name(&c).to_owned(), c)).collect();
        for (name, settings) in &self.notify.channels {
            let channel = if settings.webhook_url.is_empty() {
                match self.smtp_server().and_then(|server| server.mail_to(settings.email_to.clone())) {
                    Some(mail) => mail,
                    None => continue,
                }
            } else {
                Channel::Webhook {
                    url: settings.webhook_url.clone(),
                    style: settings.format.unwrap_or(WebhookFormat::Json).style(),
                }
            };
            channels.insert(name.clone(), channel);
        }
        channels
    }

    /// The routes as configured, or the one route that was the whole behaviour before routes: alerts and
    /// reminders to every `[alerts]` channel.
    fn routes(&self) -> Vec<Route> {
        if self.notify.routes.is_empty() {
            let channels = self.alert_channels().into_iter().map(|c| (channel_name(&c).to_owned(), c));
            return NotifyConfig::alerts_to(channels).routes;
        }
        self.notify
            .routes
            .iter()
            .map(|route| Route {
                kinds: route.events.iter().filter_map(|e| Kind::parse(e)).collect(),
                targets: route
                    .to
                    .iter()
                    .map(|to| if to == REVIEWERS { Target::Reviewers } else { Target::Channel(to.clone()) })
                    .collect(),
            })
            .collect()
    }

    pub(super) fn notify_config(&self) -> NotifyConfig {
        let public_url = self.console.public_url();
        NotifyConfig {
            channels: self.notify_channels(),
            routes: self.routes(),
            reviewer_addresses: self.notify.reviewers.clone(),
            mail: self.smtp_server(),
            links: public_url
                .clone()
                .map(|public_url| LinkSettings { public_url, ttl: chrono::Duration::hours(self.links.ttl_h as i64) }),
            public_url,
        }
    }

    pub(super) fn validate_notify(&self) -> Result<(), Refusal> {
        if !(1..=24 * 30).contains(&self.links.ttl_h) {
            return Err(("links.ttl_h", format!("must be between 1 and 720, got {}", self.links.ttl_h)));
        }
        for (name, address) in &self.notify.reviewers {
            if !is_email_address(address) {
                return Err(("notify.reviewers", format!("{name}: {address:?} is not an e-mail address")));
            }
        }
        for (name, channel) in &self.notify.channels {
            if name == REVIEWERS || ALERT_CHANNELS.contains(&name.as_str()) {
                return Err((
                    "notify.channels",
                    format!(
                        "{name:?} is a name routes already use ([alerts]'s webhook, telegram, email, or reviewers)"
                    ),
                ));
            }
            let url = &channel.webhook_url;
            match (url.is_empty(), channel.email_to.is_empty()) {
                (false, true) if url.starts_with("https://") || url.starts_with("http://") => {}
                (false, true) => {
                    return Err((
                        "notify.channels",
                        format!("{name}: webhook_url must be an http(s):// URL, got {url:?}"),
                    ))
                }
                (true, false) => {
                    if let Some(bad) = channel.email_to.iter().find(|to| !is_email_address(to)) {
                        return Err(("notify.channels", format!("{name}: {bad:?} is not an e-mail address")));
                    }
                    if self.alerts.smtp_host.is_empty() {
                        return Err(("notify.channels", format!("{name}: email_to needs alerts.smtp_host")));
                    }
                }
                _ => {
                    return Err(("notify.channels", format!("{name}: set either webhook_url (and format) or email_to")))
                }
            }
        }
        let channels = self.notify_channels();
        for (at, route) in self.notify.routes.iter().enumerate() {
            let route_no = at + 1;
            if route.events.is_empty() || route.to.is_empty() {
                return Err(("notify.routes", format!("route {route_no} needs events and to")));
            }
            let kinds: Vec<Kind> = route
                .events
                .iter()
                .map(|e| {
                    Kind::parse(e).ok_or_else(|| {
                        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                        (
                            "notify.routes",
                            format!("route {route_no}: unknown event {e:?} (known: {})", known.join(", ")),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            for to in &route.to {
                if to == REVIEWERS {
                    if let Some(kind) = kinds.iter().find(|k| !k.is_for_reviewers()) {
                        return Err((
                            "notify.routes",
                            format!(
                                "route {route_no}: reviewers get approval_requested and approval_reminder only, not {}",
                                kind.as_str()
                            ),
                        ));
                    }
                    if self.console.public_url().is_none() {
                        return Err(("console.public_url", format!("route {route_no} sends links to reviewers: set the address people reach the console at")));
                    }
                    if self.alerts.smtp_host.is_empty() {
                        return Err((
                            "alerts.smtp_host",
                            format!("route {route_no} e-mails reviewers: set the SMTP server"),
                        ));
                    }
                } else if !channels.contains_key(to) {
                    let known: Vec<&str> = channels.keys().map(String::as_str).collect();
                    return Err((
                        "notify.routes",
                        format!("route {route_no}: no channel named {to:?} (set: {})", known.join(", ")),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn channel_name(channel: &Channel) -> &'static str {
    match channel {
        Channel::Webhook { .. } => "webhook",
        Channel::Telegram { .. } => "telegram",
        Channel::Smtp { .. } => "email",
    }
}
