//! The real binary as an operator runs it: exit codes, messages, migrations, serve and SIGTERM.

use crate::support::{count, open_read_only};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

/// Runs atlas in `dir` with a clean ATLAS_* environment.
fn atlas(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(ATLAS);
    command.current_dir(dir).args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ATLAS_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().expect("atlas runs")
}

/// `atlas` that is killed if it runs past `within` (a second writer that wrongly started would serve
/// forever): its output so far, with no exit code.
fn atlas_within(dir: &Path, args: &[&str], within: std::time::Duration) -> Output {
    let mut command = Command::new(ATLAS);
    command.current_dir(dir).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ATLAS_")) {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("atlas runs");
    let deadline = std::time::Instant::now() + within;
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// Each command (bounded by `atlas_within`) from `dir`, off the test's async thread: (its words, output).
async fn each_beside(dir: &Path, attempts: Vec<Vec<String>>) -> Vec<(String, Output)> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        attempts
            .into_iter()
            .map(|args| {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                (args.join(" "), atlas_within(&dir, &refs, std::time::Duration::from_secs(20)))
            })
            .collect()
    })
    .await
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["--version"], &[]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("atlas {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_configuration_stops_with_a_sentence_naming_the_key_and_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["config", "check"], &[("ATLAS_DATABASE__BUSY_TIMEOUT_MS", "soon")]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("database.busy_timeout_ms") && message.contains("ATLAS_DATABASE__BUSY_TIMEOUT_MS"),
        "{message}"
    );

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[log]\nformat = \"xml\"\n").unwrap();
    let output = atlas(dir.path(), &["--config", file.to_str().unwrap(), "serve"], &[]);
    assert_eq!(output.status.code(), Some(1), "serve refuses to start");
    let message = stderr(&output);
    assert!(message.contains("log.format") && message.contains("bad.toml"), "{message}");
    assert!(!dir.path().join("data").exists(), "nothing was created before the configuration was valid");
}

#[test]
fn config_check_prints_the_effective_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["config", "check", "--set", "http.workers=3"], &[("ATLAS_LOG__LEVEL", "debug")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let printed: toml::Table = toml::from_str(&text).expect("the output is TOML");
    assert_eq!(printed["http"]["workers"].as_integer(), Some(3));
    assert_eq!(printed["log"]["level"].as_str(), Some("debug"));
    let resolved = dir.path().canonicalize().unwrap().join("data/atlas.db");
    assert_eq!(printed["database"]["path"].as_str(), resolved.to_str(), "relative paths are resolved once, at load");
}

#[test]
fn migrate_applies_once_and_refuses_edited_or_newer_histories() {
    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["migrate"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let latest = atlas_actors::store::migrate::latest_version();
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("schema version {latest}")));
    assert!(atlas(dir.path(), &["migrate"], &[]).status.success(), "migrate is idempotent");

    let db = dir.path().join("data/atlas.db");
    let tamper = |sql: &str| rusqlite::Connection::open(&db).unwrap().execute_batch(sql).unwrap();
    tamper("UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1");
    let output = atlas(dir.path(), &["migrate"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("migration 0001_initial was changed after it was applied"), "{}", stderr(&output));

    let original = atlas_actors::store::migrate::embedded()[0].checksum();
    tamper(&format!("UPDATE schema_migrations SET sha256 = '{original}' WHERE version = 1; INSERT INTO schema_migrations VALUES (42, '0042_future', 'x', 'now')"));
    let output = atlas(dir.path(), &["serve", "--addr", "127.0.0.1:0"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("schema version 42, newer than this binary"), "{}", stderr(&output));
}

/// `atlas serve` in an empty directory: data under ./data, probes answer, SIGTERM exits 0 with a clean DB.
#[actix_rt::test]
async fn serve_on_defaults_answers_probes_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = crate::support::daemon::Daemon::start(ATLAS, dir.path(), &[], &[]);
    let client = awc::Client::default();
    let healthz = client.get(format!("{}/healthz", daemon.url)).send().await.unwrap();
    assert_eq!(healthz.status().as_u16(), 200);
    let readyz = client.get(format!("{}/readyz", daemon.url)).send().await.unwrap();
    assert_eq!(readyz.status().as_u16(), 200);

    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let db = dir.path().join("data/atlas.db");
    let conn = open_read_only(&db);
    assert_eq!(conn.query_row("PRAGMA integrity_check", [], |row| row.get::<_, String>(0)).unwrap(), "ok");
    let latest = atlas_actors::store::migrate::latest_version();
    assert_eq!(count(&conn, "SELECT count(*) FROM schema_migrations"), i64::from(latest));
}

