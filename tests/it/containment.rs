//! Nothing a run starts outlives it: not a process that left the run's group (`setsid`, a double fork),
//! and not a process left alive when Atlas itself was killed (recovery kills it, checking start times).

use crate::api::Team;
use crate::support::daemon::Daemon;
use crate::support::{test_settings, TestApp};
use atlas_actors::runner::contain::start_ticks;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

/// The pid a command wrote into `file`, once it is there.
async fn pid_in(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "{} never appeared", file.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `pid` is still a live process after `wait` (a zombie is dead).
async fn alive_within(pid: i32, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if start_ticks(pid).is_none() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[actix_rt::test]
async fn descendants_that_leave_the_run_s_group_are_killed_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = Vec::new();
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("p").await;
    let escapes = [
        ("setsid", "setsid sleep 60 & echo $! > {file}; sleep 0.2"),
        ("double fork", "(setsid sh -c 'sleep 60 & echo $! > {file}' &); sleep 0.2"),
    ];
    for (how, script) in escapes {
        let file = team.app.dir.path().join(format!("{}.pid", how.replace(' ', "-")));
        let script = script.replace("{file}", &file.display().to_string());
        let task = team.task(&project, how, Some(vec!["sh", "-c", &script])).await;
        let (status, _) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
        assert_eq!(status, 201);
        let escaped = pid_in(&file).await;
        let run = team.finished_run(&task).await;
        assert_eq!(run["status"], "success", "{run}");
        assert!(!alive_within(escaped, Duration::from_secs(5)).await, "{how}: process {escaped} outlived its run");
    }
}

async fn call(url: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let client = awc::Client::default();
    let request = client
        .request(awc::http::Method::from_bytes(method.as_bytes()).unwrap(), format!("{url}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")));
    let mut response = match body {
        Some(body) => request.send_json(&body).await.unwrap(),
        None => request.send().await.unwrap(),
    };
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn a_run_left_alive_by_a_sigkill_of_atlas_is_killed_before_it_is_recorded_interrupted() {
    leftovers_are_killed_after_a_sigkill(|_| {}).await;
}

/// The instance file deleted, or the data directory moved and copied back (`mv data data.old && cp -a
/// data.old data`), between the crash and the restart: the run's Atlas is gone, so its leftovers are still
/// killed.
#[actix_rt::test]
async fn leftovers_are_killed_when_the_instance_file_was_lost_with_the_crash() {
    leftovers_are_killed_after_a_sigkill(|dir| std::fs::remove_file(dir.join("data/instance")).unwrap()).await;
    leftovers_are_killed_after_a_sigkill(|dir| {
        std::fs::rename(dir.join("data"), dir.join("data.old")).unwrap();
        let copied =
            std::process::Command::new("cp").arg("-a").arg(dir.join("data.old")).arg(dir.join("data")).status();
        assert!(copied.unwrap().success());
    })
    .await;
}

async fn leftovers_are_killed_after_a_sigkill(between: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/atlas.toml"), "[approvals]\npolicy = []\n").unwrap();
    let mut daemon = Daemon::start(ATLAS, dir.path(), &[], &[]);
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
    let (_, project) = call(&daemon.url, "POST", "/api/v1/projects", &token, Some(json!({ "name": "p" }))).await;
    let file = dir.path().join("left.pid");
    let script = format!("setsid sleep 300 & echo $! > {}; wait", file.display());
    let body = json!({ "project_id": project["id"], "title": "long", "command": ["sh", "-c", script] });
    let (_, task) = call(&daemon.url, "POST", "/api/v1/tasks", &token, Some(body)).await;
    let task = task["id"].as_str().unwrap().to_owned();
    let (status, run) = call(&daemon.url, "POST", &format!("/api/v1/tasks/{task}/run"), &token, None).await;
    assert_eq!(status, 201, "{run}");
    let left = pid_in(&file).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the process group is recorded after the spawn
    daemon.signal("KILL");
    daemon.wait_exit(Duration::from_secs(5));
    assert!(
        alive_within(left, Duration::from_millis(300)).await,
        "Atlas's death alone does not end the run's processes"
    );
    between(dir.path());

    let mut restarted = Daemon::start(ATLAS, dir.path(), &[], &[]);
    assert!(!alive_within(left, Duration::from_secs(5)).await, "recovery killed the interrupted run's process {left}");
    let (_, one) =
        call(&restarted.url, "GET", &format!("/api/v1/runs/{}", run["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(
        (one["status"].as_str(), one["error_log"].as_str()),
        (Some("failed"), Some("interrupted by restart")),
        "{one}"
    );
    restarted.signal("TERM");
    restarted.wait_exit(Duration::from_secs(15));
}

/// Atlas's zombie children once the reaper has had `settle` to act (a SIGCHLD wakes it at once).
async fn zombies_after(pid: u32, settle: Duration) -> Vec<i32> {
    let deadline = Instant::now() + settle;
    loop {
        let zombies = atlas_actors::runner::reap::zombie_children(pid);
        if zombies.is_empty() || Instant::now() >= deadline {
            return zombies;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real binary as it runs for months: commands that leave a background child, double-fork, or start a
/// `setsid` child that exits at once leave no zombie of Atlas behind them, run after run.
#[actix_rt::test]
async fn runs_that_leave_children_behind_leave_no_zombies_of_atlas() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/atlas.toml"), "[approvals]\npolicy = []\n").unwrap();
    let daemon = Daemon::start(ATLAS, dir.path(), &[], &[]);
    let pid = daemon.child.id();
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap().trim().to_owned();
    let (_, project) = call(&daemon.url, "POST", "/api/v1/projects", &token, Some(json!({ "name": "p" }))).await;
    let scripts = [
        ("background", "echo hi; (sleep 0.1 &)"),
        ("background, exited before the run", "(true &); sleep 0.3"),
        ("double fork", "(sh -c 'sleep 0.1 &' &); echo forked"),
        ("setsid, exits at once", "setsid true & sleep 0.2"),
        ("setsid, outlives the run", "setsid sleep 0.2 & echo bye"),
        ("own group, exits at once", "python3 -c 'import os; os.setpgid(0, 0)' & exec sleep 0.2"),
        ("job control", "set -m; for i in 1 2 3 4 5; do sleep 0.01 & done; exec sleep 0.2"),
        ("joins Atlas's group", "python3 -c \"import os; sh = os.getppid(); atlas = int(open('/proc/%d/stat' % sh).read().rsplit(')', 1)[1].split()[1]); os.setpgid(0, os.getpgid(atlas))\" & exec sleep 0.2"),
    ];
    for round in 0..3 {
        for (how, script) in scripts {
            let body = json!({ "project_id": project["id"], "title": how, "command": ["sh", "-c", script] });
            let (_, task) = call(&daemon.url, "POST", "/api/v1/tasks", &token, Some(body)).await;
            let task = task["id"].as_str().unwrap().to_owned();
            let (status, run) = call(&daemon.url, "POST", &format!("/api/v1/tasks/{task}/run"), &token, None).await;
            assert_eq!(status, 201, "{run}");
            let id = run["id"].as_str().unwrap().to_owned();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let (_, now) = call(&daemon.url, "GET", &format!("/api/v1/runs/{id}"), &token, None).await;
                if !["queued", "running"].contains(&now["status"].as_str().unwrap_or("")) {
                    assert_eq!(now["status"], "success", "{how}: {now}");
                    break;
                }
                assert!(Instant::now() < deadline, "{how}: the run never ended");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let zombies = zombies_after(pid, Duration::from_secs(3)).await;
            assert!(zombies.is_empty(), "round {round}, {how}: Atlas keeps zombie children {zombies:?}");
        }
    }
}

/// Two Atlases on one host from one database (a restore drill, a staging copy): the copy's recovery at
/// start-up finds the original's live runs recorded as `running`, with their process groups, start times
/// and marks, and must leave them alone: they belong to the other instance.
#[actix_rt::test]
async fn a_copy_of_the_database_served_beside_the_original_never_touches_its_runs() {
    let original = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(original.path().join("config")).unwrap();
    std::fs::write(original.path().join("config/atlas.toml"), "[approvals]\npolicy = []\n").unwrap();
    let first = Daemon::start(ATLAS, original.path(), &[], &[]);
    let token = std::fs::read_to_string(original.path().join("data/admin.token")).unwrap().trim().to_owned();
    let (_, project) = call(&first.url, "POST", "/api/v1/projects", &token, Some(json!({ "name": "p" }))).await;
    let file = original.path().join("left.pid");
    let script = format!("setsid sleep 300 & echo $! > {}; sleep 300", file.display());
    let body = json!({ "project_id": project["id"], "title": "long", "command": ["sh", "-c", script] });
    let (_, task) = call(&first.url, "POST", "/api/v1/tasks", &token, Some(body)).await;
    let (status, run) =
        call(&first.url, "POST", &format!("/api/v1/tasks/{}/run", task["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(status, 201, "{run}");
    let run = run["id"].as_str().unwrap().to_owned();
    let escaped = pid_in(&file).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = loop {
        let db = rusqlite::Connection::open_with_flags(
            original.path().join("data/atlas.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let pgid: Option<i64> =
            db.query_row("SELECT pgid FROM runs WHERE id = ?1", [&run], |r| r.get(0)).unwrap_or(None);
        if let Some(pgid) = pgid {
            break pgid as i32;
        }
        assert!(Instant::now() < deadline, "the run's process group was never recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // The copy: the database as it stands (run `running`, its group recorded), and the data directory's
    // files beside it copied too, as `cp -a` would.
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("data")).unwrap();
    std::fs::create_dir_all(copy.path().join("config")).unwrap();
    std::fs::write(copy.path().join("config/atlas.toml"), "[approvals]\npolicy = []\n").unwrap();
    let snapshot = copy.path().join("data/atlas.db");
    rusqlite::Connection::open(original.path().join("data/atlas.db"))
        .unwrap()
        .execute("VACUUM INTO ?1", [snapshot.to_str().unwrap()])
        .unwrap();
    for name in ["instance", "admin.token"] {
        std::fs::copy(original.path().join("data").join(name), copy.path().join("data").join(name)).unwrap();
    }
    let mut second = Daemon::start(ATLAS, copy.path(), &[], &[]);
    let (_, seen) = call(&second.url, "GET", &format!("/api/v1/runs/{run}"), &token, None).await;
    assert_eq!(seen["status"], "failed", "in the copy the run was interrupted: {seen}");
    for (what, pid) in [("the run's leader", leader), ("its setsid child", escaped)] {
        assert!(alive_within(pid, Duration::from_millis(500)).await, "the copy's recovery killed {what} ({pid})");
    }
    let (_, still) = call(&first.url, "GET", &format!("/api/v1/runs/{run}"), &token, None).await;
    assert_eq!(still["status"], "running", "{still}");
    assert_ne!(
        std::fs::read_to_string(original.path().join("data/instance")).unwrap(),
        std::fs::read_to_string(copy.path().join("data/instance")).unwrap(),
        "the copied directory became an instance of its own"
    );

    let (status, _) = call(&first.url, "POST", &format!("/api/v1/runs/{run}/cancel"), &token, None).await;
    assert_eq!(status, 200);
    assert!(!alive_within(escaped, Duration::from_secs(5)).await, "the original still ends its own run's processes");
    second.signal("TERM");
    second.wait_exit(Duration::from_secs(15));
}
