//! `atlas-bench http [TASKS]`: the real `atlas serve` (the binary beside this one, its own process) on a
//! scratch data directory, filled with TASKS tasks (default 100,000) in one project over HTTP; then list
//! pages (`GET /api/v1/tasks?project_id=…&limit=100`), single reads and creates at 1, 16 and 64 clients
//! over loopback HTTP with keep-alive, 3 s each: requests/s, p50/p99, non-2xx answers. The server's RSS is
//! read from /proc at each stage. The last line is `http list pages at 16 clients: <req/s> req/s`.
//! (Client and server share the machine's 2 cores: the figures are what one box does end to end.)
//!
//! `--compare-datasette` (when `datasette` is on PATH: `pip install datasette`) then serves a copy of the
//! same file with Datasette and alternates the two, level by level, on list pages (Datasette's table JSON
//! filtered by project, newest first, 100 rows, `_nocount=1` so it runs the page query only) and single
//! reads (its row JSON); it prints both sides, Atlas/Datasette, and Datasette's RSS. This runs right after
//! the fill, before Atlas's own table below (whose create runs change the data).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LEVELS: [usize; 3] = [1, 16, 64];
const RUN_FOR: Duration = Duration::from_secs(3);

pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    /// Empty for Datasette (no authentication).
    pub(crate) token: String,
    api: Api,
}

/// Whose HTTP interface a `Server` speaks.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    Atlas,
    Datasette,
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

impl Server {
    /// CPU time the server has used, in clock ticks (utime + stime from /proc/<pid>/stat).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        field(11) + field(12)
    }

    /// Waits until the server has used no CPU for 300 ms (it may still be answering requests its
    /// clients gave up on), at most 15 s, so the next run has the machine to itself.
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = self.cpu_ticks();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = self.cpu_ticks();
            if now == last {
                return;
            }
            last = now;
        }
    }
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

pub(crate) async fn start(dir: &Path) -> Result<Server, String> {
    start_with(dir, "").await
}

/// `start`, with `extra` TOML at the end of the config (tables such as `[[sinks]]`).
pub(crate) async fn start_with(dir: &Path, extra: &str) -> Result<Server, String> {
    let port = free_port()?;
    let config = dir.join("atlas.toml");
    let schedules = ["approval_expiry", "health_check", "sheets_sync", "sheets_export", "sheets_critical_export"]
        .iter()
        .chain(["backup", "backup_verify"].iter())
        .map(|job| format!("{job} = \"off\"\n"))
        .collect::<String>();
    let text = format!(
        "[http]\naddr = \"127.0.0.1:{port}\"\n[database]\npath = \"{}\"\n[backup]\ndir = \"{}\"\n[schedules]\n{schedules}{extra}",
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
            return Ok(Server { child, url, token: token.trim().to_owned(), api: Api::Atlas });
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
            let (token, project, api) = (server.token.clone(), project.to_owned(), server.api);
            tokio::spawn(async move {
                let (mut latencies, mut failed, mut i) = (Vec::new(), 0usize, c * 7919);
                while Instant::now() < deadline {
                    i += 1;
                    let request = match (api, kind) {
                        (Api::Atlas, Kind::List) => {
                            client.get(format!("{url}/api/v1/tasks?project_id={project}&limit=100"))
                        }
                        (Api::Atlas, Kind::Read) => client.get(format!("{url}/api/v1/tasks/{}", ids[i % ids.len()])),
                        (Api::Atlas, Kind::Create) => client
                            .post(format!("{url}/api/v1/tasks"))
                            .json(&serde_json::json!({ "project_id": project, "title": format!("bench {c}-{i}") })),
                        (Api::Datasette, Kind::List) => client.get(format!(
                            "{url}/atlas/tasks.json?project_id={project}&_sort_desc=created_at&_size=100&_nocount=1&_nofacet=1"
                        )),
                        (Api::Datasette, _) => client.get(format!("{url}/atlas/tasks/{}.json", ids[i % ids.len()])),
                    };
                    let request = if token.is_empty() { request } else { request.bearer_auth(&token) };
                    let sent = Instant::now();
                    let ok = match request.send().await {
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

pub(crate) async fn fill(server: &Server, tasks: usize) -> Result<(String, Vec<String>), String> {
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

/// Datasette on a copy of Atlas's database (copied with `sqlite3 .backup` while Atlas runs).
async fn start_datasette(dir: &Path) -> Result<Server, String> {
    let copy = dir.join("datasette/atlas.db");
    std::fs::create_dir_all(dir.join("datasette")).map_err(|e| e.to_string())?;
    let status = Command::new("sqlite3")
        .arg(dir.join("data/atlas.db"))
        .arg(format!(".backup {}", copy.display()))
        .status()
        .map_err(|e| format!("cannot run sqlite3 to copy the database: {e}"))?;
    if !status.success() {
        return Err("sqlite3 .backup failed".into());
    }
    let port = free_port()?;
    let child = Command::new("datasette")
        .arg("serve")
        .arg(&copy)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--setting", "suggest_facets", "off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start datasette: {e}"))?;
    let url = format!("http://127.0.0.1:{port}");
    let server = Server { child, url, token: String::new(), api: Api::Datasette };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client.get(format!("{}/-/versions.json", server.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("datasette did not start".into())
}

/// Atlas and Datasette alternated level by level on the same data.
async fn compare_datasette(atlas: &Server, dir: &Path, project: &str, ids: Arc<Vec<String>>) -> Result<(), String> {
    let datasette = start_datasette(dir).await?;
    println!("datasette RSS at ready: {}", datasette.rss());
    println!(
        "{:<8} {:>8} {:>12} {:>12} {:>12} {:>12} {:>9} {:>8}",
        "kind", "clients", "atlas req/s", "atlas p99", "ds req/s", "ds p99", "atlas/ds", "ds non-2xx"
    );
    for (kind, label) in [(Kind::List, "list"), (Kind::Read, "read")] {
        for clients in LEVELS {
            atlas.settle().await;
            let a = measure(atlas, project, ids.clone(), kind, clients).await;
            datasette.settle().await;
            let d = measure(&datasette, project, ids.clone(), kind, clients).await;
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{label:<8} {clients:>8} {:>12.0} {:>10.2}ms {:>12.0} {:>10.2}ms {:>9.1} {:>8}",
                a.per_second,
                ms(a.p99),
                d.per_second,
                ms(d.p99),
                a.per_second / d.per_second.max(0.001),
                d.failed
            );
        }
    }
    println!("datasette RSS after the runs: {}", datasette.rss());
    Ok(())
}

pub fn run(tasks: usize, datasette: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let dir = crate::scratch_dir("http");
        let server = start(&dir).await?;
        println!("server RSS at ready: {}", server.rss());
        let (project, ids) = fill(&server, tasks).await?;
        println!("server RSS after the fill: {}", server.rss());
        let ids = Arc::new(ids);
        // Side by side first, on the file as filled (the create runs below add tasks; both sides must
        // serve the same data).
        if datasette {
            if Command::new("datasette").arg("--version").output().is_ok_and(|o| o.status.success()) {
                compare_datasette(&server, &dir, &project, ids.clone()).await?;
                server.settle().await;
            } else {
                println!("datasette is not on PATH (pip install datasette): no side-by-side run");
            }
        }
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
