//! `atlas-bench http [TASKS]`: the real `atlas serve` (the binary beside this one, its own process) on a
//! scratch data directory, filled with TASKS tasks (default 100,000) in one project over HTTP; then list
//! pages (`GET /api/v1/tasks?project_id=…&limit=100`), single reads and creates at 1, 16 and 64 clients
//! over loopback HTTP with keep-alive, 3 s each: requests/s, p50/p99, non-2xx answers. The server's RSS is
//! read from /proc at each stage. The last line is `http list pages at 16 clients: <req/s> req/s`.
//! (Client and server share the machine's 2 cores: the figures are what one box does end to end.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LEVELS: [usize; 3] = [1, 16, 64];
const RUN_FOR: Duration = Duration::from_secs(3);

struct Server {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's resident memory, and how much of it is heap (anonymous) and mapped files.
    fn rss(&self) -> String {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        format!(
            "{:.1} MB (anonymous {:.1}, files {:.1}, shared memory {:.1})",
            field("VmRSS:"),
            field("RssAnon:"),
            field("RssFile:"),
            field("RssShmem:")
        )
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

async fn start(dir: &Path) -> Result<Server, String> {
    let port = free_port()?;
    let config = dir.join("atlas.toml");
    let schedules = ["approval_expiry", "health_check", "sheets_sync", "sheets_export", "sheets_critical_export"]
        .iter()
        .chain(["backup", "backup_verify"].iter())
        .map(|job| format!("{job} = \"off\"\n"))
        .collect::<String>();
    let text = format!(
        "[http]\naddr = \"127.0.0.1:{port}\"\n[database]\npath = \"{}\"\n[backup]\ndir = \"{}\"\n[schedules]\n{schedules}",
        dir.join("data/atlas.db").display(),
        dir.join("backups").display()
    );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let binary: PathBuf = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("atlas");
    let child = Command::new(&binary)
        .args(["--config", config.to_str().unwrap_or_default(), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} (build it first: cargo build --release): {e}", binary.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            let token = std::fs::read_to_string(dir.join("data/admin.token")).map_err(|e| e.to_string())?;
            return Ok(Server { child, url, token: token.trim().to_owned() });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("atlas serve did not become ready".into())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Read,
    Create,
}

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

/// `clients` loops for `RUN_FOR`, each sending `kind` requests back to back on a shared keep-alive pool.
async fn measure(server: &Server, project: &str, ids: Arc<Vec<String>>, kind: Kind, clients: usize) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("an HTTP client");
    let deadline = Instant::now() + RUN_FOR;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, ids, url) = (client.clone(), ids.clone(), server.url.clone());
            let (token, project) = (server.token.clone(), project.to_owned());
            tokio::spawn(async move {
                let (mut latencies, mut failed, mut i) = (Vec::new(), 0usize, c * 7919);
                while Instant::now() < deadline {
                    i += 1;
                    let request = match kind {
                        Kind::List => client.get(format!("{url}/api/v1/tasks?project_id={project}&limit=100")),
                        Kind::Read => client.get(format!("{url}/api/v1/tasks/{}", ids[i % ids.len()])),
                        Kind::Create => client
                            .post(format!("{url}/api/v1/tasks"))
                            .json(&serde_json::json!({ "project_id": project, "title": format!("bench {c}-{i}") })),
                    };
                    let sent = Instant::now();
                    let ok = match request.bearer_auth(&token).send().await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            let _ = response.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    latencies.push(sent.elapsed());
                    failed += usize::from(!ok);
                }
                (latencies, failed)
            })
        })
        .collect();
    let (mut all, mut failed) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, errors) = task.await.expect("a client task");
        all.extend(latencies);
        failed += errors;
    }
    all.sort();
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
    Figures {
        per_second: all.len() as f64 / RUN_FOR.as_secs_f64(),
        p50: at(0.50).unwrap_or_default(),
        p99: at(0.99).unwrap_or_default(),
        failed,
    }
}

async fn fill(server: &Server, tasks: usize) -> Result<(String, Vec<String>), String> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().map_err(|e| e.to_string())?;
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{}{path}", server.url)).bearer_auth(&server.token).json(&body).send()
    };
    let project: serde_json::Value = post("/api/v1/projects", serde_json::json!({ "name": "bench" }))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let project = project["id"].as_str().ok_or("no project id")?.to_owned();
    let mut ids = Vec::with_capacity(tasks);
    let started = Instant::now();
    // 64 requests in flight at a time, as 64 clients would send them.
    for chunk in (0..tasks).collect::<Vec<_>>().chunks(64) {
        let sends = chunk.iter().map(|i| {
            let body = serde_json::json!({ "project_id": project, "title": format!("task {i}") });
            post("/api/v1/tasks", body)
        });
        for sent in futures_util::future::join_all(sends).await {
            let task: serde_json::Value = sent.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
            ids.push(task["id"].as_str().ok_or_else(|| format!("no task id: {task}"))?.to_owned());
        }
    }
    println!(
        "filled {tasks} tasks in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        tasks as f64 / started.elapsed().as_secs_f64()
    );
    Ok((project, ids))
}

pub fn run(tasks: usize) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let dir = crate::scratch_dir("http");
        let server = start(&dir).await?;
        println!("server RSS at ready: {}", server.rss());
        let (project, ids) = fill(&server, tasks).await?;
        println!("server RSS after the fill: {}", server.rss());
        let ids = Arc::new(ids);
        let mut list_at_16 = 0.0;
        println!("{:<8} {:>8} {:>10} {:>10} {:>10} {:>8}", "kind", "clients", "req/s", "p50 ms", "p99 ms", "non-2xx");
        for (kind, label) in [(Kind::List, "list"), (Kind::Read, "read"), (Kind::Create, "create")] {
            for clients in LEVELS {
                let f = measure(&server, &project, ids.clone(), kind, clients).await;
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "{label:<8} {clients:>8} {:>10.0} {:>10.2} {:>10.2} {:>8}",
                    f.per_second,
                    ms(f.p50),
                    ms(f.p99),
                    f.failed
                );
                if kind == Kind::List && clients == 16 {
                    list_at_16 = f.per_second;
                }
            }
            println!("server RSS after the {label} runs: {}", server.rss());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        println!("server RSS 5 s after the load: {}", server.rss());
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
        println!("http list pages at 16 clients: {list_at_16:.0} req/s");
        Ok(())
    })
}
