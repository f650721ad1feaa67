//! `atlas-bench backup [MB]`: an Atlas backup of a database of about MB megabytes (default 1024) against
//! `sqlite3 SRC ".backup DST"` (the design documents' script), and the writer's commit latency while the
//! Atlas backup runs, against the same load without a backup.

use atlas_actors::backup::file::{self, BackupOptions};
use atlas_actors::domain::{Actor, Command, NewProject, ProjectId, SystemClock};
use atlas_actors::store::StoreConfig;
use atlas_actors::{Handles, SupervisorConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) fn project(i: usize) -> Command {
    // About 3 KB per command once the event (command + record) is counted.
    let description = format!("{i:08} ").repeat(110);
    Command::CreateProject(NewProject {
        id: ProjectId::generate(),
        name: format!("bench {i}"),
        description: Some(description),
    })
}

pub(crate) async fn fill(handles: &Handles, path: &std::path::Path, megabytes: u64) -> Result<(), String> {
    let target = megabytes * 1024 * 1024;
    let mut i = 0;
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0)
        < target
    {
        let tasks: Vec<_> = (0..2000)
            .map(|k| {
                let writer = handles.writer.clone();
                actix::spawn(async move { writer.submit(project(i + k), Actor::new("bench")).await })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        }
        i += 2000;
    }
    handles
        .writer
        .maintain(atlas_actors::store::Maintenance::Checkpoint, atlas_actors::domain::Actor::system())
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Commit latencies of 16 submitters until `stop` is set.
async fn load(handles: &Handles, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let tasks: Vec<_> = (0..16)
        .map(|s| {
            let (writer, stop) = (handles.writer.clone(), stop.clone());
            actix::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 10_000_000 * (s + 1);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let small = Command::CreateProject(NewProject {
                        id: ProjectId::generate(),
                        name: format!("load {i}"),
                        description: None,
                    });
                    if writer.submit(small, Actor::new("bench")).await.is_ok() {
                        latencies.push(sent.elapsed());
                    }
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_default());
    }
    all.sort_unstable();
    all
}

fn p(sorted: &[Duration], q: f64) -> Duration {
    sorted.get(((sorted.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default()
}

/// `sync(1)`: so that no copy pays for writeback it did not cause.
fn flush_dirty_pages() -> Result<(), String> {
    std::process::Command::new("sync").status().map(|_| ()).map_err(|e| format!("cannot run sync: {e}"))
}

pub fn run(megabytes: u64) -> Result<(), String> {
    let dir = super::scratch_dir("backup");
    let db = dir.join("atlas.db");
    actix::System::new().block_on(async {
        let handles = atlas_actors::start(SupervisorConfig::new(StoreConfig::at(&db)), Arc::new(SystemClock)).await?;
        let started = Instant::now();
        fill(&handles, &db, megabytes).await?;
        let size = std::fs::metadata(&db).map_err(|e| e.to_string())?.len();
        println!("database: {:.0} MB, filled in {:.1?}", size as f64 / 1048576.0, started.elapsed());

        let stop = Arc::new(AtomicBool::new(false));
        let quiet = {
            let stopper = stop.clone();
            actix::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                stopper.store(true, Ordering::Relaxed);
            });
            load(&handles, stop).await
        };
        println!("writer under load, no backup: {} commits, p50 {:.2?} p99 {:.2?}", quiet.len(), p(&quiet, 0.5), p(&quiet, 0.99));
        handles.writer.maintain(atlas_actors::store::Maintenance::Checkpoint, atlas_actors::domain::Actor::system()).await.map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&db).map_err(|e| e.to_string())?.len();

        // Same database, no writes: sqlite3's script against Atlas's backup (uncompressed), alternated three
        // times, each after the kernel has written back every dirty page (the fill's writeback otherwise
        // lands on whichever copy runs first), compared by their medians.
        let (mut sqlite_times, mut atlas_times) = (Vec::new(), Vec::new());
        for round in 0..3 {
            let sqlite_dst = dir.join(format!("sqlite3-backup-{round}.db"));
            flush_dirty_pages()?;
            let t = Instant::now();
            let status = std::process::Command::new("sqlite3")
                .arg(&db)
                .arg(format!(".backup {}", sqlite_dst.display()))
                .status()
                .map_err(|e| format!("cannot run sqlite3: {e}"))?;
            sqlite_times.push(t.elapsed());
            if !status.success() {
                return Err("sqlite3 .backup failed".into());
            }
            let _ = std::fs::remove_file(&sqlite_dst);
            flush_dirty_pages()?;
            let (source, target) = (db.clone(), dir.join(format!("atlas-idle-{round}")));
            let idle = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let options = BackupOptions { compress: false, ..BackupOptions::default() };
                let made = file::create(&source, &target, &options, chrono::Utc::now()).map(|_| t.elapsed());
                let _ = std::fs::remove_dir_all(&target);
                made
            })
            .await
            .map_err(|e| e.to_string())??;
            atlas_times.push(idle);
            println!("idle writer, round {}: sqlite3 .backup {:.2?}, atlas backup {idle:.2?}", round + 1, sqlite_times[round]);
        }
        sqlite_times.sort_unstable();
        atlas_times.sort_unstable();
        let defaults = BackupOptions::default();
        println!(
            "idle writer, {:.0} MB, medians: sqlite3 .backup {:.2?}, atlas backup {:.2?} ({}, then row counts, fsync and BLAKE3)",
            size as f64 / 1048576.0,
            sqlite_times[1],
            atlas_times[1],
            if defaults.pause_between_steps.is_zero() { "VACUUM INTO".to_owned() } else { format!("paced page copy, {} pages a step", defaults.pages_per_step) }
        );
        let ratio = atlas_times[1].as_secs_f64() / sqlite_times[1].as_secs_f64();

        for compress in [false, true] {
            let stop = Arc::new(AtomicBool::new(false));
            let (source, target, stopper) = (db.clone(), dir.join(format!("atlas-{compress}")), stop.clone());
            let backup = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let options = BackupOptions { compress, ..BackupOptions::default() };
                let made = file::create(&source, &target, &options, chrono::Utc::now());
                stopper.store(true, Ordering::Relaxed);
                made.map(|m| (t.elapsed(), m.size_bytes))
            });
            let during = load(&handles, stop).await;
            let (took, bytes) = backup.await.map_err(|e| e.to_string())??;
            println!(
                "atlas backup (compress={compress}) under write load: {took:.2?}, {:.0} MB; writer meanwhile: {} commits, p50 {:.2?} p99 {:.2?}",
                bytes as f64 / 1048576.0,
                during.len(),
                p(&during, 0.5),
                p(&during, 0.99)
            );
        }
        handles.shutdown().await?;
        Ok::<f64, String>(ratio)
    })
    .map(|ratio| {
        let _ = std::fs::remove_dir_all(&dir);
        println!("backup/sqlite3: {ratio:.2}");
    })
}
