//! Architecture rules checked in `cargo test` (after rust-analyzer's tidy tests).

use std::path::{Path, PathBuf};

/// Files allowed to open a read-write SQLite connection, and why.
const READ_WRITE_ALLOWED: &[(&str, &str)] = &[
    ("actors/src/store/writer/mod.rs", "the single writer"),
    (
        "actors/src/store/writer/checkpointer.rs",
        "the writer's checkpointer: moves committed WAL frames into the file, writes no rows, held still by the writer",
    ),
    ("actors/src/store/browse/tests.rs", "the browser's unit tests build their own scratch database"),
    ("actors/src/store/capture/tests.rs", "capture's unit tests build scratch databases to replay onto"),
    ("src/bin/atlas-bench.rs", "measures plain rusqlite on its own scratch file as the raw ceiling"),
    ("actors/src/backup/file.rs", "writes backup copies into the backup directory, never the live database"),
    ("actors/src/pitr/rebuild.rs", "replays changes onto the staged copy a point-in-time restore builds"),
    ("actors/src/pitr/mod.rs", "forks the timeline of a staged copy before a restore swaps it in"),
];

/// Why a source text opens a read-write connection, if it does.
fn read_write_open(source: &str) -> Option<&'static str> {
    if source.contains("Connection::open(") {
        return Some("Connection::open (read-write by default)");
    }
    if source.contains("SQLITE_OPEN_READ_WRITE") || source.contains("SQLITE_OPEN_CREATE") {
        return Some("a read-write or create open flag");
    }
    let opens_with_flags = source.contains("open_with_flags") || source.contains("SqliteConnectionManager::file");
    if opens_with_flags && !source.contains("SQLITE_OPEN_READ_ONLY") {
        return Some("an open without SQLITE_OPEN_READ_ONLY");
    }
    None
}

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

#[test]
fn only_the_writer_opens_a_read_write_connection() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("actors/src"), &mut files);
    assert!(files.len() > 10, "the scan found the sources");
    let mut offenders = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        if READ_WRITE_ALLOWED.iter().any(|(allowed, _)| *allowed == relative) {
            continue;
        }
        if let Some(why) = read_write_open(&std::fs::read_to_string(&file).unwrap()) {
            offenders.push(format!("{relative}: {why}"));
        }
    }
    assert!(offenders.is_empty(), "only store/writer/mod.rs may open a read-write connection: {offenders:#?}");
    let writer = std::fs::read_to_string(root.join("actors/src/store/writer/mod.rs")).unwrap();
    assert!(read_write_open(&writer).is_some(), "the writer is where the read-write open lives");
}

#[test]
fn the_rule_catches_each_kind_of_read_write_open() {
    assert!(read_write_open("let c = rusqlite::Connection::open(path)?;").is_some());
    assert!(read_write_open("open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_WRITE)").is_some());
    assert!(read_write_open("SqliteConnectionManager::file(p)").is_some());
    assert!(read_write_open("SqliteConnectionManager::file(p).with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY)").is_none());
    assert!(
        read_write_open("Connection::open_in_memory()").is_none(),
        "a private in-memory database is not the database"
    );
}

#[test]
fn the_actors_crate_does_not_depend_on_actix_web() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or_default();
    assert!(!deps.contains("actix-web") && !deps.contains("awc"), "actors must stay free of HTTP");
}
