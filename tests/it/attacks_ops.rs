//! Hostile tests of the one-writer lock, the admin socket, the crash-safe restore and run containment.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

fn atlas(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(ATLAS);
    command.current_dir(dir).args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ATLAS_")) {
        command.env_remove(name);
    }
    command.output().expect("atlas runs")
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(format!("{}-wal", db.display())).map(|m| m.len()).unwrap_or(0)
}

/// "Read-only" CLI commands that skip the lock (`db stats`, `backup list`, `sync status`) must not open
/// a writer on the live file: the service's WAL must not be folded/truncated and the main file must not
/// change underneath the running service.
#[actix_rt::test]
async fn unlocked_read_commands_do_not_write_the_live_database() {
    // The service's own background checkpoints would change the main file too: off here, so any change
    // is the CLI's (SQLite's in-commit checkpoint does not fire for these few writes).
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings.writer.checkpoint_every_ms = 0;
    let app = crate::support::TestApp::spawn_with(dir, settings).await;
    let dir = app.dir.path().to_path_buf();
    for round in 0..3 {
        for i in 0..3 {
            let (status, _) = app
                .call(
                    "POST",
                    "/api/v1/projects",
                    Some(&app.admin_token()),
                    Some(serde_json::json!({ "name": format!("p{round}-{i}") })),
                )
                .await;
            assert_eq!(status, 201);
        }
        let db = app.db_path();
        let command: &[&str] = [&["db", "stats"][..], &["backup", "list"][..], &["sync", "status"][..]][round];
        let main_before = std::fs::read(&db).unwrap();
        let wal_before = wal_len(&db);
        let run_dir = dir.clone();
        let args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        let output = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            atlas(&run_dir, &refs)
        })
        .await
        .unwrap();
        assert!(
            !output.status.success(),
            "atlas {} beside a running service names the API route instead of opening the store: {}",
            command.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        let main_after = std::fs::read(&db).unwrap();
        let wal_after = wal_len(&db);
        assert!(
            main_before == main_after && wal_after >= wal_before,
            "atlas {} beside a running service wrote the live database (WAL {wal_before} -> {wal_after} bytes, \
             main file changed: {}); stderr: {}",
            command.join(" "),
            main_before != main_after,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    app.stop().await.unwrap();
}

/// Hostile clients that hold many admin-socket connections open (never sending a line) must not make the
/// socket stop answering for good: once they go, `atlas token create` beside the service must work again.
#[test]
fn the_admin_socket_survives_a_flood_of_idle_connections() {
    use crate::support::daemon::Daemon;
    use std::os::unix::net::UnixStream;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start("prlimit", dir.path(), &["--nofile=256", ATLAS], &[]);
    let socket = dir.path().join("data/atlas.sock");
    let mut held = Vec::new();
    for _ in 0..400 {
        match UnixStream::connect(&socket) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let opened = held.len();
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let output = atlas(dir.path(), &["token", "create", "--name", "after-flood", "--role", "viewer"]);
    let healthz = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("{}/healthz", daemon.url)])
        .output();
    assert!(
        output.status.success(),
        "after {opened} idle connections were opened and closed, atlas token create failed: {} (healthz: {:?})",
        String::from_utf8_lossy(&output.stderr),
        healthz.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    );
}

/// A restore killed after the original got its second name (hard link) but before the staged copy was
/// renamed over it: start-up must leave a clean directory (no marker, no `atlas.db.pre-restore`) and the
/// original data. `rename(a, b)` where a and b are links to the same inode is a no-op that succeeds.
#[test]
fn a_restore_killed_between_the_hard_link_and_the_rename_leaves_a_clean_start() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = atlas(dir.path(), &["migrate"]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let db = dir.path().join("data/atlas.db");
    let staged = dir.path().join("data/atlas.db.restore-tmp");
    std::fs::copy(&db, &staged).unwrap();
    // The state swap_in leaves just after `hard_link(db, aside)`.
    std::fs::write(
        dir.path().join("data/atlas.db.restore-marker"),
        serde_json::json!({ "staged": staged, "safety_backup": "atlas_20260101_000000" }).to_string(),
    )
    .unwrap();
    std::fs::hard_link(&db, dir.path().join("data/atlas.db.pre-restore")).unwrap();
    let mut daemon = crate::support::daemon::Daemon::start(ATLAS, dir.path(), &[], &[]);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(std::time::Duration::from_secs(10)).code(), Some(0));
    let left: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("restore"))
        .collect();
    assert!(left.is_empty(), "after recovery these restore leftovers remain: {left:?}");
}

