//! `atlas-bench sinks [CONCURRENCY] [AGGREGATES] [EVENTS_EACH]`: the real `atlas serve` with one event sink
//! whose receiver answers each POST after 50 ms (a receiver across a network). AGGREGATES projects (100)
//! are made and renamed until each has EVENTS_EACH events (20): 2,000 events. Prints how long from the first
//! write until the receiver had every event, deliveries per second, the most in flight at once, and what
//! the receiver saw out of order per aggregate (must be 0) or twice. The last line is
//! `sinks: <events> events in <s> s`.

use super::http_bench::start_with;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Per aggregate, the last event id delivered.
    last: HashMap<String, i64>,
    delivered: usize,
    out_of_order: usize,
    repeated: usize,
    in_flight: usize,
    most_in_flight: usize,
}

async fn take(body: web::Bytes, seen: web::Data<Arc<Mutex<Seen>>>) -> HttpResponse {
    seen.lock()
        .map(|mut s| {
            s.in_flight += 1;
            s.most_in_flight = s.most_in_flight.max(s.in_flight);
        })
        .ok();
    tokio::time::sleep(LATENCY).await;
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let aggregate = event["event"]["aggregate_id"].as_str().unwrap_or_default().to_owned();
    let id = event["event"]["id"].as_i64().unwrap_or_default();
    if let Ok(mut s) = seen.lock() {
        s.in_flight -= 1;
        let last = s.last.get(&aggregate).copied().unwrap_or(0);
        if id == last {
            s.repeated += 1;
        } else {
            if id < last {
                s.out_of_order += 1;
            }
            s.last.insert(aggregate, id.max(last));
            s.delivered += 1;
        }
    }
    HttpResponse::Ok().finish()
}

/// The receiver on its own thread and actix system; answers its URL.
fn receiver(seen: Arc<Mutex<Seen>>) -> Result<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new().app_data(web::Data::new(seen.clone())).route("/hook", web::post().to(take))
            })
            .workers(1)
            .max_connections(1024)
            .bind(("127.0.0.1", 0));
            match server {
                Ok(server) => {
                    let _ = tx.send(Ok(format!("http://{}/hook", server.addrs()[0])));
                    let _ = server.run().await;
                }
                Err(err) => {
                    let _ = tx.send(Err(err.to_string()));
                }
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).map_err(|e| e.to_string())?
}

pub fn run(concurrency: u32, aggregates: usize, each: usize) -> Result<(), String> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let dir = crate::scratch_dir("sinks");
        let sink = format!(
            "[[sinks]]\nname = \"bench\"\nurl = \"{url}\"\nevents = [\"project.*\"]\n\
             secret = \"bench-secret-0123456789\"\nconcurrency = {concurrency}\n"
        );
        let server = start_with(&dir, &sink).await?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().map_err(|e| e.to_string())?;
        let call = |method: reqwest::Method, path: String, body: serde_json::Value| {
            client.request(method, format!("{}{path}", server.url)).bearer_auth(&server.token).json(&body).send()
        };
        let started = Instant::now();
        let mut projects = Vec::with_capacity(aggregates);
        let made = (0..aggregates).map(|i| {
            call(reqwest::Method::POST, "/api/v1/projects".into(), serde_json::json!({ "name": format!("p{i}") }))
        });
        for answer in futures_util::future::join_all(made).await {
            let project: serde_json::Value =
                answer.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
            projects.push(project["id"].as_str().ok_or_else(|| format!("no project id: {project}"))?.to_owned());
        }
        // Renames: every project once per round (in flight together), so each aggregate's events interleave.
        for round in 1..each {
            let renames = projects.iter().map(|id| {
                let body = serde_json::json!({ "name": format!("{id} v{round}") });
                call(reqwest::Method::PATCH, format!("/api/v1/projects/{id}"), body)
            });
            for answer in futures_util::future::join_all(renames).await {
                let status = answer.map_err(|e| e.to_string())?.status();
                if !status.is_success() {
                    return Err(format!("a rename answered {status}"));
                }
            }
        }
        let written = started.elapsed();
        let events = aggregates * each;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let delivered = seen.lock().map(|s| s.delivered).unwrap_or(0);
            if delivered >= events {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("only {delivered} of {events} delivered in 10 min"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = started.elapsed();
        let seen = seen.lock().map_err(|e| e.to_string())?;
        println!("receiver latency {} ms; sinks.concurrency = {concurrency}", LATENCY.as_millis());
        println!("{events} events over {aggregates} aggregates written in {:.1} s", written.as_secs_f64());
        println!(
            "delivered {} in {:.1} s from the first write ({:.0}/s); most in flight {}; out of order {}; repeated {}",
            seen.delivered,
            took.as_secs_f64(),
            seen.delivered as f64 / took.as_secs_f64(),
            seen.most_in_flight,
            seen.out_of_order,
            seen.repeated
        );
        println!("sinks: {events} events in {:.1} s", took.as_secs_f64());
        Ok(())
    })
}
