//! `[console]`: how long a web console sign-in lasts, and the address people reach it at.

use super::Settings;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused this long is signed out.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, used or not.
    pub session_max_hours: u64,
    /// The console's address as people reach it (normally a TLS reverse proxy in front of the loopback
    /// listener), for the links in messages; "" = none (reached through an SSH tunnel).
    pub public_url: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self { session_idle_minutes: 60, session_max_hours: 12, public_url: String::new() }
    }
}

impl ConsoleSettings {
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes * 60)
    }

    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.session_max_hours * 3600)
    }

    /// `public_url` without its trailing `/`, when set.
    pub fn public_url(&self) -> Option<String> {
        let url = self.public_url.trim().trim_end_matches('/');
        (!url.is_empty()).then(|| url.to_owned())
    }
}

impl Settings {
    pub(super) fn validate_console(&self) -> Result<(), (&'static str, String)> {
        let console = &self.console;
        if !(1..=24 * 60).contains(&console.session_idle_minutes) {
            let got = console.session_idle_minutes;
            return Err(("console.session_idle_minutes", format!("must be between 1 and 1440, got {got}")));
        }
        if !(1..=24 * 30).contains(&console.session_max_hours) {
            let got = console.session_max_hours;
            return Err(("console.session_max_hours", format!("must be between 1 and 720, got {got}")));
        }
        if let Some(url) = console.public_url() {
            let parsed = url::Url::parse(&url).ok().filter(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if parsed.is_none() {
                return Err((
                    "console.public_url",
                    format!(
                        "must be an http(s):// address without a query, like https://atlas.example.com, got {url:?}"
                    ),
                ));
            }
        }
        Ok(())
    }
}
