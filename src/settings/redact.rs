//! `atlas config check` prints the effective settings; anything that looks like a secret is masked.

use toml::Value;

/// A webhook URL usually carries its own secret (Slack's do), so it is masked too.
const SECRET_WORDS: &[&str] = &["secret", "password", "token", "api_key", "access_key", "private_key", "webhook_url"];
pub const REDACTED: &str = "<redacted>";

/// A sink's `url` is a webhook URL too (a chat's carries its token).
const SECRET_IN: &[(&str, &str)] = &[("sinks", "url")];

/// Whether a dotted key (`sinks[0].secrets`, `alerts.smtp_password`) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_lowercase();
    SECRET_WORDS.iter().any(|word| lower.contains(word)) || (lower.starts_with("sinks") && lower.ends_with(".url"))
}

fn mask(value: &mut Value, parent: &str) {
    match value {
        Value::Table(table) => {
            for (key, inner) in table.iter_mut() {
                let lower = key.to_lowercase();
                let secret = SECRET_WORDS.iter().any(|word| lower.contains(word))
                    || SECRET_IN.iter().any(|(section, name)| *section == parent && *name == lower);
                if secret && !matches!(inner, Value::Table(_)) {
                    *inner = Value::String(REDACTED.into());
                } else {
                    mask(inner, key);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| mask(item, parent)),
        _ => {}
    }
}

/// The settings as TOML text with secret-looking keys masked.
pub fn redacted_toml(settings: &impl serde::Serialize) -> Result<String, String> {
    let mut value = Value::try_from(settings).map_err(|err| err.to_string())?;
    mask(&mut value, "");
    toml::to_string_pretty(&value).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_keys_are_masked_and_others_kept() {
        let value: toml::Table = toml::from_str(
            "[s3]\nsecret_access_key = \"AKIA-very-secret\"\nbucket = \"b\"\n[alerts]\ntelegram_bot_token = \"123:abc\"\nwebhook_url = \"https://hooks.example/T0/B0/xyz\"\n",
        )
        .unwrap();
        let text = redacted_toml(&value).unwrap();
        assert!(!text.contains("very-secret") && !text.contains("123:abc") && !text.contains("xyz"), "{text}");
        assert!(text.contains("bucket = \"b\""), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 3, "{text}");
    }

    #[test]
    fn a_sinks_url_is_masked_and_another_url_kept() {
        let value: toml::Table = toml::from_str(
            "[[sinks]]\nname = \"chat\"\nurl = \"https://hooks.slack.com/services/T0/B0/tok\"\n[sheets]\nurl = \"https://x\"\n",
        )
        .unwrap();
        let text = redacted_toml(&value).unwrap();
        assert!(!text.contains("tok") && text.contains("name = \"chat\"") && text.contains("https://x"), "{text}");
    }
}
