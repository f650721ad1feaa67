//! A task's environment: variables its command gets at start, each a plain text or a secret named, never
//! its value (`{"secret": "pg"}`). The value is read when the run starts (`crate::secrets`), so an approval
//! shows the name, and rotating a secret leaves the approvals naming it valid.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Variable name → value, in name order (so the run's fingerprint is stable).
pub type RunEnv = BTreeMap<String, EnvValue>;

/// What one variable is set to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Secret(SecretRef),
}

/// A secret by name: `{"secret": "pg"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub secret: String,
}

pub const MAX_ENV_VARS: usize = 64;
/// Variables Atlas sets itself or that would change how every program loads: never from a task.
pub const FORBIDDEN: &[&str] = &["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "ATLAS_RUN"];

/// A secret's name: 1 to 64 letters, digits, `_`, `-` or `.`, not starting with `.` (it is a file name).
pub fn validate_secret_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "a secret's name is 1 to 64 letters, digits, '_', '-' or '.', not starting with '.', got {}",
            super::text::clip(name)
        )),
    }
}

/// Checks every name and value; the error names the variable (`env.PGPASSWORD`) and says why.
pub fn validate(env: &RunEnv) -> Result<(), (String, String)> {
    if env.len() > MAX_ENV_VARS {
        return Err(("env".into(), format!("at most {MAX_ENV_VARS} variables")));
    }
    for (name, value) in env {
        let field = format!("env.{}", name.chars().take(64).collect::<String>().escape_debug());
        let well_formed = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err((field, "a variable's name is letters, digits and '_', not starting with a digit".into()));
        }
        if FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            return Err((field, format!("{name} cannot be set by a task")));
        }
        match value {
            EnvValue::Text(text) if text.contains('\0') || text.chars().count() > 4_096 => {
                return Err((field, "a value is at most 4,096 characters, without NUL".into()));
            }
            EnvValue::Secret(SecretRef { secret }) => validate_secret_name(secret).map_err(|why| (field, why))?,
            EnvValue::Text(_) => {}
        }
    }
    Ok(())
}

/// The secrets an environment names, each once.
pub fn secret_names(env: &RunEnv) -> Vec<&str> {
    let mut names: Vec<&str> = env
        .values()
        .filter_map(|value| match value {
            EnvValue::Secret(r) => Some(r.secret.as_str()),
            EnvValue::Text(_) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(json: serde_json::Value) -> RunEnv {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn values_are_text_or_a_secret_by_name() {
        let parsed = env(serde_json::json!({ "PGHOST": "db1", "PGPASSWORD": { "secret": "pg" } }));
        assert_eq!(parsed["PGHOST"], EnvValue::Text("db1".into()));
        assert_eq!(parsed["PGPASSWORD"], EnvValue::Secret(SecretRef { secret: "pg".into() }));
        assert_eq!(secret_names(&parsed), ["pg"]);
        assert!(serde_json::from_value::<RunEnv>(serde_json::json!({ "X": { "secret": "a", "value": "b" } })).is_err());
        assert!(serde_json::from_value::<RunEnv>(serde_json::json!({ "X": 5 })).is_err());
    }

    #[test]
    fn bad_names_and_values_name_the_variable() {
        for (bad, field) in [
            (serde_json::json!({ "1X": "a" }), "env.1X"),
            (serde_json::json!({ "A-B": "a" }), "env.A-B"),
            (serde_json::json!({ "ld_preload": "x.so" }), "env.ld_preload"),
            (serde_json::json!({ "P": { "secret": "../etc/passwd" } }), "env.P"),
            (serde_json::json!({ "P": { "secret": ".hidden" } }), "env.P"),
            (serde_json::json!({ "P": "a\u{0}b" }), "env.P"),
        ] {
            assert_eq!(validate(&env(bad.clone())).unwrap_err().0, field, "{bad}");
        }
        assert!(validate(&env(serde_json::json!({ "PGPASSWORD": { "secret": "pg.main" } }))).is_ok());
    }
}
