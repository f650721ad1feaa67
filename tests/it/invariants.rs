//! Architecture rules checked in `cargo test` (after rust-analyzer's tidy tests).

use std::path::{Path, PathBuf};

/// Files that may open SQLite files themselves (clippy's `disallowed_methods`, `clippy.toml`, refuses
/// it everywhere else), and why. Test modules (`tests.rs`, `mod tests`) open scratch databases too.
const OPENERS: &[(&str, &str)] = &[
    ("actors/src/store/open.rs", "the one door: read-only for anyone, read-write for a purpose of its closed list"),
    ("src/bin/atlas-bench.rs", "measures plain rusqlite on its own scratch file as the raw ceiling"),
];

const ALLOWED: &str = "allow(clippy::disallowed_methods)";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The source outside its test modules (a file named `tests.rs`, or what follows `mod tests`).
fn outside_tests(relative: &str, source: &str) -> String {
    // Test modules of their own: `tests.rs`, `<topic>_tests.rs`.
    if relative.ends_with("/tests.rs") || relative.ends_with("_tests.rs") {
        return String::new();
    }
    source.split("#[cfg(test)]").next().unwrap_or_default().to_owned()
}

#[test]
fn sqlite_files_are_opened_only_through_store_open() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clippy = std::fs::read_to_string(root.join("clippy.toml")).expect("clippy.toml");
    for method in [
        "rusqlite::Connection::open\"",
        "rusqlite::Connection::open_with_flags\"",
        "r2d2_sqlite::SqliteConnectionManager::file\"",
    ] {
        assert!(clippy.contains(method), "clippy.toml disallows {method}");
    }
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("actors/src"), &mut files);
    assert!(files.len() > 10, "the scan found the sources");
    let mut escapes = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        let source = outside_tests(&relative, &std::fs::read_to_string(&file).unwrap());
        if source.contains(ALLOWED) && !OPENERS.iter().any(|(allowed, _)| *allowed == relative) {
            escapes.push(relative);
        }
    }
    assert!(escapes.is_empty(), "only store/open.rs opens SQLite files; these lift clippy's rule: {escapes:#?}");
}

#[test]
fn the_rule_sees_an_escape_outside_tests_only() {
    assert!(outside_tests("actors/src/x.rs", "fn a() {}\n#[allow(clippy::disallowed_methods)]\nfn b() {}")
        .contains(ALLOWED));
    assert!(!outside_tests(
        "actors/src/x.rs",
        "fn a() {}\n#[cfg(test)]\n#[allow(clippy::disallowed_methods)]\nmod tests {}"
    )
    .contains(ALLOWED));
    assert!(outside_tests("actors/src/store/browse/tests.rs", "#![allow(clippy::disallowed_methods)]").is_empty());
}

#[test]
fn the_actors_crate_does_not_depend_on_actix_web() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or_default();
    assert!(!deps.contains("actix-web") && !deps.contains("awc"), "actors must stay free of HTTP");
}
