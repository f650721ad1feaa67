//! The Runner with real subprocesses: output, exit codes, timeouts that kill grandchildren, cancel,
//! truncation, tampering, crash recovery, executors and the live log.

use crate::api::Team;
use crate::support::{test_settings, TestApp};
use atlas::settings::Settings;
use serde_json::{json, Value};
use std::time::Duration;

/// A team whose admin may run tasks directly (no execute approvals), with `tweak` applied to the settings.
async fn direct_team(tweak: impl FnOnce(&mut Settings)) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = Vec::new();
    tweak(&mut settings);
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

impl Team {
    /// Creates a task running `command` (optionally with a timeout) and starts it; returns the run's id.
    async fn start_run(&self, command: &[&str], timeout_s: Option<u64>) -> (String, String) {
        let project = self.project("runs").await;
        let body = json!({ "project_id": project, "title": "job", "command": command, "timeout_s": timeout_s });
        let (status, task) = self.call("POST", "/api/v1/tasks", &self.admin, Some(body)).await;
        assert_eq!(status, 201, "{task}");
        let task = task["id"].as_str().unwrap().to_owned();
        let (status, run) = self.call("POST", &format!("/api/v1/tasks/{task}/run"), &self.admin, None).await;
        assert_eq!(status, 201, "the admin runs it directly: {run}");
        (task, run["id"].as_str().unwrap().to_owned())
    }

    async fn run(&self, id: &str) -> Value {
        self.call("GET", &format!("/api/v1/runs/{id}"), &self.viewer, None).await.1
    }

