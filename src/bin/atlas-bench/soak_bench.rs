//! `atlas-bench soak [RUNS]`: the real `atlas serve` (the binary beside this one) on its default
//! configuration, used as a busy team would for RUNS runs (default 3,000): 4 clients each create a task
//! whose command leaves a background child (`sh -c "echo hi; (sleep 0.1 &)"`), request its run as an
//! agent, approve it as an approver and wait for it to end, while a fifth client reads lists. Atlas's
//! zombie children, RSS, open descriptors, threads and database size are printed at the start and the end
//! (read from /proc), so a leak of any of them shows as a difference.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const LEAVES_A_CHILD: [&str; 3] = ["sh", "-c", "echo hi; (sleep 0.1 &)"];

struct Atlas {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Atlas {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Atlas {
    /// One line of the figures a leak would move.
    fn figures(&self) -> String {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_default()
        };
        let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
        let database: u64 = ["atlas.db", "atlas.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.join("data").join(f)).ok())
            .map(|m| m.len())
            .sum();
        format!(
            "zombies {}, RSS {}, descriptors {descriptors}, threads {}, database + WAL {:.1} MB",
            atlas_actors::runner::reap::zombie_children(pid).len(),
            field("VmRSS:"),
            field("Threads:"),
            database as f64 / 1e6
        )
    }
}

/// `atlas serve` in a scratch directory with no config file: the embedded defaults, the port from the
/// environment.
async fn start(dir: &Path) -> Result<Atlas, String> {
    let port = crate::http_bench::free_port()?;
    let binary: PathBuf = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("atlas");
    let child = Command::new(&binary)
        .current_dir(dir)
        .arg("serve")
        .env("ATLAS_HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} (build it first: cargo build --release): {e}", binary.display()))?;
    let atlas = Atlas { child, url: format!("http://127.0.0.1:{port}"), dir: dir.to_owned() };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/readyz", atlas.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(atlas);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("atlas serve did not become ready".into())
}

struct Api {
    client: reqwest::Client,
    url: String,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.client.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{path}: {status} {body}"));
        }
        Ok(body)
    }

    async fn token(&self, admin: &str, name: &str, role: &str) -> Result<String, String> {
        let made = self
            .call("POST", "/api/v1/admin/tokens", admin, Some(serde_json::json!({ "name": name, "role": role })))
            .await?;
        made["token"].as_str().map(str::to_owned).ok_or_else(|| format!("no token in {made}"))
    }
}

/// One run as a team makes it: the task, the agent's request, the approver's approval, the wait.
async fn one_run(api: &Api, admin: &str, agent: &str, approver: &str, project: &str, i: usize) -> Result<(), String> {
    let body = serde_json::json!({ "project_id": project, "title": format!("soak {i}"), "command": LEAVES_A_CHILD });
    let task = api.call("POST", "/api/v1/tasks", admin, Some(body)).await?;
    let task = task["id"].as_str().ok_or("no task id")?;
    let approval = api.call("POST", &format!("/api/v1/tasks/{task}/run"), agent, None).await?;
    let approval = approval["id"].as_str().ok_or("no approval id")?;
    api.call("POST", &format!("/api/v1/approvals/{approval}/approve"), approver, None).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = api.call("GET", &format!("/api/v1/runs?task_id={task}&limit=1"), admin, None).await?;
        let status = runs["items"][0]["status"].as_str().unwrap_or("queued").to_owned();
        if !["queued", "running"].contains(&status.as_str()) {
            return if status == "success" { Ok(()) } else { Err(format!("run of {task} ended {status}")) };
        }
        if Instant::now() > deadline {
            return Err(format!("the run of {task} did not end within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn soak(runs: usize) -> Result<(), String> {
    let dir = crate::scratch_dir("soak");
    let atlas = start(&dir).await?;
    let admin = std::fs::read_to_string(dir.join("data/admin.token")).map_err(|e| e.to_string())?.trim().to_owned();
    let api = Arc::new(Api { client: reqwest::Client::new(), url: atlas.url.clone() });
    let agent = api.token(&admin, "soak-agent", "agent").await?;
    let approver = api.token(&admin, "soak-approver", "approver").await?;
    let project = api.call("POST", "/api/v1/projects", &admin, Some(serde_json::json!({ "name": "soak" }))).await?;
    let project = project["id"].as_str().ok_or("no project id")?.to_owned();
    println!("soak start: {}", atlas.figures());
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (api, next, admin, agent, approver, project) =
                (api.clone(), next.clone(), admin.clone(), agent.clone(), approver.clone(), project.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= runs {
                        return Ok::<(), String>(());
                    }
                    one_run(&api, &admin, &agent, &approver, &project, i).await?;
                    if (i + 1) % 500 == 0 {
                        println!("  {} runs after {:.0} s", i + 1, started.elapsed().as_secs_f64());
                    }
                }
            })
        })
        .collect();
    let reading = {
        let (api, admin, next) = (api.clone(), admin.clone(), next.clone());
        tokio::spawn(async move {
            let mut reads = 0usize;
            while next.load(Ordering::Relaxed) < runs {
                for path in ["/api/v1/runs?limit=50", "/api/v1/approvals?limit=50", "/api/v1/tasks?limit=50"] {
                    if api.call("GET", path, &admin, None).await.is_ok() {
                        reads += 1;
                    }
                }
            }
            reads
        })
    };
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    let reads = reading.await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(1)).await; // the last run's children have ended
    println!(
        "soak end after {runs} runs, {reads} list reads in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        atlas.figures()
    );
    drop(atlas);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

pub fn run(runs: usize) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(soak(runs))
}
