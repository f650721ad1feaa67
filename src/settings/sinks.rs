//! `[[sinks]]`: where domain events are delivered (signed the Standard Webhooks way and Atlas's own, in
//! order per aggregate, at least once).

use super::Settings;
use atlas_actors::sinks::deliver::SigningKey;
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
    /// The signing secret (keep the config file readable by the service only; never logged): at least 16
    /// characters, or the Standard Webhooks form `whsec_<base64 of at least 16 bytes>`.
    pub secret: String,
    /// Instead of `secret`, while rotating: the new secret first, then the old one. Each signs
    /// `webhook-signature`; the first signs `X-Atlas-Signature`.
    pub secrets: Vec<String>,
    /// Whether deliveries also carry `X-Atlas-Timestamp`, `X-Atlas-Signature` and `X-Atlas-Delivery` (the
    /// receivers written before Standard Webhooks check these).
    pub atlas_headers: bool,
    /// Attempts before a delivery is dead-lettered: 20 retries over about 9 hours (1 s doubling, then hourly).
    pub max_attempts: u32,
    pub timeout_s: u64,
    /// Deliveries in flight at once, each of a different aggregate (an aggregate's keep their order).
    pub concurrency: u32,
}

impl SinkSettings {
    /// The configured secrets, `secret` or `secrets`, as signing keys.
    fn keys(&self) -> Result<Vec<SigningKey>, String> {
        let given: Vec<&String> =
            if self.secrets.is_empty() { vec![&self.secret] } else { self.secrets.iter().collect() };
        given.into_iter().map(|secret| SigningKey::parse(secret)).collect()
    }
}

impl Default for SinkSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            events: Vec::new(),
            secret: String::new(),
            secrets: Vec::new(),
            atlas_headers: true,
            max_attempts: 20,
            timeout_s: 10,
            concurrency: 32,
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
            if !sink.secret.is_empty() && !sink.secrets.is_empty() {
                return Err((
                    "sinks.secrets",
                    format!("sink {name}: give secret or secrets (while rotating), not both"),
                ));
            }
            if sink.secrets.len() > 2 {
                return Err(("sinks.secrets", format!("sink {name}: at most two, the new one first, while rotating")));
            }
            let key = if sink.secrets.is_empty() { "sinks.secret" } else { "sinks.secrets" };
            if let Err(why) = sink.keys() {
                return Err((key, format!("sink {name}: {why}")));
            }
            if !(1..=64).contains(&sink.concurrency) {
                return Err((
                    "sinks.concurrency",
                    format!("sink {name}: must be between 1 and 64, got {}", sink.concurrency),
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
                // Validated on load: a sink whose secret does not read never gets this far.
                keys: s.keys().unwrap_or_default(),
                atlas_headers: s.atlas_headers,
                max_attempts: s.max_attempts,
                timeout: Duration::from_secs(s.timeout_s),
                concurrency: s.concurrency as usize,
            })
            .collect()
    }
}
