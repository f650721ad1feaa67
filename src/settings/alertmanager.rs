//! `[alertmanager]`: how alerts posted to `/api/v1/hooks/alertmanager` become hotlist entries.

use super::Settings;
use atlas_actors::domain::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertmanagerSettings {
    /// The alert label that says how bad it is.
    pub severity_label: String,
    /// That label's values, each as a hotlist severity (low, medium, high, critical), beside (and over)
    /// the built-in ones: critical, error, warning, info.
    pub severities: BTreeMap<String, String>,
    /// The severity of an alert without the label, or with a value not listed.
    pub default_severity: String,
}

/// The label values every Alertmanager setup knows, as hotlist severities: a configured `severities`
/// adds to these (and may map one of them otherwise), so naming one more value drops none of them.
const BUILT_IN: &[(&str, Severity)] = &[
    ("critical", Severity::Critical),
    ("error", Severity::High),
    ("warning", Severity::Medium),
    ("info", Severity::Low),
];

impl Default for AlertmanagerSettings {
    fn default() -> Self {
        Self { severity_label: "severity".into(), severities: BTreeMap::new(), default_severity: "medium".into() }
    }
}

impl AlertmanagerSettings {
    /// The hotlist severity of an alert whose severity label reads `value` (validated on load).
    pub fn severity(&self, value: Option<&str>) -> Severity {
        let configured = value.and_then(|v| self.severities.get(v)).and_then(|s| s.parse().ok());
        let built_in = || value.and_then(|v| BUILT_IN.iter().find(|(name, _)| *name == v)).map(|(_, s)| *s);
        configured.or_else(built_in).unwrap_or_else(|| self.default_severity.parse().unwrap_or(Severity::Medium))
    }
}

impl Settings {
    pub(super) fn validate_alertmanager(&self) -> Result<(), (&'static str, String)> {
        let am = &self.alertmanager;
        if am.severity_label.trim().is_empty() {
            return Err(("alertmanager.severity_label", "must name a label".into()));
        }
        let known = |s: &str| s.parse::<Severity>().is_ok();
        if let Some((label, bad)) = am.severities.iter().find(|(_, s)| !known(s)) {
            return Err((
                "alertmanager.severities",
                format!("{label} = {bad:?}: a severity is low, medium, high or critical"),
            ));
        }
        if !known(&am.default_severity) {
            let got = &am.default_severity;
            return Err(("alertmanager.default_severity", format!("low, medium, high or critical, got {got:?}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naming one more value keeps the built-in ones (found by the attack: `{ page = "critical" }` made
    /// every critical alert medium).
    #[test]
    fn configured_severities_add_to_the_built_in_ones() {
        let mut settings = AlertmanagerSettings::default();
        settings.severities.insert("page".into(), "critical".into());
        settings.severities.insert("info".into(), "medium".into());
        let of = |v: Option<&str>| settings.severity(v);
        assert_eq!(of(Some("page")), Severity::Critical);
        assert_eq!(of(Some("critical")), Severity::Critical, "a built-in one stays");
        assert_eq!(of(Some("error")), Severity::High);
        assert_eq!(of(Some("info")), Severity::Medium, "a configured one maps a built-in one otherwise");
        assert_eq!(of(Some("unknown")), Severity::Medium);
        assert_eq!(of(None), Severity::Medium);
    }
}
