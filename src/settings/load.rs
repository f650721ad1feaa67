//! Merging the layers into one TOML table, remembering where each key came from, then deserializing once
//! so every error can name the key and its source.

use super::{Settings, DEFAULT_CONFIG_FILE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::{Table, Value};

const ENV_PREFIX: &str = "ATLAS_";

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("invalid setting {key} (from {source_name}): {message}")]
    Invalid { key: String, source_name: String, message: String },
    #[error("invalid flag {flag:?}: {message}")]
    Flag { flag: String, message: String },
}

/// Where each dotted key's value came from; keys not listed have their code default.
#[derive(Debug, Default)]
pub struct Sources {
    file: Option<PathBuf>,
    by_key: BTreeMap<String, String>,
}

impl Sources {
    /// The source of `key` (or of its nearest parent), for error messages.
    pub fn describe(&self, key: &str) -> String {
        // An unknown-key error points at the section; its offending child is what env or a flag set.
        let child = format!("{key}.");
        if let Some((_, source)) = self.by_key.iter().find(|(k, _)| k.starts_with(&child)) {
            return source.clone();
        }
        let mut probe = key;
        loop {
            if let Some(source) = self.by_key.get(probe) {
                return source.clone();
            }
            match probe.rsplit_once('.') {
                Some((parent, _)) => probe = parent,
                None => break,
            }
        }
        match &self.file {
            Some(file) => format!("config file {}", file.display()),
            None => "the built-in defaults".into(),
        }
    }
}

/// Reads a value given as text (env or flag) by the type of the field it sets: for a text field the text
/// itself (a quoted TOML string is unquoted), so a Telegram group's `-1001234567890` or a digit-only
/// password stays text; for any other field, TOML syntax (`30`, `true`, `["a"]`), else the text, for
/// serde to refuse naming the key.
fn parse_scalar(raw: &str, field: Option<&Value>) -> Value {
    let parsed = toml::from_str::<Table>(&format!("v = {raw}")).ok().and_then(|mut table| table.remove("v"));
    match (field, parsed) {
        (Some(Value::String(_)), Some(Value::String(text))) => Value::String(text),
        (Some(Value::String(_)), _) => Value::String(raw.to_owned()),
        (_, Some(value)) => value,
        (_, None) => Value::String(raw.to_owned()),
    }
}

/// The field `section.key` of the defaults, when it has a value there (an `Option` left `None` has none).
fn default_field<'a>(defaults: &'a Table, dotted: &str) -> Option<&'a Value> {
    let (section, key) = dotted.split_once('.')?;
    defaults.get(section)?.as_table()?.get(key)
}

/// Sets `section.key` in `table`, creating the section.
fn set(table: &mut Table, dotted: &str, value: Value) -> Result<(), String> {
    let (section, key) = dotted
        .split_once('.')
        .filter(|(s, k)| !s.is_empty() && !k.is_empty() && !k.contains('.'))
        .ok_or_else(|| format!("{dotted:?} is not of the form section.key"))?;
    let entry = table.entry(section.to_owned()).or_insert_with(|| Value::Table(Table::new()));
    match entry {
        Value::Table(inner) => {
            inner.insert(key.to_owned(), value);
            Ok(())
        }
        _ => Err(format!("{section} is not a section")),
    }
}

