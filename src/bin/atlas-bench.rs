//! `atlas-bench writer`: how close the single writer comes to plain SQLite.
//!
//! (a) The raw ceiling: plain rusqlite inserting the same project rows and event rows in one transaction.
//! (b) The same commands through the WriterActor at 1, 16, 64 and 256 concurrent submitters: throughput,
//!     p50/p99 commit latency (submit to acknowledged-after-COMMIT) and average batch size.
//! The last line is `writer/raw at 256 submitters: <ratio>`. Figures go into BENCHMARKS.md.
//!
//! `atlas-bench capture [ROUNDS]`: the writer with point-in-time change capture off and on, alternated, at
//! 1, 16 and 256 submitters (the goal: capture costs under 15 %).
//! `atlas-bench pitr [COMMANDS]` and `atlas-bench pitr-lag [SECONDS]`: restore time for COMMANDS commands
//! of changesets, and the shipping lag at the default interval (see `atlas-bench/pitr_bench.rs`).
//! `atlas-bench runner`: approval commit to process start, p50/p99 over 300 execute approvals.
//! `atlas-bench backup [MB]`: an Atlas backup against `sqlite3 .backup`, and writer latency meanwhile.
//! `atlas-bench restore-wait [MB]`: what writers meet while an online restore to `latest` replaces MB.
//! `atlas-bench sheets-memory [ROWS]`: the memory a Sheets grid read of ROWS junk rows costs, lean vs typed.
//! `atlas-bench http [TASKS] [--compare-datasette]`: the real `atlas serve` over loopback HTTP: list pages, reads,
//! creates; side by side with Datasette on a copy of the same file when asked.
//! `atlas-bench sinks [CONCURRENCY] [AGGREGATES] [EVENTS_EACH]`: event-sink deliveries to a 50 ms receiver.
//! `atlas-bench soak [RUNS]`: the real `atlas serve` on its defaults through RUNS approved runs that each
//! leave a background child: zombies, RSS, descriptors, threads and database size at start and end.
//!
//! This program opens its own scratch databases; the raw ceiling is the one read-write open outside
//! `store/writer/mod.rs`, allowed by the invariant test because it never touches Atlas's database.

use atlas_actors::domain::{format_timestamp, Actor, Command, NewProject, ProjectId, SystemClock};
use atlas_actors::store::config::Synchronous;
use atlas_actors::store::{migrate, StoreConfig};
use atlas_actors::SupervisorConfig;
#[path = "atlas-bench/backup_bench.rs"]
mod backup_bench;
#[path = "atlas-bench/console_bench.rs"]
mod console_bench;
#[path = "atlas-bench/http_bench.rs"]
mod http_bench;
#[path = "atlas-bench/pitr_bench.rs"]
mod pitr_bench;
#[path = "atlas-bench/restore_wait_bench.rs"]
mod restore_wait_bench;
#[path = "atlas-bench/runner_bench.rs"]
mod runner_bench;
#[path = "atlas-bench/sheets_memory_bench.rs"]
mod sheets_memory_bench;
#[path = "atlas-bench/sinks_bench.rs"]
mod sinks_bench;
#[path = "atlas-bench/soak_bench.rs"]
mod soak_bench;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RAW_COMMANDS: usize = 200_000;
const LEVELS: [usize; 4] = [1, 16, 64, 256];
const RUN_FOR: Duration = Duration::from_secs(3);

fn command(i: usize) -> Command {
    Command::CreateProject(NewProject {
        id: ProjectId::generate(),
        name: format!("bench project {i}"),
        description: None,
    })
}

pub(crate) fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("atlas-bench-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// (a) Commands per second for plain rusqlite: one transaction, a project row and an event row each.
#[allow(clippy::disallowed_methods)] // the raw baseline opens its own scratch file, as plain rusqlite does
fn raw_ceiling(dir: &Path, synchronous: Synchronous) -> rusqlite::Result<f64> {
    let conn = rusqlite::Connection::open(dir.join("raw.db"))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;",
        synchronous.pragma_value()
    ))?;
    for migration in migrate::embedded() {
        conn.execute_batch(migration.sql)?;
    }
    let commands: Vec<Command> = (0..RAW_COMMANDS).map(command).collect();
    let started = Instant::now();
    let now = format_timestamp(chrono::Utc::now());
    let tx = conn.unchecked_transaction()?;
    {
        let mut project = tx.prepare(
            "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        let mut event = tx.prepare("INSERT INTO events (type, aggregate_type, aggregate_id, actor, payload, created_at) VALUES (?1, 'project', ?2, 'bench', ?3, ?4)")?;
        for cmd in &commands {
            let Command::CreateProject(new) = cmd else { unreachable!("only projects are generated") };
            project.execute(rusqlite::params![new.id.as_str(), new.name, new.description, now])?;
            let payload = serde_json::to_string(cmd).expect("command serializes");
            event.execute(rusqlite::params![cmd.event_type(), new.id.as_str(), payload, now])?;
        }
    }
    tx.commit()?;
    Ok(RAW_COMMANDS as f64 / started.elapsed().as_secs_f64())
}

