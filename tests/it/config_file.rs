//! The shipped config files stay true to the code.

use atlas::settings::{self, Settings};
use std::path::Path;

fn keys(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, inner) in table {
            let dotted = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if inner.is_table() {
                keys(inner, &dotted, out);
            } else {
                out.push(dotted);
            }
        }
    }
}

#[test]
fn config_atlas_toml_lists_every_key_with_the_code_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/atlas.toml");
    let (loaded, _) = settings::load(Some(&path), Vec::new(), &[]).expect("config/atlas.toml is valid");
    let mut defaults = Settings::default();
    defaults.resolve_paths(&std::env::current_dir().unwrap());
    assert_eq!(loaded, defaults, "config/atlas.toml differs from the code's defaults");

    let file: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (mut in_file, mut in_code) = (Vec::new(), Vec::new());
    keys(&file, "", &mut in_file);
    keys(&toml::Value::try_from(Settings::default()).unwrap(), "", &mut in_code);
    in_file.sort();
    in_code.sort();
    assert_eq!(in_file, in_code, "every key appears in config/atlas.toml");
}

/// docs/configuration.md is checked against the file: every key is documented, as `section.key`.
#[test]
fn docs_configuration_md_documents_every_key_of_config_atlas_toml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file: toml::Value = toml::from_str(&std::fs::read_to_string(root.join("config/atlas.toml")).unwrap()).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/configuration.md")).expect("docs/configuration.md exists");
    let mut in_file = Vec::new();
    keys(&file, "", &mut in_file);
    let missing: Vec<&String> = in_file.iter().filter(|key| !doc.contains(&format!("`{key}`"))).collect();
    assert!(in_file.len() > 100, "the file's keys were read: {in_file:?}");
    assert_eq!(missing, Vec::<&String>::new(), "keys of config/atlas.toml that docs/configuration.md does not name");
}

#[test]
fn the_production_config_is_valid_and_lives_under_opt_atlas() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/atlas.production.toml");
    let (loaded, _) = settings::load(Some(&path), Vec::new(), &[]).expect("config/atlas.production.toml is valid");
    assert!(loaded.database.path.starts_with("/opt/atlas/data"), "{:?}", loaded.database.path);
    assert!(loaded.http.addr.ip().is_loopback(), "production listens on loopback only");
}

/// A bare `browser.sql_process` is found in PATH at load: the query's process starts with an empty
/// environment, so a name left for it to look up could never start.
#[test]
fn a_bare_sql_process_name_is_looked_up_in_path_at_load() {
    let set = |value: &str| vec![format!("browser.sql_process=\"{value}\"")];
    let (loaded, _) = settings::load(None, Vec::new(), &set("sh")).expect("sh is in PATH");
    assert!(loaded.browser.sql_process.is_absolute() && loaded.browser.sql_process.ends_with("sh"), "{loaded:?}");
    let err = settings::load(None, Vec::new(), &set("no-such-atlas-query-program")).unwrap_err().to_string();
    assert!(err.contains("browser.sql_process") && err.contains("not in PATH"), "{err}");
}

/// A secret in a config file never comes back in a load error: not when its value has the wrong type,
/// not when its line does not parse (found by the attack on the sinks' secrets).
#[test]
fn a_load_error_never_quotes_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("atlas.toml");
    for text in [
        "[[sinks]]\nname = \"chat\"\nurl = \"http://127.0.0.1:9/hook\"\nevents = [\"*\"]\nsecrets = \"whsec_TOPSECRETVALUEfromOPS==\"\n",
        "[alerts]\nsmtp_password = 12\n[x\nkey = \"TOPSECRET-in-a-broken-file\n",
        "[alerts]\nsmtp_password = \"TOPSECRET-unterminated\n",
    ] {
        std::fs::write(&file, text).unwrap();
        let err = atlas::settings::load(Some(&file), Vec::new(), &[]).unwrap_err().to_string();
        assert!(!err.contains("TOPSECRET"), "{err}");
        assert!(err.contains("secrets") || err.contains("line"), "still says where: {err}");
    }
}
