//! The README's "First look", exactly as a newcomer runs it: the real `atlas serve` in an empty working
//! directory, no config file, no flags, the port from the environment only, so every default (relative
//! `data/atlas.db`, `backups`, the embedded schedules) is the one a user gets. And every scheduled job of
//! the default configuration fires, with intervals shortened through the same settings layer (env).

use crate::console::visitor::sign_in;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

/// `atlas serve` in `dir` with nothing but `ATLAS_HTTP__ADDR` (and `extra`) in its Atlas environment.
struct Newcomer {
    child: Child,
    url: String,
    http: reqwest::Client,
    admin: String,
}

impl Drop for Newcomer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Newcomer {
    async fn start(dir: &Path, extra: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(ATLAS);
        command.current_dir(dir).arg("serve");
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ATLAS_")) {
            command.env_remove(name);
        }
        let child = command
            .env("ATLAS_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let (url, http) = (format!("http://127.0.0.1:{port}"), reqwest::Client::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
                break;
            }
            assert!(Instant::now() < deadline, "atlas serve never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let admin = std::fs::read_to_string(dir.join("data/admin.token")).expect("data/admin.token").trim().to_owned();
        Self { child, url, http, admin }
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, name: &str, role: &str) -> String {
        let (status, made) =
            self.call("POST", "/api/v1/admin/tokens", &self.admin, Some(json!({ "name": name, "role": role }))).await;
        assert_eq!(status, 201, "{made}");
        made["token"].as_str().unwrap().to_owned()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "atlas did not stop within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[actix_rt::test]
async fn the_readme_s_first_look_works_in_an_empty_directory_with_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut atlas = Newcomer::start(dir.path(), &[]).await;
    assert!(dir.path().join("data/atlas.db").is_file(), "the default relative database path, under ./data");
    // The start-up log says where the console is, and the root leads there.
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(log.contains(&format!("{}/console/", atlas.url)), "the log names the console's address: {log}");
    let quiet = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let root = quiet.get(format!("{}/", atlas.url)).send().await.unwrap();
    assert_eq!(
        (root.status().as_u16(), root.headers().get("location").map(|l| l.to_str().unwrap())),
        (303, Some("/console/"))
    );

    let console = sign_in(&atlas.url, &atlas.admin).await;
    let agent = atlas.token("newcomer-agent", "agent").await;
    let (status, project) =
        atlas.call("POST", "/api/v1/projects", &atlas.admin, Some(json!({ "name": "first look" }))).await;
    assert_eq!(status, 201, "{project}");
    let body =
        json!({ "project_id": project["id"], "title": "say hello", "command": ["sh", "-c", "echo hello from atlas"] });
    let (status, gated) = atlas.call("POST", "/api/v1/tasks", &agent, Some(body)).await;
    assert_eq!(status, 202, "an agent's task waits for approval: {gated}");
    let approve = |id: &str| format!("/console/approvals/{id}/approve");
    let answer =
        console.submit(&approve(gated["id"].as_str().unwrap()), &[("csrf", &console.csrf), ("notes", "welcome")]).await;
    assert_eq!(answer.status, 303, "approved in the console: {}", answer.body);
    let task = gated["item_id"].as_str().unwrap();
    let (status, _) = atlas.call("GET", &format!("/api/v1/tasks/{task}"), &agent, None).await;
    assert_eq!(status, 200, "the approved task exists");

    let (status, run_request) = atlas.call("POST", &format!("/api/v1/tasks/{task}/run"), &agent, None).await;
    assert_eq!(status, 202, "{run_request}");
    let (_, canned) = console.get("/console/browse/sql?query=pending_approvals_by_age").await;
    assert!(canned.contains(run_request["id"].as_str().unwrap()), "the canned query lists the pending run: {canned}");
    let answer = console.submit(&approve(run_request["id"].as_str().unwrap()), &[("csrf", &console.csrf)]).await;
    assert_eq!(answer.status, 303);
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        let (_, runs) = atlas.call("GET", &format!("/api/v1/runs?task_id={task}"), &agent, None).await;
        let run = runs["items"][0].clone();
        if run["status"] == "success" {
            break run;
        }
        assert!(Instant::now() < deadline, "the approved run never succeeded: {runs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(run["output"].as_str().unwrap_or_default().contains("hello from atlas"), "{run}");

    let answer = console
        .submit_and_follow("/console/browse/sql", &[("csrf", &console.csrf), ("sql", "SELECT 40 + 2 AS answer")])
        .await;
    assert!(
        answer.status == 200 && answer.body.contains("42") && !answer.body.contains("unable to open"),
        "the SQL box answers on the README's relative database path: {} {}",
        answer.status,
        answer.body
    );
    let (status, sql) = atlas
        .call("POST", "/api/v1/browse/sql", &atlas.admin, Some(json!({ "sql": "SELECT count(*) AS runs FROM runs" })))
        .await;
    assert_eq!(status, 200, "{sql}");

    let (status, backup) = atlas.call("POST", "/api/v1/admin/backups", &atlas.admin, None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap();
    assert!(dir.path().join("backups").read_dir().unwrap().count() > 0, "under ./backups");
    let (status, verified) =
        atlas.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), &atlas.admin, None).await;
    assert_eq!((status, verified["verified_ok"].as_bool()), (200, Some(true)), "{verified}");

    let status = atlas.terminate();
    assert_eq!(status.code(), Some(0), "a clean stop on SIGTERM: {status:?}");
}

/// Every job the default configuration schedules fires by itself (intervals shortened through the
/// environment, the same settings layer a user has), and on the default configuration (no expiry) the
/// approval sweep still closes an approval that can never apply.
#[actix_rt::test]
async fn every_default_job_fires_and_the_sweep_closes_superseded_approvals_on_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = atlas::settings::Settings::default().schedules;
    let jobs: Vec<&String> = defaults.iter().filter(|(_, every)| every.as_str() != "off").map(|(job, _)| job).collect();
    assert!(jobs.len() >= 8, "the default schedules: {defaults:?}");
    let variables: Vec<(String, String)> =
        jobs.iter().map(|job| (format!("ATLAS_SCHEDULES__{}", job.to_uppercase()), "2s".to_owned())).collect();
    let env: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut atlas = Newcomer::start(dir.path(), &env).await;