struct LevelResult {
    submitters: usize,
    commands: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    avg_batch: f64,
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(sorted.get(index).copied().unwrap_or(0).into())
}

/// (b) One level: `submitters` tasks submit commands back to back for `RUN_FOR`.
async fn writer_level(
    dir: &Path,
    submitters: usize,
    synchronous: Synchronous,
    checkpoint_every: Duration,
    capture_changes: bool,
) -> Result<LevelResult, String> {
    let at = StoreConfig::at(dir.join(format!("writer-{submitters}.db")));
    let store = StoreConfig { synchronous, checkpoint_every, capture_changes, ..at };
    let config = SupervisorConfig::new(store);
    let handles = atlas_actors::start(config, Arc::new(SystemClock)).await?;
    let started = Instant::now();
    let deadline = started + RUN_FOR;
    let tasks: Vec<_> = (0..submitters)
        .map(|s| {
            let writer = handles.writer.clone();
            actix::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = s * 10_000_000;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    writer.submit(command(i), Actor::new("bench")).await.map_err(|e| e.to_string())?;
                    latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    i += 1;
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    let stats = handles.writer.stats();
    let avg_batch = stats.commands.load(Ordering::Relaxed) as f64 / stats.batches.load(Ordering::Relaxed).max(1) as f64;
    handles.shutdown().await?;
    latencies.sort_unstable();
    Ok(LevelResult {
        submitters,
        commands: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        avg_batch,
    })
}

/// `synchronous`: the writer's setting to measure (`full`, the default, or `normal`). `checkpoint_every`:
/// the background checkpointer's interval (the default), or zero for SQLite's checkpoints in the commit.
fn run_writer_benchmark(synchronous: Synchronous, checkpoint_every: Duration) -> Result<(), String> {
    let dir = scratch_dir("writer");
    println!("synchronous = {}", synchronous.pragma_value());
    if checkpoint_every.is_zero() {
        println!("checkpoints: SQLite's, inside the commit that crosses 1,000 WAL pages");
    } else {
        println!("checkpoints: background PASSIVE every {checkpoint_every:?}");
    }
    let raw = raw_ceiling(&dir, synchronous).map_err(|e| format!("raw ceiling: {e}"))?;
    println!(
        "raw ceiling (plain rusqlite, {RAW_COMMANDS} project + event rows in one transaction): {raw:.0} commands/s"
    );
    let results = actix::System::new().block_on(async {
        let mut results = Vec::new();
        for submitters in LEVELS {
            results.push(writer_level(&dir, submitters, synchronous, checkpoint_every, false).await?);
        }
        Ok::<_, String>(results)
    })?;
    println!(
        "{:>10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>9}",
        "submitters", "commands", "commands/s", "p50", "p99", "avg batch", "of raw"
    );
    for r in &results {
        println!(
            "{:>10} {:>10} {:>12.0} {:>10.2?} {:>10.2?} {:>10.1} {:>9.3}",
            r.submitters,
            r.commands,
            r.per_second,
            r.p50,
            r.p99,
            r.avg_batch,
            r.per_second / raw
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let at_256 = results.iter().find(|r| r.submitters == 256).map_or(0.0, |r| r.per_second / raw);
    println!("writer/raw at 256 submitters: {at_256:.3}");
    Ok(())
}

/// One side of a comparison: its name, the checkpoint interval and whether changes are captured.
type Side = (&'static str, Duration, bool);

/// `atlas-bench writer full compare`: SQLite's checkpoints in the commit against the background
/// checkpointer; `atlas-bench capture`: point-in-time capture off against on. Sides alternate round by
/// round (this machine's fsync times drift by 2-5x within minutes, so only back-to-back pairs compare);
/// medians of each side, and the second side's rate and p99 as ratios of the first's.
fn compare(synchronous: Synchronous, rounds: usize, sides: [Side; 2], levels: &[usize]) -> Result<(), String> {
    let dir = scratch_dir("writer-compare");
    let mut p99 = vec![vec![Vec::new(); levels.len()]; sides.len()];
    let mut rate = vec![vec![Vec::new(); levels.len()]; sides.len()];
    actix::System::new().block_on(async {
        for round in 0..rounds {
            for (side, (name, every, capture)) in sides.iter().enumerate() {
                for (level, submitters) in levels.iter().enumerate() {
                    let _ = std::process::Command::new("sync").status();
                    let r = writer_level(&dir, *submitters, synchronous, *every, *capture).await?;
                    println!(
                        "round {} {name:>10} {submitters:>4} submitters: {:>6.0}/s p99 {:.2?}",
                        round + 1,
                        r.per_second,
                        r.p99
                    );
                    p99[side][level].push(r.p99);
                    rate[side][level].push(r.per_second);
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
        Ok::<_, String>(())
    })?;
    let ((a, _, _), (b, _, _)) = (sides[0], sides[1]);
    println!("medians over {rounds} rounds (synchronous = {}):", synchronous.pragma_value());
    for (level, submitters) in levels.iter().enumerate() {
        let median = |side: usize| {
            let mut d = p99[side][level].clone();
            d.sort_unstable();
            let mut r = rate[side][level].clone();
            r.sort_by(f64::total_cmp);
            (d[d.len() / 2], r[r.len() / 2])
        };
        let ((p_a, r_a), (p_b, r_b)) = (median(0), median(1));
        println!(
            "{submitters:>4} submitters: {a} p99 {p_a:.2?} {r_a:.0}/s, {b} p99 {p_b:.2?} {r_b:.0}/s; {b}/{a}: rate {:.2}, p99 {:.2}",
            r_b / r_a.max(1e-9),
            p_b.as_secs_f64() / p_a.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = match std::env::args().nth(1).as_deref() {
        Some("capture") => {
            let rounds = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(3);
            let every = StoreConfig::at("").checkpoint_every;
            compare(Synchronous::Full, rounds, [("off", every, false), ("capture", every, true)], &[1, 16, 256])
        }
        Some("writer") => {
            let checkpoint_every = match std::env::args().nth(3).as_deref() {
                Some("compare") => Ok(Duration::MAX),
                None | Some("background") => Ok(StoreConfig::at("").checkpoint_every),
                Some("in-commit") => Ok(Duration::ZERO),
                Some(ms) if ms.parse::<u64>().is_ok_and(|ms| ms > 0) => {
                    Ok(Duration::from_millis(ms.parse().unwrap_or(1)))
                }
                Some(other) => {
                    Err(format!("checkpoints must be background, in-commit or an interval in ms, got {other:?}"))
                }
            };
            let synchronous = match std::env::args().nth(2).as_deref() {
                None | Some("full") => Ok(Synchronous::Full),
                Some("normal") => Ok(Synchronous::Normal),
                Some(other) => Err(format!("synchronous must be full or normal, got {other:?}")),
            };
            synchronous.and_then(|s| {
                checkpoint_every.and_then(|every| match every {
                    Duration::MAX => {
                        let background = StoreConfig::at("").checkpoint_every;
                        compare(
                            s,
                            5,
                            [("in-commit", Duration::ZERO, false), ("background", background, false)],
                            &[1, 64, 256],
                        )
                    }
                    every => run_writer_benchmark(s, every),
                })
            })
        }
        Some("runner") => runner_bench::run(),
        Some("pitr") => {
            let commands = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            actix::System::new().block_on(pitr_bench::restore(commands))
        }
        Some("pitr-lag") => {
            let seconds = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(60);
            actix::System::new().block_on(pitr_bench::lag(seconds))
        }
        Some("restore-wait") => {
            let megabytes = std::env::args().nth(2).and_then(|mb| mb.parse().ok()).unwrap_or(1024);
            actix::System::new().block_on(restore_wait_bench::run(megabytes))
        }
        Some("sheets-memory") => {
            sheets_memory_bench::run(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(10_000))
        }
        Some("sheets-memory-child") => sheets_memory_bench::child(
            &std::env::args().nth(2).unwrap_or_default(),
            &std::env::args().nth(3).unwrap_or_default(),
        ),
        Some("http") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let tasks = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
            http_bench::run(tasks, args.iter().any(|a| a == "--compare-datasette"))
        }
        Some("console") => console_bench::run(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(100_000)),
        Some("sinks") => {
            let arg =
                |n: usize, default: usize| std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default);
            sinks_bench::run(arg(2, 32) as u32, arg(3, 100), arg(4, 20))
        }
        Some("soak") => soak_bench::run(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(3_000)),
        Some("backup") => backup_bench::run(std::env::args().nth(2).and_then(|mb| mb.parse().ok()).unwrap_or(1024)),
        other => {
            eprintln!(
                "atlas-bench: unknown benchmark {other:?}; usage: atlas-bench writer [full|normal] [background|in-commit|MS|compare] | capture [ROUNDS] | pitr [COMMANDS] | pitr-lag [SECONDS] | restore-wait [MB] | sheets-memory [ROWS] | runner | backup [MB] | http [TASKS] [--compare-datasette] | console [TASKS] | sinks [CONCURRENCY] [AGGREGATES] [EVENTS_EACH] | soak [RUNS]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("atlas-bench: {err}");
            ExitCode::from(1)
        }
    }
}
