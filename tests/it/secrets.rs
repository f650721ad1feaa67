//! Secrets by name (issue 25): a task's `env` names a secret, the process gets its value at start, and
//! the value is nowhere else: not in the output kept, the live log, the events, the database file, the
//! console's page; rotating it leaves an approval naming it valid.

use crate::api::Team;
use crate::console::visitor::sign_in_with;
use serde_json::{json, Value};
use std::path::Path;

/// `atlas secret set NAME` as an operator types it, the value on stdin.
fn set_secret(db: &Path, name: &str, value: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_atlas"))
        .args(["secret", "set", name, "--set"])
        .arg(format!("database.path={:?}", db.display().to_string()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{value}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!said.contains(value), "the CLI never prints the value: {said}");
}

/// Every byte of the database and its WAL, for a needle that must not be there.
fn stored_bytes(db: &Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap();
    all.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    all
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The task's newest run once it ended, as an admin reads it (a viewer's copy is redacted).
async fn finished_run(team: &Team, task: &str) -> Value {
    team.finished_run_as(task, &team.admin).await
}

#[actix_rt::test]
async fn a_secret_reaches_the_process_by_name_and_is_masked_everywhere_else() {
    let team = Team::new().await;
    let db = team.app.db_path();
    let (first, rotated) = ("hunter2-first-value", "rotated-s3cret-value");
    set_secret(&db, "pg", first);
    let received = team.app.dir.path().join("received");
    let project = team.project("db").await;
    // Two more a run could read though it may not use them: one others may read, one through a symlink.
    let secrets = db.parent().unwrap().join("secrets");
    std::fs::write(secrets.join("loose"), "loose-secret-value").unwrap();
    let elsewhere = team.app.dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "linked-secret-value").unwrap();
    std::os::unix::fs::symlink(&elsewhere, secrets.join("linked")).unwrap();
    let script = "echo pw=$PGPASSWORD; echo \"err $PGPASSWORD\" >&2; printf %s \"$PGPASSWORD\" > \"$OUT\"; \
                  echo \"$(cat \"$DIR/loose\") $(cat \"$DIR/linked\")\"";
    let body = json!({ "project_id": project, "title": "dump", "command": ["sh", "-c", script],
        "env": { "PGPASSWORD": { "secret": "pg" }, "OUT": received.display().to_string(),
                 "DIR": secrets.display().to_string() } });
    let (status, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["env"]["PGPASSWORD"], json!({ "secret": "pg" }), "the task names the secret: {task}");
    let task = task["id"].as_str().unwrap();

    // Requested and shown for approval with the secret's name; rotated before anyone approves.
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(status, 202, "{approval}");
    assert!(approval.to_string().contains("\"secret\":\"pg\""), "the approval shows the name: {approval}");
    set_secret(&db, "pg", rotated);
    let id = approval["id"].as_str().unwrap();
    let (status, approved) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 200, "rotating the secret leaves the approval valid: {approved}");

    let run = finished_run(&team, task).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(std::fs::read_to_string(&received).unwrap(), rotated, "the process got the value at start");
    assert_eq!(
        (run["output"].as_str(), run["error_log"].as_str()),
        (Some("pw=***\n*** ***\n"), Some("err ***\n")),
        "{run}"
    );

    let run_id = run["id"].as_str().unwrap();
    let (status, log) =
        team.app.raw("GET", &format!("/api/v1/runs/{run_id}/log"), Some(&team.viewer), None, None).await;
    assert_eq!((status, String::from_utf8(log).unwrap()), (200, "pw=***\n*** ***\n".to_owned()));
    let admin = sign_in_with(&team.app.url, &team.admin, None).await;
    let (status, page) = admin.get(&format!("/console/runs/{run_id}")).await;
    assert!(status == 200 && page.contains("pw=***") && !page.contains(rotated), "{status}");
    let (_, events) = team.call("GET", "/api/v1/audit?limit=200", &team.admin, None).await;
    let stored = stored_bytes(&db);
    for value in [first, rotated, "loose-secret-value", "linked-secret-value"] {
        assert!(!events.to_string().contains(value), "no event holds {value}");
        assert!(!holds(&stored, value), "the database file holds {value}");
    }
}

