//! `atlas-bench console [TASKS]`: the real `atlas serve` filled with TASKS tasks (default 100,000) over
//! HTTP, 200 approvals waiting and a finished run; then, signed in to the console as an admin, 300
//! sequential requests of each page: the approvals queue (its first page, oldest first), a run's page, a
//! search for two words ("task 4242": a handful of tasks, every task holding one word), a search every
//! task matches ("task": 100,000 hits, the newest 50 shown), and the data browser's tasks table three
//! ways (as it opens, with its count and facets over the first 10,001 rows; filtered by
//! `title__contains`, which scans the table; sorted on `title`, which no index serves). Prints p50/p99
//! per page and the p99's ratio to the 50 ms goal. The last line is `console p99 worst: <ms> ms`.

use super::http_bench::{fill, start};
use std::time::{Duration, Instant};

const REQUESTS: usize = 300;
const GOAL: Duration = Duration::from_millis(50);

async fn signed_in(client: &reqwest::Client, url: &str, token: &str) -> Result<String, String> {
    let form = client.get(format!("{url}/console/login")).send().await.map_err(|e| e.to_string())?;
    let login = cookie(form.headers(), "atlas_login").ok_or("no sign-in cookie")?;
    let answer = client
        .post(format!("{url}/console/login"))
        .header("cookie", format!("atlas_login={login}"))
        .header("origin", url)
        .form(&[("csrf", login.as_str()), ("token", token)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let session = cookie(answer.headers(), "atlas_session")
        .ok_or_else(|| format!("no session cookie: sign-in answered {status}"))?;
    Ok(format!("atlas_session={session}"))
}

fn cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        let pair = line.split(';').next()?;
        pair.strip_prefix(&format!("{name}=")).filter(|v| !v.is_empty()).map(str::to_owned)
    })
}

async fn call(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let request = client.request(method, format!("{url}{path}")).bearer_auth(token);
    // No body at all where the call takes none (`null` is not an empty body).
    let request = if body.is_null() { request } else { request.json(&body) };
    let answer = request.send().await;
    answer.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())
}

/// `answer` as applied: an approval waiting for review is approved by `approver` first. Answers what
/// names the record (`item_id` for an approval, `id` copied to `item_id` otherwise).
async fn approved(
    client: &reqwest::Client,
    url: &str,
    approver: &str,
    answer: serde_json::Value,
) -> Result<serde_json::Value, String> {
    if answer["status"] == "pending" && answer["payload"].is_object() {
        let path = format!("/api/v1/approvals/{}/approve", answer["id"].as_str().unwrap_or_default());
        let decided = call(client, url, approver, "POST", &path, serde_json::Value::Null).await?;
        if decided["status"] != "approved" {
            return Err(format!("the approval was not approved: {decided}"));
        }
        return Ok(answer);
    }
    let mut answer = answer;
    answer["item_id"] = answer["id"].clone();
    Ok(answer)
}

pub fn run(tasks: usize) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let dir = crate::scratch_dir("console");
        let server = start(&dir).await?;
        let (project, _) = fill(&server, tasks).await?;
        let (url, admin) = (server.url.clone(), server.token.clone());
        // Redirects are the console's answers to read (a sign-in's 303 carries its cookie), not to follow.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let mut tokens = Vec::new();
        for (name, role) in [("bench-agent", "agent"), ("bench-approver", "approver")] {
            let made = call(
                &client,
                &url,
                &admin,
                "POST",
                "/api/v1/admin/tokens",
                serde_json::json!({ "name": name, "role": role }),
            )
            .await?;
            tokens.push(made["token"].as_str().ok_or_else(|| format!("no token: {made}"))?.to_owned());
        }
        for i in 0..200 {
            let body = serde_json::json!({ "project_id": project, "title": format!("waiting {i}") });
            call(&client, &url, &tokens[0], "POST", "/api/v1/tasks", body).await?;
        }
        // A task with a command, and one run of it (each through the approval gate where the policy says).
        let body = serde_json::json!({ "project_id": project, "title": "bench run", "command": ["echo", "benchmark"] });
        let made = call(&client, &url, &admin, "POST", "/api/v1/tasks", body).await?;
        let task = approved(&client, &url, &tokens[1], made).await?["item_id"].as_str().unwrap_or_default().to_owned();
        let asked =
            call(&client, &url, &admin, "POST", &format!("/api/v1/tasks/{task}/run"), serde_json::Value::Null).await?;
        approved(&client, &url, &tokens[1], asked.clone()).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let runs = call(&client, &url, &admin, "GET", &format!("/api/v1/runs?task_id={task}"), serde_json::Value::Null)
            .await?;
        let run = runs["items"][0]["id"]
            .as_str()
            .ok_or_else(|| format!("no run of {task}: {runs}; asked: {asked}"))?
            .to_owned();
        let session = signed_in(&client, &url, &admin).await?;
        println!("{:<28} {:>8} {:>10} {:>10} {:>12}", "page", "requests", "p50 ms", "p99 ms", "p99 / 50 ms");
        let mut worst = Duration::ZERO;
        for (label, path) in [
            ("approvals queue", "/console/approvals".to_owned()),
            ("run page", format!("/console/runs/{run}")),
            ("search \"task 4242\"", "/console/search?q=task+4242".to_owned()),
            ("search \"task\" (every task)", "/console/search?q=task".to_owned()),
            ("table tasks", "/console/browse/tables/tasks".to_owned()),
            ("table tasks title~4242", "/console/browse/tables/tasks?title__contains=4242".to_owned()),
            ("table tasks sort -title", "/console/browse/tables/tasks?sort=-title".to_owned()),
        ] {
            let mut latencies = Vec::with_capacity(REQUESTS);
            for _ in 0..REQUESTS {
                let sent = Instant::now();
                let answer = client
                    .get(format!("{url}{path}"))
                    .header("cookie", &session)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = answer.status();
                let _ = answer.bytes().await;
                latencies.push(sent.elapsed());
                if !status.is_success() {
                    return Err(format!("{path} answered {status}"));
                }
            }
            latencies.sort();
            let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{label:<28} {REQUESTS:>8} {:>10.2} {:>10.2} {:>12.2}",
                ms(at(0.5)),
                ms(at(0.99)),
                ms(at(0.99)) / ms(GOAL)
            );
            worst = worst.max(at(0.99));
        }
        println!("console p99 worst: {:.2} ms", worst.as_secs_f64() * 1000.0);
        Ok(())
    })
}
