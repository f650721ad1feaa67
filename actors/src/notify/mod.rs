//! Telling people: which kinds of news (`Kind`) go to whom (`Route`: a named channel, or each reviewer
//! who may decide, by e-mail with links of their own). The Notifier (`alerts/actor.rs`) delivers both
//! Health's alerts and reminders and the news read from the audit trail (`feed.rs`, `tail.rs`);
//! `compose.rs` says what each message holds, `alerts/messages.rs` shapes it for its target, `links.rs` signs the links.
//!
//! A shared channel never gets a reviewer's links: it gets the approval's console page, which asks
//! for a sign-in.

pub mod compose;
pub mod feed;
pub mod links;
pub mod tail;
pub mod teller;

use crate::alerts::channels::Channel;
use std::collections::BTreeMap;

/// The kinds of news a route names (`[[notify.routes]] events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    ApprovalRequested,
    ApprovalReminder,
    ApprovalDecided,
    RunFailed,
    CriticalError,
    /// Health's alerts (and their recoveries).
    Alert,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::ApprovalRequested,
        Kind::ApprovalReminder,
        Kind::ApprovalDecided,
        Kind::RunFailed,
        Kind::CriticalError,
        Kind::Alert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalRequested => "approval_requested",
            Self::ApprovalReminder => "approval_reminder",
            Self::ApprovalDecided => "approval_decided",
            Self::RunFailed => "run_failed",
            Self::CriticalError => "critical_error",
            Self::Alert => "alert",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether a reviewer's own e-mail (with decision links) makes sense for it.
    pub fn is_for_reviewers(self) -> bool {
        matches!(self, Self::ApprovalRequested | Self::ApprovalReminder)
    }
}

/// Where a route sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Each reviewer who may decide the approval, at their address (`notify.reviewers`), with links.
    Reviewers,
    /// A channel by name (`[notify.channels.<name>]`, or `webhook`, `telegram`, `email` from `[alerts]`).
    Channel(String),
}

/// The name of the per-reviewer target in a route's `to`.
pub const REVIEWERS: &str = "reviewers";

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub kinds: Vec<Kind>,
    pub targets: Vec<Target>,
}

/// Approval links' settings (the key is the data directory's, `links.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkSettings {
    /// The address people reach the console at (`[console] public_url`), without a trailing `/`.
    pub public_url: String,
    pub ttl: chrono::Duration,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotifyConfig {
    pub channels: BTreeMap<String, Channel>,
    pub routes: Vec<Route>,
    /// Reviewer token name → e-mail address.
    pub reviewer_addresses: BTreeMap<String, String>,
    /// The SMTP server reviewers' e-mail leaves through (`[alerts] smtp_*`), its `to` replaced per reviewer.
    pub mail: Option<Channel>,
    /// The console's public address, for a page's URL in a message; `None`: messages carry no URL.
    pub public_url: Option<String>,
    /// Set when some route sends to reviewers.
    pub links: Option<LinkSettings>,
}

impl NotifyConfig {
    /// Alerts and approval reminders to each of `channels`, in that order: the whole behaviour before routes.
    pub fn alerts_to(channels: impl IntoIterator<Item = (String, Channel)>) -> Self {
        let channels: Vec<(String, Channel)> = channels.into_iter().collect();
        let targets = channels.iter().map(|(name, _)| Target::Channel(name.clone())).collect();
        let channels = channels.into_iter().collect();
        Self {
            channels,
            routes: vec![Route { kinds: vec![Kind::Alert, Kind::ApprovalReminder], targets }],
            ..Self::default()
        }
    }

    /// Where news of `kind` goes, each target once.
    pub fn targets(&self, kind: Kind) -> Vec<&Target> {
        let mut out: Vec<&Target> = Vec::new();
        for route in self.routes.iter().filter(|r| r.kinds.contains(&kind)) {
            for target in &route.targets {
                if !out.contains(&target) {
                    out.push(target);
                }
            }
        }
        out
    }

    /// Whether any route reads the audit trail's news (everything but Health's alerts and reminders).
    pub fn reads_the_feed(&self) -> bool {
        Kind::ALL.iter().any(|k| !matches!(k, Kind::Alert | Kind::ApprovalReminder) && !self.targets(*k).is_empty())
    }

    /// The console page of a record, when Atlas knows its public address.
    pub fn page(&self, path: &str) -> Option<String> {
        self.public_url.as_ref().map(|base| format!("{base}{path}"))
    }
}