#[actix_rt::test]
async fn a_run_naming_a_missing_secret_fails_saying_which_and_bad_env_is_refused() {
    let team = Team::new().await;
    let project = team.project("db").await;
    for (env, field) in [
        (json!({ "PGPASSWORD": { "value": "hunter2" } }), "env.PGPASSWORD"),
        (json!({ "LD_PRELOAD": "/tmp/x.so" }), "env.LD_PRELOAD"),
        (json!({ "P": { "secret": "../../etc/shadow" } }), "env.P"),
        (json!(["PGPASSWORD"]), "env"),
    ] {
        let body = json!({ "project_id": project, "title": "t", "command": ["true"], "env": env });
        let (status, refused) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains(field), "names {field}: {refused}");
    }
    let body = json!({ "project_id": project, "title": "t", "command": ["sh", "-c", "echo ran"],
        "env": { "PGPASSWORD": { "secret": "nope" } } });
    let (status, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    let task = task["id"].as_str().unwrap();
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    assert_eq!(status, 202, "{approval}");
    let id = approval["id"].as_str().unwrap();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    let run = finished_run(&team, task).await;
    assert_eq!(run["status"], "failed", "{run}");
    let why = run["error_log"].as_str().unwrap();
    assert!(why.contains("PGPASSWORD: secret nope is not set") && run["output"].is_null(), "it never started: {run}");
}

#[actix_rt::test]
async fn viewers_never_see_payload_text_the_redaction_catalogue_matches() {
    let team = Team::new().await;
    let project = team.project("db").await;
    let pasted = "export PGPASSWORD=hunter2; pg_dump prod; echo PGPASSWORD=hunter2";
    let body = json!({ "project_id": project, "title": "dump PGPASSWORD=hunter2", "command": ["sh", "-c", pasted],
        "env": { "DB_PASSWORD": "hunter2" } });
    let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "an agent's task waits for approval: {approval}");
    let id = approval["id"].as_str().unwrap();
    let (_, for_approver) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.approver, None).await;
    assert!(for_approver.to_string().contains("hunter2"), "the approver decides on what was asked: {for_approver}");
    let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    assert_eq!(status, 200);
    let (_, tasks) = team.call("GET", "/api/v1/tasks", &team.admin, None).await;
    let task = tasks["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, run) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    assert!(status == 201 || status == 202, "{run}");
    if status == 202 {
        let run_approval = run["id"].as_str().unwrap();
        team.call("POST", &format!("/api/v1/approvals/{run_approval}/approve"), &team.approver, None).await;
    }
    let finished = finished_run(&team, &task).await;
    assert!(finished["output"].as_str().unwrap().contains("hunter2"), "others see the output: {finished}");
    let run_id = finished["id"].as_str().unwrap().to_owned();

    let viewer = &team.viewer;
    let mut seen = Vec::new();
    for path in [
        format!("/api/v1/approvals/{id}"),
        "/api/v1/approvals?status=approved".into(),
        "/api/v1/audit".into(),
        format!("/api/v1/tasks/{task}"),
        "/api/v1/tasks".into(),
        format!("/api/v1/runs/{run_id}"),
        format!("/api/v1/runs/{run_id}/log"),
        "/api/v1/runs".into(),
    ] {
        let (status, body) = team.app.raw("GET", &path, Some(viewer), None, None).await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("pg_dump") || body.contains("PGPASSWORD"), "{path} still shows the rest: {body}");
        seen.push((path, body));
    }
    let sql = json!({ "sql": "SELECT payload, hex(payload) FROM approvals UNION ALL SELECT hex(summary), title FROM approvals, tasks \
        UNION ALL SELECT env, hex(output) FROM runs UNION ALL SELECT payload, 1 FROM events" });
    let (status, answer) = team.call("POST", "/api/v1/browse/sql", viewer, Some(sql)).await;
    assert_eq!(status, 200, "{answer}");
    seen.push(("the SQL box".into(), answer.to_string()));
    let console = sign_in_with(&team.app.url, viewer, None).await;
    for page in [
        format!("/console/approvals/{id}"),
        "/console/approvals?status=all".into(),
        "/console/audit".into(),
        format!("/console/tasks/{task}"),
        format!("/console/runs/{run_id}"),
        format!("/console/runs/{run_id}/live"),
        "/console/browse/tables/approvals?format=csv".into(),
    ] {
        let (status, html) = console.get(&page).await;
        assert_eq!(status, 200, "{page}");
        seen.push((page, html));
    }
    for (place, text) in seen {
        assert!(!text.contains("hunter2") && !text.contains("68756E74657232"), "a viewer saw it in {place}: {text}");
    }
}
