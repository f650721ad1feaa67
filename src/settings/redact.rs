//! `atlas config check` prints the effective settings; anything that looks like a secret is masked.

use toml::Value;

/// A webhook URL usually carries its own secret (Slack's do), so it is masked too.
const SECRET_WORDS: &[&str] = &["secret", "password", "token", "api_key", "access_key", "private_key", "webhook_url"];
pub const REDACTED: &str = "<redacted>";

fn mask(value: &mut Value) {
    match value {
        Value::Table(table) => {
            for (key, inner) in table.iter_mut() {
                let lower = key.to_lowercase();
                if SECRET_WORDS.iter().any(|word| lower.contains(word)) && !matches!(inner, Value::Table(_)) {
                    *inner = Value::String(REDACTED.into());
                } else {
                    mask(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// The settings as TOML text with secret-looking keys masked.
pub fn redacted_toml(settings: &impl serde::Serialize) -> Result<String, String> {
    let mut value = Value::try_from(settings).map_err(|err| err.to_string())?;
    mask(&mut value);
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
}