#[test]
fn backup_cli_creates_lists_and_verifies_and_fails_loudly_on_damage() {
    let dir = tempfile::tempdir().unwrap();
    assert!(atlas(dir.path(), &["migrate"], &[]).status.success());
    let output = atlas(dir.path(), &["backup", "list"], &[]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.starts_with("no backups in /") && text.trim_end().ends_with("/backups"), "{text}");
    let output = atlas(dir.path(), &["backup", "create"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let line = String::from_utf8_lossy(&output.stdout).into_owned();
    let id = line.split_whitespace().next().unwrap().to_owned();
    assert!(id.starts_with("atlas_") && line.contains("not verified"), "{line}");
    let output = atlas(dir.path(), &["backup", "verify", &id], &[]);
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("verified"),
        "{}",
        stderr(&output)
    );

    let output = atlas(dir.path(), &["backup", "restore", &id], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("add --yes"), "{}", stderr(&output));
    let output = atlas(dir.path(), &["backup", "restore", &id, "--yes"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&format!("restored {id}")));
    let listed = String::from_utf8_lossy(&atlas(dir.path(), &["backup", "list"], &[]).stdout).into_owned();
    assert_eq!(listed.lines().count(), 2, "the safety backup is listed: {listed}");

    let file = dir.path().join("backups").join(format!("{id}.db.gz"));
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let output = atlas(dir.path(), &["backup", "verify", &id], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("FAILED verification: checksum mismatch"), "{}", stderr(&output));
    let output = atlas(dir.path(), &["db", "stats"], &[]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("projects   0") && text.contains("events"), "{text}");
    let output = atlas(dir.path(), &["db", "vacuum"], &[]);
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).starts_with("vacuum:"),
        "{}",
        stderr(&output)
    );
    let output = atlas(dir.path(), &["backup", "verify", "atlas_20000101_000000"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("backup \"atlas_20000101_000000\" not found"), "{}", stderr(&output));
}