    let agent = atlas.token("sweep-agent", "agent").await;
    let (_, project) = atlas.call("POST", "/api/v1/projects", &atlas.admin, Some(json!({ "name": "p" }))).await;
    let body = json!({ "project_id": project["id"], "title": "before" });
    let (_, task) = atlas.call("POST", "/api/v1/tasks", &atlas.admin, Some(body)).await;
    let task = task["id"].as_str().unwrap();
    let (status, stale) =
        atlas.call("PATCH", &format!("/api/v1/tasks/{task}"), &agent, Some(json!({ "title": "by the agent" }))).await;
    assert_eq!(status, 202, "{stale}");
    let (status, _) =
        atlas.call("PATCH", &format!("/api/v1/tasks/{task}"), &atlas.admin, Some(json!({ "title": "moved on" }))).await;
    assert_eq!(status, 200, "the task changed under the pending update");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, listed) = atlas.call("GET", "/api/v1/admin/schedules", &atlas.admin, None).await;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        let silent: Vec<String> = items
            .iter()
            .filter(|j| j["last_outcome"] != "success")
            .map(|j| format!("{} ({})", j["job"], j["last_outcome"]))
            .collect();
        let (_, approval) =
            atlas.call("GET", &format!("/api/v1/approvals/{}", stale["id"].as_str().unwrap()), &agent, None).await;
        if silent.is_empty() && items.len() == jobs.len() && approval["status"] == "superseded" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "within 60 s: jobs that never succeeded {silent:?}; the stale approval is {}",
            approval["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(atlas.terminate().code(), Some(0));
}
