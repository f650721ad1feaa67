//! `[[sinks]]`: where domain events are delivered (signed, in order per aggregate, at least once).

use super::Settings;
use atlas_actors::domain::Secret;
use atlas_actors::sinks::SinkConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkSettings {
    /// Lower-case letters, digits, `-` and `_`: how deliveries, health and the admin API name it.
    pub name: String,
    /// Where each delivery is POSTed (`https://…`; `http://` too, for a receiver on this machine).
    pub url: String,
    /// Event types as globs: `approval.*`, `run.failed`, `*`.
    pub events: Vec<String>,
    /// The HMAC key of `X-Atlas-Signature` (keep the config file readable by the service only); never logged.
    pub secret: String,
    /// Attempts before a delivery is dead-lettered: 20 retries over about 9 hours (1 s doubling, then hourly).
    pub max_attempts: u32,
    pub timeout_s: u64,
}

impl Default for SinkSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            events: Vec::new(),
            secret: String::new(),
            max_attempts: 20,
            timeout_s: 10,
        }
    }
}

impl Settings {
    pub(super) fn validate_sinks(&self) -> Result<(), (&'static str, String)> {
        let mut seen = std::collections::BTreeSet::new();
        for sink in &self.sinks {
            let name = &sink.name;
            let named = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !named {
                return Err(("sinks.name", format!("{name:?}: 1-64 of a-z, 0-9, '-' and '_'")));
            }
            if !seen.insert(name.clone()) {
                return Err(("sinks.name", format!("{name} is given to two sinks")));
            }
            let parsed = reqwest::Url::parse(&sink.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()));
            if parsed.is_none() || sink.url.len() > 2048 {
                return Err(("sinks.url", format!("sink {name}: an http:// or https:// URL with a host is needed")));
            }
            let bad_glob = |p: &String| p.is_empty() || p.len() > 200 || p.chars().any(char::is_control);
            if sink.events.is_empty() || sink.events.iter().any(bad_glob) {
                return Err((
                    "sinks.events",
                    format!("sink {name}: list the event types it receives (globs: \"approval.*\", \"*\")"),
                ));
            }
            if sink.secret.trim().chars().count() < 16 {
                return Err((
                    "sinks.secret",
                    format!("sink {name}: a secret of at least 16 characters signs each delivery"),
                ));
            }
            if !(1..=100).contains(&sink.max_attempts) {
                return Err((
                    "sinks.max_attempts",
                    format!("sink {name}: must be between 1 and 100, got {}", sink.max_attempts),
                ));
            }
            if !(1..=300).contains(&sink.timeout_s) {
                return Err((
                    "sinks.timeout_s",
                    format!("sink {name}: must be between 1 and 300, got {}", sink.timeout_s),
                ));
            }
        }
        Ok(())
    }

    pub fn sink_configs(&self) -> Vec<SinkConfig> {
        self.sinks
            .iter()
            .map(|s| SinkConfig {
                name: s.name.clone(),
                url: s.url.clone(),
                events: s.events.clone(),
                secret: Secret(s.secret.clone()),
                max_attempts: s.max_attempts,
                timeout: Duration::from_secs(s.timeout_s),
            })
            .collect()
    }
}