/// Builds the effective settings.
/// - `file`: `--config FILE` (must exist), else `config/atlas.toml` if present, else none.
/// - `env`: the process environment; only `ATLAS_<SECTION>__<KEY>` variables are read.
/// - `flags`: `section.key=value` pairs from the command line, applied last.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[String],
) -> Result<(Settings, Sources), SettingsError> {
    let mut sources = Sources::default();
    let mut table = Table::new();
    let path = match file {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path)
            .map_err(|source| SettingsError::Unreadable { path: path.clone(), source })?;
        // Where, and what is wrong, never the line itself: it may hold a secret.
        table = toml::from_str(&text).map_err(|err: toml::de::Error| {
            let at = err.span().map(|span| span.start).unwrap_or(0).min(text.len());
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let message = format!("line {line}, column {column}: {}", err.message());
            SettingsError::Syntax { path: path.clone(), message }
        })?;
        sources.file = Some(path);
    }
    let defaults = Table::try_from(Settings::default()).unwrap_or_default();
    let mut env_vars: Vec<(String, String)> =
        env.into_iter().filter(|(name, _)| name.starts_with(ENV_PREFIX)).collect();
    env_vars.sort();
    for (name, raw) in env_vars {
        let Some((section, key)) = name[ENV_PREFIX.len()..].split_once("__") else {
            continue;
        };
        let dotted = format!("{}.{}", section.to_lowercase(), key.to_lowercase());
        set(&mut table, &dotted, parse_scalar(&raw, default_field(&defaults, &dotted))).map_err(|message| {
            SettingsError::Invalid { key: dotted.clone(), source_name: format!("environment variable {name}"), message }
        })?;
        sources.by_key.insert(dotted, format!("environment variable {name}"));
    }
    for flag in flags {
        let (dotted, raw) = flag
            .split_once('=')
            .ok_or_else(|| SettingsError::Flag { flag: flag.clone(), message: "expected section.key=value".into() })?;
        let field = default_field(&defaults, dotted.trim());
        set(&mut table, dotted.trim(), parse_scalar(raw.trim(), field))
            .map_err(|message| SettingsError::Flag { flag: flag.clone(), message })?;
        sources.by_key.insert(dotted.trim().to_owned(), format!("command-line flag {flag:?}"));
    }
    let mut settings: Settings = serde_path_to_error::deserialize(Value::Table(table)).map_err(|err| {
        let key = err.path().to_string();
        // toml repeats the path on a second line; the key is already in our message.
        let mut message = err.into_inner().to_string().lines().next().unwrap_or_default().to_owned();
        // serde quotes the value it refused: not a secret's.
        if super::redact::is_secret_key(&key) {
            let expected = message.rsplit_once("\", ").map(|(_, tail)| tail.to_owned()).unwrap_or_default();
            message = format!("the value is not shown (it is a secret); {expected}");
        }
        SettingsError::Invalid { source_name: sources.describe(&key), key, message }
    })?;
    let base = std::env::current_dir().map_err(|source| SettingsError::Unreadable { path: ".".into(), source })?;
    settings.resolve_paths(&base);
    settings.validate().map_err(|(key, message)| SettingsError::Invalid {
        key: key.to_owned(),
        source_name: sources.describe(key),
        message,
    })?;
    Ok((settings, sources))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn layers_apply_in_order_file_env_flag() {
        let file = file_with("[http]\naddr = \"127.0.0.1:9000\"\nworkers = 3\n[database]\nbusy_timeout_ms = 100\n");
        let (settings, _) = load(
            Some(file.path()),
            env(&[("ATLAS_HTTP__WORKERS", "5"), ("ATLAS_DATABASE__BUSY_TIMEOUT_MS", "200"), ("HOME", "/root")]),
            &["database.busy_timeout_ms=300".to_owned()],
        )
        .unwrap();
        assert_eq!(settings.http.addr.port(), 9000, "file beats defaults");
        assert_eq!(settings.http.workers, 5, "env beats file");
        assert_eq!(settings.database.busy_timeout_ms, 300, "flag beats env");
        assert_eq!(settings.log, crate::settings::LogSettings::default(), "untouched keys keep their defaults");
    }

    #[test]
    fn text_fields_take_text_that_looks_like_a_number() {
        let (settings, _) = load(
            None,
            env(&[
                ("ATLAS_ALERTS__TELEGRAM_CHAT_ID", "-1001234567890"),
                ("ATLAS_ALERTS__TELEGRAM_BOT_TOKEN", "123:abc"),
                ("ATLAS_ALERTS__SMTP_PASSWORD", "12345678"),
            ]),
            &["alerts.smtp_username=\"007\"".to_owned()],
        )
        .unwrap();
        assert_eq!(settings.alerts.telegram_chat_id, "-1001234567890", "a Telegram group's id");
        assert_eq!(settings.alerts.smtp_password, "12345678", "a digit-only password");
        assert_eq!(settings.alerts.smtp_username, "007", "a quoted value is unquoted");
        let (settings, _) = load(None, env(&[("ATLAS_HTTP__WORKERS", "3")]), &[]).unwrap();
        assert_eq!(settings.http.workers, 3, "numbers stay numbers where a number is wanted");
    }

    #[test]
    fn an_unknown_key_names_the_key_and_the_file() {
        let file = file_with("[http]\nadress = \"127.0.0.1:1\"\n");
        let err = load(Some(file.path()), env(&[]), &[]).unwrap_err().to_string();
        assert!(err.contains("http") && err.contains("adress"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_wrong_type_from_env_names_the_variable() {
        let err = load(None, env(&[("ATLAS_HTTP__WORKERS", "many")]), &[]).unwrap_err().to_string();
        assert!(err.contains("http.workers"), "{err}");
        assert!(err.contains("environment variable ATLAS_HTTP__WORKERS"), "{err}");
    }

    #[test]
    fn an_invalid_value_is_refused_with_its_range() {
        let err = load(None, env(&[]), &["database.read_pool_size=0".into()]).unwrap_err().to_string();
        assert!(err.contains("database.read_pool_size") && err.contains("between 1 and 64"), "{err}");
        let err = load(None, env(&[]), &["database.synchronous=\"sometimes\"".into()]).unwrap_err().to_string();
        assert!(err.contains("database.synchronous") && err.contains("sometimes"), "{err}");
        let err = load(None, env(&[]), &["http.addr=localhost".into()]).unwrap_err().to_string();
        assert!(err.contains("http.addr"), "{err}");
    }

    #[test]
    fn an_unknown_section_from_env_is_an_error() {
        let err = load(None, env(&[("ATLAS_HTTPS__ADDR", "x")]), &[]).unwrap_err().to_string();
        assert!(err.contains("https") && err.contains("ATLAS_HTTPS__ADDR"), "{err}");
    }

    #[test]
    fn bad_syntax_and_missing_files_name_the_file() {
        let file = file_with("[http\n");
        let err = load(Some(file.path()), env(&[]), &[]).unwrap_err().to_string();
        assert!(err.contains("is not valid TOML"), "{err}");
        let err = load(Some(Path::new("/nonexistent/atlas.toml")), env(&[]), &[]).unwrap_err().to_string();
        assert!(err.contains("cannot read config file /nonexistent/atlas.toml"), "{err}");
    }

    #[test]
    fn a_malformed_flag_is_refused() {
        let err = load(None, env(&[]), &["http.addr".into()]).unwrap_err().to_string();
        assert!(err.contains("expected section.key=value"), "{err}");
    }
}
