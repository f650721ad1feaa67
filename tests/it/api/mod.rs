//! The HTTP API driven over real HTTP against the real server.

mod alertmanager;
mod approval_flow;
mod browse;
mod fuzz;
mod malformed;
mod openapi;
mod overload;
mod quorum;
mod resources;
mod roles;
mod tokens;

use crate::support::TestApp;
use atlas_actors::domain::Role;
use serde_json::{json, Value};

/// A started app with one token per role.
pub struct Team {
    pub app: TestApp,
    pub admin: String,
    pub agent: String,
    pub approver: String,
    pub approver2: String,
    pub viewer: String,
}

impl Team {
    pub async fn new() -> Self {
        Self::with_app(TestApp::spawn().await).await
    }

    pub async fn with_app(app: TestApp) -> Self {
        let admin = app.admin_token();
        let agent = app.token("agent-bot", Role::Agent).await;
        let approver = app.token("alice", Role::Approver).await;
        let approver2 = app.token("bob", Role::Approver).await;
        let viewer = app.token("viewer", Role::Viewer).await;
        Self { app, admin, agent, approver, approver2, viewer }
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.app.call(method, path, Some(token), body).await
    }

    /// A project created directly by the admin; returns its id.
    pub async fn project(&self, name: &str) -> String {
        let (status, body) = self.call("POST", "/api/v1/projects", &self.admin, Some(json!({ "name": name }))).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Waits (bounded) for the task's newest run to finish and returns it.
    pub async fn finished_run(&self, task: &str) -> Value {
        self.finished_run_as(task, &self.viewer).await
    }

    /// The same, read with `token` (a viewer's copy is redacted).
    pub async fn finished_run_as(&self, task: &str, token: &str) -> Value {
        for _ in 0..500 {
            let (_, runs) = self.call("GET", &format!("/api/v1/runs?task_id={task}&limit=1"), token, None).await;
            let run = &runs["items"][0];
            if run.is_object() && !["queued", "running"].contains(&run["status"].as_str().unwrap_or("")) {
                return run.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no run of {task} finished within 10 s");
    }

    /// Runs `task` to its end as the admin asks (approved by an approver where the policy gates it).
    pub async fn run_to_end(&self, task: &str) -> Value {
        let (status, asked) = self.call("POST", &format!("/api/v1/tasks/{task}/run"), &self.admin, None).await;
        if status == 202 {
            let approve = format!("/api/v1/approvals/{}/approve", asked["id"].as_str().unwrap());
            assert_eq!(self.call("POST", &approve, &self.approver, None).await.0, 200);
        } else {
            assert_eq!(status, 201, "{asked}");
        }
        self.finished_run(task).await
    }

    /// A task created directly by the admin (ungated for admins); returns its id.
    /// Waits (bounded) until the run has started running.
    pub async fn until_running(&self, run: &str) {
        for _ in 0..500 {
            let (_, now) = self.call("GET", &format!("/api/v1/runs/{run}"), &self.viewer, None).await;
            if now["status"] == "running" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("run {run} never started running");
    }

    pub async fn task(&self, project: &str, title: &str, command: Option<Vec<&str>>) -> String {
        let body = json!({ "project_id": project, "title": title, "command": command });
        let (status, body) = self.call("POST", "/api/v1/tasks", &self.admin, Some(body)).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}
