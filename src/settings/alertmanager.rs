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
    /// That label's values, each as a hotlist severity (low, medium, high, critical).
    pub severities: BTreeMap<String, String>,
    /// The severity of an alert without the label, or with a value not listed.
    pub default_severity: String,
}

impl Default for AlertmanagerSettings {
    fn default() -> Self {
        let severities = [("critical", "critical"), ("error", "high"), ("warning", "medium"), ("info", "low")];
        Self {
            severity_label: "severity".into(),
            severities: severities.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            default_severity: "medium".into(),
        }
    }
}

impl AlertmanagerSettings {
    /// The hotlist severity of an alert whose severity label reads `value` (validated on load).
    pub fn severity(&self, value: Option<&str>) -> Severity {
        let named = value.and_then(|v| self.severities.get(v)).unwrap_or(&self.default_severity);
        named.parse().unwrap_or(Severity::Medium)
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