    async fn wait_status(&self, id: &str, wanted: &str) -> Value {
        for _ in 0..500 {
            let run = self.run(id).await;
            if run["status"] == wanted {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("run {id} never became {wanted}: {}", self.run(id).await);
    }

    async fn hotlist(&self) -> Vec<Value> {
        self.call("GET", "/api/v1/errors", &self.viewer, None).await.1["items"].as_array().unwrap().clone()
    }
}

#[actix_rt::test]
async fn a_successful_run_keeps_stdout_and_stderr_and_sees_only_allowlisted_env() {
    // A variable of Atlas's own environment that is not allowlisted must not reach the command.
    std::env::set_var("ATLAS_TEST_RUNNER_SECRET", "hunter2");
    let team = direct_team(|_| {}).await;
    let (task, _) = team
        .start_run(
            &[
                "sh",
                "-c",
                "echo out; echo err >&2; echo \"home=${HOME:-none} secret=${ATLAS_TEST_RUNNER_SECRET:-none}\"",
            ],
            None,
        )
        .await;
    // As the admin reads it: a viewer's copy redacts `secret=…` whatever follows.
    let run = team.finished_run_as(&task, &team.admin).await;
    assert_eq!((run["status"].as_str(), run["exit_code"].as_i64()), (Some("success"), Some(0)), "{run}");
    let output = run["output"].as_str().unwrap();
    assert!(output.starts_with("out\n") && output.contains("secret=none") && !output.contains("hunter2"), "{output}");
    assert_eq!(run["error_log"], "err\n");
    assert!(run["started_at"].is_string() && run["completed_at"].is_string());
    assert!(team.hotlist().await.is_empty(), "success leaves no hotlist entry");
}

#[actix_rt::test]
async fn a_failing_run_records_its_exit_code_and_a_hotlist_entry() {
    let team = direct_team(|_| {}).await;
    let (task, run_id) = team.start_run(&["sh", "-c", "echo boom >&2; exit 3"], None).await;
    let run = team.finished_run(&task).await;
    assert_eq!((run["status"].as_str(), run["exit_code"].as_i64()), (Some("failed"), Some(3)), "{run}");
    let hotlist = team.hotlist().await;
    assert_eq!(hotlist.len(), 1);
    let error = hotlist[0]["error"].as_str().unwrap();
    assert!(error.contains(&run_id) && error.contains("exit code 3") && error.contains("boom"), "{error}");
    assert_eq!(
        (hotlist[0]["severity"].as_str(), hotlist[0]["task_id"].as_str()),
        (Some("medium"), Some(task.as_str()))
    );

    let (task, _) = team.start_run(&["/definitely/not/a/program"], None).await;
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "failed");
    assert!(run["error_log"].as_str().unwrap().contains("cannot start"), "{run}");
}

fn alive(pid: u32) -> bool {
    // A killed grandchild may linger as a zombie until its new parent reaps it; that is not alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[actix_rt::test]
async fn a_timeout_kills_the_whole_process_group_grandchildren_included() {
    let team = direct_team(|_| {}).await;
    let pid_file = team.app.dir.path().join("grandchild.pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
    let (task, _) = team.start_run(&["sh", "-c", &script], Some(2)).await;
    // Ended within `finished_run`'s bounded wait (10 s), so not after the grandchild's 60 s sleep.
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "timed_out", "{run}");
    assert!(run["error_log"].as_str().unwrap().contains("timed out after 2 s"), "{run}");
    let grandchild: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    for _ in 0..500 {
        if !alive(grandchild) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(grandchild), "grandchild {grandchild} survived the timeout");
    let hotlist = team.hotlist().await;
    assert_eq!(hotlist[0]["severity"], "high", "timeouts are high by default");
}

#[actix_rt::test]
async fn cancel_kills_a_running_run_and_stops_a_queued_one() {
    let team = direct_team(|s| s.runner.max_concurrent = 1).await;
    let (_, running) = team.start_run(&["sleep", "30"], None).await;
    team.wait_status(&running, "running").await;
    let (_, queued) = team.start_run(&["echo", "never"], None).await;
    assert_eq!(team.run(&queued).await["status"], "queued", "one slot only");

    let (status, cancelled) = team.call("POST", &format!("/api/v1/runs/{queued}/cancel"), &team.approver, None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    assert!(cancelled["started_at"].is_null(), "it never started");

    let (status, cancelled) = team.call("POST", &format!("/api/v1/runs/{running}/cancel"), &team.approver, None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let (status, body) = team.call("POST", &format!("/api/v1/runs/{running}/cancel"), &team.approver, None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(team.call("POST", &format!("/api/v1/runs/{running}/cancel"), &team.agent, None).await.0, 403);
    assert!(team.hotlist().await.is_empty(), "a cancel is not an error");
    // Each cancel is recorded in the name of whoever asked for it, the running one's as its end.
    let (_, audit) = team.call("GET", "/api/v1/audit?type=run.cancelled", &team.admin, None).await;
    let by: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["aggregate_id"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert!(by.contains(&(running.as_str(), "alice")) && by.contains(&(queued.as_str(), "alice")), "{audit}");
}

/// A cancel that comes as the run ends by itself cancels nothing: 409 naming how it ended, never a 200
/// carrying another ending. Swept over the moment the run ends.
#[actix_rt::test]
async fn a_cancel_that_loses_the_race_with_the_end_is_a_conflict_not_a_success() {
    let team = direct_team(|_| {}).await;
    for attempt in 0..30 {
        let (_, run) = team.start_run(&["sleep", "0.2"], None).await;
        tokio::time::sleep(std::time::Duration::from_millis(170 + 3 * attempt)).await;
        let (status, body) = team.call("POST", &format!("/api/v1/runs/{run}/cancel"), &team.approver, None).await;
        match status {
            200 => assert_eq!(body["status"], "cancelled", "a 200 is a cancel: {body}"),
            409 => assert!(body["error"]["message"].as_str().unwrap().contains("already ended"), "{body}"),
            other => panic!("cancel answered {other}: {body}"),
        }
    }
}

#[actix_rt::test]
async fn long_output_keeps_its_head_and_tail_with_a_marker() {
    let team = direct_team(|s| s.runner.output_limit_bytes = 256).await;
    let (task, _) = team
        .start_run(
            &["sh", "-c", "echo START; i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo FINISH"],
            None,
        )
        .await;
    let run = team.finished_run(&task).await;
    let output = run["output"].as_str().unwrap();
    assert!(output.starts_with("START\n") && output.ends_with("FINISH\n"), "{output}");
    assert!(output.contains("bytes cut"), "{output}");
    assert!(output.len() < 256 + 64, "{} bytes kept", output.len());
}

#[actix_rt::test]
async fn a_run_whose_stored_command_was_tampered_with_is_refused() {
    let log = tampered_run_is_refused(false).await;
    assert!(log.contains("does not match the fingerprint"), "{log}");
}

#[actix_rt::test]
async fn a_run_tampered_with_together_with_its_fingerprint_is_refused_by_the_approval() {
    let log = tampered_run_is_refused(true).await;
    assert!(log.contains("differs from the one approved"), "{log}");
}

/// Queues an approved run, rewrites its stored command (and, with `with_hash`, the fingerprint to match)
/// behind Atlas's back, and returns the refused run's error log.
async fn tampered_run_is_refused(with_hash: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.runner.max_concurrent = 1;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("ops").await;
    let blocker = team.task(&project, "blocker", Some(vec!["sleep", "30"])).await;
    let target = team.task(&project, "report", Some(vec!["echo", "report"])).await;
    for task in [&blocker, &target] {
        let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
        let id = approval["id"].as_str().unwrap();
        assert_eq!(team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await.0, 200);
    }
    let (_, runs) = team.call("GET", &format!("/api/v1/runs?task_id={target}"), &team.viewer, None).await;
    let run_id = runs["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(runs["items"][0]["status"], "queued");

    let conn = rusqlite::Connection::open(team.app.db_path()).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute("UPDATE runs SET command = '[\"sh\",\"-c\",\"echo pwned\"]' WHERE id = ?1", [&run_id]).unwrap();
    if with_hash {
        let argv = ["sh", "-c", "echo pwned"].map(String::from);
        let hash = atlas_actors::domain::run::fingerprint(&argv, None, None, &Default::default(), None);
        conn.execute("UPDATE runs SET command_hash = ?2 WHERE id = ?1", [&run_id, &hash]).unwrap();
    }
    drop(conn);
    let (_, blocking) = team.call("GET", &format!("/api/v1/runs?task_id={blocker}"), &team.viewer, None).await;
    let blocking = blocking["items"][0]["id"].as_str().unwrap().to_owned();
    team.call("POST", &format!("/api/v1/runs/{blocking}/cancel"), &team.approver, None).await;

    let run = team.wait_status(&run_id, "failed").await;
    assert!(run["error_log"].as_str().unwrap().starts_with("refused to start"), "{run}");
    assert!(run["output"].is_null() && run["started_at"].is_null(), "it never ran: {run}");
    let hotlist = team.hotlist().await;
    assert!(
        hotlist.iter().any(|e| e["severity"] == "critical" && e["error"].as_str().unwrap().contains(&run_id)),
        "{hotlist:?}"
    );
    run["error_log"].as_str().unwrap().to_owned()
}

#[actix_rt::test]
async fn a_shutdown_interrupts_live_runs_and_kills_their_groups() {
    let team = direct_team(|_| {}).await;
    let pid_file = team.app.dir.path().join("grandchild.pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
    let (_, run_id) = team.start_run(&["sh", "-c", &script], None).await;
    team.wait_status(&run_id, "running").await;
    for _ in 0..500 {
        if std::fs::read_to_string(&pid_file).is_ok_and(|pid| pid.ends_with('\n')) {
            break; // the grandchild exists: now stop
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let viewer = team.viewer.clone();
    let db = team.app.db_path();
    let (stopped, _dir) = team.app.stop_keeping_files().await;
    stopped.unwrap();
    let conn = crate::support::open_read_only(&db);
    let (status, log): (String, String) = conn
        .query_row("SELECT status, error_log FROM runs WHERE id = ?1", [&run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(status, "failed");
    assert!(log.contains("interrupted by shutdown"), "{log}");
    let grandchild: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(!alive(grandchild), "the run's process group did not outlive Atlas");
    drop(viewer);
}

#[actix_rt::test]
async fn runs_interrupted_by_a_crash_are_failed_at_start_and_not_rerun() {
    let team = direct_team(|_| {}).await;
    let (task, run_id) = team.start_run(&["sleep", "30"], None).await;
    team.wait_status(&run_id, "running").await;
    let viewer = team.viewer.clone();
    // A crash: the run stays `running` in the database. (A clean stop would record the interruption.)
    let conn = rusqlite::Connection::open(team.app.db_path()).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    // The crashed database comes back in a new directory (the old connections cannot interfere).
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let snapshot = dir.path().join("data/atlas.db");
    conn.execute("VACUUM INTO ?1", [snapshot.to_str().unwrap()]).unwrap();
    drop(conn);
    team.app.stop().await.unwrap();
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    let (_, run) = app.call("GET", &format!("/api/v1/runs/{run_id}"), Some(&viewer), None).await;
    assert_eq!(
        (run["status"].as_str(), run["error_log"].as_str()),
        (Some("failed"), Some("interrupted by restart")),
        "{run}"
    );
    let (_, runs) = app.call("GET", &format!("/api/v1/runs?task_id={task}"), Some(&viewer), None).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "nothing was re-run");
    let (_, hotlist) = app.call("GET", "/api/v1/errors", Some(&viewer), None).await;
    assert!(hotlist["items"][0]["error"].as_str().unwrap().contains("interrupted by a restart"), "{hotlist}");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn an_executor_profile_falls_back_and_parses_its_output() {
    let team = direct_team(|s| {
        let toml = r#"
            [executors.missing]
            command = ["not-installed-anywhere", "{goal}"]
            parser = { kind = "stdout_all" }
            [executors.shell]
            command = ["sh", "-c", "echo noise; echo BEGIN; echo \"goal: $1\"; echo END", "sh", "{goal}"]
            timeout_s = 30
            parser = { kind = "stdout_section", start = "BEGIN", end = "END" }
            [profiles]
            quality = ["missing", "shell"]
        "#;
        let parsed: Settings = toml::from_str(toml).unwrap();
        s.executors = parsed.executors;
        s.profiles = parsed.profiles;
    })
    .await;
    let (task, _) = team.start_run(&["@quality", "fix", "the build"], None).await;
    let run = team.finished_run(&task).await;
    assert_eq!(
        (run["status"].as_str(), run["output"].as_str()),
        (Some("success"), Some("goal: fix the build")),
        "{run}"
    );

    let project = team.project("other").await;
    let body = json!({ "project_id": project, "title": "job", "command": ["@nonexistent", "x"] });
    let (_, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    let (status, body) =
        team.call("POST", &format!("/api/v1/tasks/{}/run", task["id"].as_str().unwrap()), &team.admin, None).await;
    assert_eq!(status, 409, "a profile that resolves to nothing is refused when requested: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("unknown executor profile"), "{body}");
}

#[actix_rt::test]
async fn an_approved_profile_run_runs_the_argv_approved_or_not_at_all() {
    let tools = tempfile::tempdir().unwrap();
    let preferred = tools.path().join("preferred-tool");
    let toml = format!(
        r#"
        [executors.preferred]
        command = [{preferred:?}, "{{goal}}"]
        parser = {{ kind = "stdout_all" }}
        [executors.shell]
        command = ["echo", "approved:", "{{goal}}"]
        parser = {{ kind = "stdout_all" }}
        [profiles]
        quality = ["preferred", "shell"]
        "#,
        preferred = preferred.display().to_string()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    let parsed: Settings = toml::from_str(&toml).unwrap();
    settings.executors = parsed.executors;
    settings.profiles = parsed.profiles;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let project = team.project("p").await;
    let body = json!({ "project_id": project, "title": "t", "command": ["@quality", "tidy"] });
    let (_, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    let task = task["id"].as_str().unwrap().to_owned();
    let approve_a_run = || async {
        let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
        assert_eq!(status, 202, "{approval}");
        assert!(approval["payload"].to_string().contains("approved:"), "the approval shows the argv: {approval}");
        approval["id"].as_str().unwrap().to_owned()
    };
    let first = approve_a_run().await;
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{first}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    let run = team.finished_run(&task).await;
    assert_eq!((run["status"].as_str(), run["output"].as_str()), (Some("success"), Some("approved: tidy\n")), "{run}");

    // Requested while only `shell` resolves; before approval a program appears that the profile prefers.
    let second = approve_a_run().await;
    std::fs::write(&preferred, "#!/bin/sh\necho unapproved\n").unwrap();
    std::fs::set_permissions(&preferred, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{second}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "failed", "{run}");
    let log = run["error_log"].as_str().unwrap();
    assert!(log.contains("now resolves to executor preferred") && log.contains("executor shell"), "{log}");
    let (_, critical) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
    assert!(critical.to_string().contains("now resolves to executor preferred"), "{critical}");
}

#[actix_rt::test]
async fn the_log_streams_while_the_run_is_live() {
    let team = direct_team(|_| {}).await;
    let (_, run_id) = team.start_run(&["sh", "-c", "echo one; sleep 1; echo two"], None).await;
    team.wait_status(&run_id, "running").await;
    let (status, body) =
        team.app.raw("GET", &format!("/api/v1/runs/{run_id}/log"), Some(&team.viewer), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap(), "one\ntwo\n", "the stream ended with the run and missed nothing");
    let (status, body) =
        team.app.raw("GET", &format!("/api/v1/runs/{run_id}/log"), Some(&team.viewer), None, None).await;
    assert_eq!(
        (status, String::from_utf8(body).unwrap()),
        (200, "one\ntwo\n".to_owned()),
        "after the run: the stored output"
    );
}

#[actix_rt::test]
async fn run_lists_carry_an_excerpt_of_output_and_one_run_all_of_it() {
    let team = direct_team(|_| {}).await;
    let (task, run_id) = team.start_run(&["sh", "-c", "head -c 5000 /dev/zero | tr '\\000' x; echo END"], None).await;
    team.finished_run(&task).await;
    let (_, listed) = team.call("GET", &format!("/api/v1/runs?task_id={task}"), &team.viewer, None).await;
    let excerpt = listed["items"][0]["output"].as_str().unwrap();
    assert!(excerpt.chars().count() < 1100 && excerpt.ends_with("END\n"), "{} characters", excerpt.len());
    assert!(excerpt.starts_with("[…4004 characters before;"), "{}", &excerpt[..60]);
    let one = team.run(&run_id).await;
    assert_eq!(one["output"].as_str().unwrap().len(), 5004, "the run itself has all of it");
}

#[actix_rt::test]
async fn runs_queued_or_running_in_a_restored_backup_never_run_again() {
    let team = direct_team(|s| s.runner.max_concurrent = 1).await;
    let (blocker_task, blocker) = team.start_run(&["sleep", "30"], None).await;
    team.wait_status(&blocker, "running").await;
    let marker = team.app.dir.path().join("ran.txt");
    let script = format!("echo ran >> {}", marker.display());
    let (_, queued) = team.start_run(&["sh", "-c", &script], None).await;
    assert_eq!(team.run(&queued).await["status"], "queued");
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{backup}");
    // Since the backup: the blocker is cancelled and the queued run runs, once.
    team.call("POST", &format!("/api/v1/runs/{blocker}/cancel"), &team.approver, None).await;
    team.wait_status(&queued, "success").await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");

    let id = backup["id"].as_str().unwrap();
    let restore = format!("/api/v1/admin/backups/{id}/restore");
    let (status, body) = team.call("POST", &restore, &team.admin, Some(serde_json::json!({ "confirm": true }))).await;
    assert_eq!(status, 200, "{body}");
    // A run queued after the restore runs (one at a time, oldest first): had the restored queued run been
    // left to run, it would have run before this one.
    let after = format!("echo after >> {}", marker.display());
    let (_, later) = team.start_run(&["sh", "-c", &after], None).await;
    team.wait_status(&later, "success").await;
    for (run, was) in [(&queued, "queued"), (&blocker, "running")] {
        let after = team.run(run).await;
        assert_eq!(after["status"], "failed", "{after}");
        assert!(after["error_log"].as_str().unwrap().starts_with("interrupted by a restore"), "{after}");
        let hotlist = team.hotlist().await;
        assert!(
            hotlist.iter().any(|e| e["error"].as_str().unwrap().contains(&format!("was {was} in the restored backup"))),
            "{hotlist:?}"
        );
    }
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\nafter\n", "the run did not run a second time");
    let _ = blocker_task;
}