#[test]
fn init_from_a_golden_copy_and_reset_to_it() {
    let seed = tempfile::tempdir().unwrap();
    assert!(atlas(seed.path(), &["migrate"], &[]).status.success());
    let golden = seed.path().join("data/atlas.db");
    rusqlite::Connection::open(&golden)
        .unwrap()
        .execute(
            "INSERT INTO projects (id, name, created_at, updated_at) VALUES ('project-seed', 'Seed', 'x', 'x')",
            [],
        )
        .unwrap();
    let golden_arg = golden.to_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["init", "--golden", golden_arg], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("/data/atlas.db from the golden copy"), "{:?}", output);
    let output = atlas(dir.path(), &["init", "--golden", golden_arg], &[]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("already exists; init left it alone"));

    assert!(atlas(dir.path(), &["token", "create", "--name", "later", "--role", "viewer"], &[]).status.success());
    let output = atlas(dir.path(), &["reset", "--to-golden", "--golden", golden_arg], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("add --yes"));
    let output = atlas(dir.path(), &["reset", "--to-golden", "--yes"], &[("ATLAS_BACKUP__GOLDEN_PATH", golden_arg)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("reset to the golden copy"),
        "{:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    let conn = open_read_only(&dir.path().join("data/atlas.db"));
    assert_eq!(count(&conn, "SELECT count(*) FROM api_tokens"), 0, "the token made after init is gone");
    assert_eq!(count(&conn, "SELECT count(*) FROM projects WHERE id = 'project-seed'"), 1);
    let listed = String::from_utf8_lossy(&atlas(dir.path(), &["backup", "list"], &[]).stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "a safety backup was taken first: {listed}");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let other = tempfile::tempdir().unwrap();
    let output = atlas(other.path(), &["init", "--golden", junk.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a usable database"), "{}", stderr(&output));
    assert!(!other.path().join("data/atlas.db").exists(), "nothing half-made is left");
}

#[actix_rt::test]
async fn backup_cli_uploads_lists_and_restores_off_site_copies() {
    let moto = crate::support::moto::Moto::start("cli-bucket").await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint.clone();
    let env = [
        ("ATLAS_OFFSITE__ENABLED", "true"),
        ("ATLAS_OFFSITE__ENDPOINT", endpoint.as_str()),
        ("ATLAS_OFFSITE__ALLOW_HTTP", "true"),
        ("ATLAS_OFFSITE__BUCKET", "cli-bucket"),
        ("ATLAS_OFFSITE__ACCESS_KEY_ID", "testing"),
        ("ATLAS_OFFSITE__SECRET_ACCESS_KEY", "cli-secret-value"),
    ];
    let output = atlas(dir.path(), &["backup", "create"], &env);
    assert!(output.status.success(), "{}", stderr(&output));
    let created = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(created.contains("off-site since"), "{created}");
    let id = created.split_whitespace().next().unwrap().to_owned();
    let output = atlas(dir.path(), &["backup", "list", "--remote"], &env);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&id), "{}", stderr(&output));
    let output = atlas(dir.path(), &["config", "check"], &env);
    assert!(!String::from_utf8_lossy(&output.stdout).contains("cli-secret-value"), "the secret is masked");

    std::fs::remove_dir_all(dir.path().join("backups")).unwrap();
    let output = atlas(dir.path(), &["backup", "restore", &id, "--remote", "--yes"], &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&format!("restored {id}")));
    let output = atlas(dir.path(), &["backup", "restore", "atlas_20000101_000000", "--remote", "--yes"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("remote backup atlas_20000101_000000 not found"), "{}", stderr(&output));

    drop(moto);
    let output = atlas(dir.path(), &["backup", "create"], &env);
    assert_eq!(output.status.code(), Some(1), "a failed upload fails the command");
    assert!(stderr(&output).contains("off-site upload FAILED"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("cli-secret-value"));
}

#[actix_rt::test]
async fn no_cli_command_writes_beside_a_running_service() {
    let app = crate::support::TestApp::spawn().await;
    let dir = app.dir.path().to_path_buf();
    let (status, _) = app
        .call("POST", "/api/v1/projects", Some(&app.admin_token()), Some(serde_json::json!({ "name": "kept" })))
        .await;
    assert_eq!(status, 201);
    let inode = |path: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
    let before = inode(&app.db_path());
    let golden = dir.join("golden.db");
    std::fs::copy(app.db_path(), &golden).unwrap();
    let golden = golden.display().to_string();
    let attempts: Vec<Vec<String>> = [
        vec!["migrate"],
        vec!["sync", "run"],
        vec!["backup", "create"],
        vec!["backup", "verify", "atlas_20260101_000000"],
        vec!["backup", "upload", "atlas_20260101_000000"],
        vec!["backup", "restore", "atlas_20260101_000000", "--yes"],
        vec!["reset", "--to-golden", "--golden", golden.as_str(), "--yes"],
        vec!["init", "--golden", golden.as_str()],
        vec!["db", "vacuum"],
        vec!["serve", "--set", "http.addr=\"127.0.0.1:0\""],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect();
    // Twice: as it is, and after `rm data/atlas.lock` (a tmp cleaner, a "stale lock" habit): the lock is
    // on the data directory itself, the file only names its holder.
    for deleted in [false, true] {
        if deleted {
            std::fs::remove_file(dir.join("data/atlas.lock")).unwrap();
        }
        let outputs = each_beside(&dir, attempts.clone()).await;
        for (command, output) in outputs {
            let text = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "atlas {command} (lock file deleted: {deleted}): {text}");
            let named = match deleted {
                false => format!("Atlas is running (process {}", std::process::id()),
                true => "Atlas is running (another process holds".to_owned(),
            };
            assert!(text.contains(&named), "atlas {command} names the service holding the database: {text}");
            assert_eq!(text.lines().filter(|l| l.starts_with("atlas: ")).count(), 1, "one sentence: {text}");
        }
    }
    assert_eq!(inode(&app.db_path()), before, "the live file was never replaced");
    assert!(std::fs::read_dir(dir.join("backups")).map_or(true, |mut d| d.next().is_none()), "no backup was made");
    let (status, projects) = app.call("GET", "/api/v1/projects", Some(&app.admin_token()), None).await;
    assert_eq!((status, projects["items"].as_array().unwrap().len()), (200, 1), "{projects}");
    app.stop().await.unwrap();
}

/// A golden copy whose last commits are still in its `-wal` is copied whole (a file copy left them
/// behind), and what is checked is the copy put in place.
#[test]
fn a_golden_copy_with_commits_in_its_wal_is_initialised_whole() {
    let seed = tempfile::tempdir().unwrap();
    assert!(atlas(seed.path(), &["migrate"], &[]).status.success());
    let live = seed.path().join("data/atlas.db");
    let conn = rusqlite::Connection::open(&live).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;").unwrap();
    conn.execute(
        "INSERT INTO projects (id, name, created_at, updated_at) VALUES ('project-wal', 'In the WAL', 'x', 'x')",
        [],
    )
    .unwrap();
    // The golden file and its WAL as a copy while the writer is open (as a snapshot tool would take them).
    let golden = seed.path().join("golden.db");
    std::fs::copy(&live, &golden).unwrap();
    std::fs::copy(seed.path().join("data/atlas.db-wal"), seed.path().join("golden.db-wal")).unwrap();
    drop(conn);
    let dir = tempfile::tempdir().unwrap();
    let output = atlas(dir.path(), &["init", "--golden", golden.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let db = crate::support::open_read_only(&dir.path().join("data/atlas.db"));
    let kept: i64 = db.query_row("SELECT count(*) FROM projects WHERE id = 'project-wal'", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, 1, "the commit in the golden copy's WAL is in the initialised database");
}

/// A hard link reaches the live database from another directory, past the directory's lock (`cp -al`,
/// `rsync --link-dest` snapshots make them): no writer opens a database with more than one name.
#[actix_rt::test]
async fn a_hard_link_to_the_live_database_opens_no_second_writer() {
    let app = crate::support::TestApp::spawn().await;
    let dir = app.dir.path().to_path_buf();
    std::fs::create_dir_all(dir.join("hl")).unwrap();
    std::fs::hard_link(app.db_path(), dir.join("hl/atlas.db")).unwrap();
    let through_the_link =
        |args: &[&str]| args.iter().chain(&["--set", "database.path=\"hl/atlas.db\""]).map(|a| a.to_string()).collect();
    let attempts = [&["db", "vacuum"][..], &["token", "create", "--name", "sneaky", "--role", "admin"], &["migrate"]];
    let outputs = each_beside(&dir, attempts.iter().map(|args| through_the_link(args)).collect()).await;
    for (command, output) in outputs {
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "atlas {command} through a hard link: {text}");
        assert!(text.contains("names (hard links)"), "atlas {command}: {text}");
    }
    let conn = crate::support::open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM api_tokens WHERE name = 'sneaky'"), 0);
    drop(conn);
    app.stop().await.unwrap();
}