/// A marked process that keeps forking (a respawner that left the group) leaves nothing behind: the kill
/// scans /proc again until no marked process is left (one scan would miss children forked after it).
#[actix_rt::test]
async fn a_forking_respawner_that_left_the_group_leaves_nothing_behind() {
    use crate::api::Team;
    use crate::support::{test_settings, TestApp};
    use atlas_actors::runner::contain::{marked, start_ticks};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = Vec::new();
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("p").await;
    let file = team.app.dir.path().join("spawned.pids");
    let script = format!("setsid sh -c 'while :; do sleep 60 & echo $! >> {f}; done' & sleep 0.5", f = file.display());
    let task = team.task(&project, "respawner", Some(vec!["sh", "-c", &script])).await;
    let (status, _) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    assert_eq!(status, 201);
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "success", "{run}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pids: Vec<i32> =
        std::fs::read_to_string(&file).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect();
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    // Only processes still carrying this run's mark are counted (and cleaned up): never a reused pid.
    let survivors: Vec<i32> = marked(&run_id).into_iter().filter(|&pid| start_ticks(pid).is_some()).collect();
    for &pid in &survivors {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    assert!(survivors.is_empty(), "of {} forked children, these outlived run {run_id}: {survivors:?}", pids.len());
}

/// `atlas backup list` run beside a service that is restoring does not break the restore: it opens no
/// writer, so no start-up recovery touches the service's staged copy (`atlas.db.restore-tmp`) or its marker.
#[actix_rt::test]
async fn a_listing_beside_a_restoring_service_does_not_break_the_restore() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let team = crate::api::Team::new().await;
    for i in 0..200 {
        team.project(&format!("p{i}")).await;
    }
    let (status, made) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, cwd) = (stop.clone(), team.app.dir.path().to_path_buf());
    let lister = std::thread::spawn(move || {
        let mut runs = 0;
        while !flag.load(Ordering::Relaxed) {
            let _ = atlas(&cwd, &["backup", "list"]);
            runs += 1;
        }
        runs
    });
    let mut failures = Vec::new();
    for _ in 0..15 {
        let (status, body) = team.app.restore(&team.admin, &id).await;
        if status != 200 {
            failures.push(format!("{status}: {body}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let listings = lister.join().unwrap();
    assert!(failures.is_empty(), "with {listings} `atlas backup list` runs beside it, restores failed: {failures:#?}");
}

/// The lock must follow the database file, not the name it is given: a CLI pointed at the live file
/// through a symlink in another directory must still be refused.
#[actix_rt::test]
async fn a_writing_command_reaching_the_live_file_through_a_symlink_is_refused() {
    let app = crate::support::TestApp::spawn().await;
    let dir = app.dir.path().to_path_buf();
    std::fs::create_dir_all(dir.join("other")).unwrap();
    std::os::unix::fs::symlink(app.db_path(), dir.join("other/atlas.db")).unwrap();
    let run_dir = dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        atlas(&run_dir, &["db", "vacuum", "--set", "database.path=\"other/atlas.db\""])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.code() == Some(1) && text.contains("Atlas is running"),
        "atlas db vacuum through other/atlas.db -> data/atlas.db ran beside the service: exit {:?}, stdout {} stderr {text}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
    );
    app.stop().await.unwrap();
}
