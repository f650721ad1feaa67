//! `atlas-bench restore-wait [MB]`: what writers meet while an online point-in-time restore to `latest`
//! replaces a database of about MB megabytes (default 1024), with the real shipper against moto's S3
//! server. Four writers submit small commands without pause; each one is either acknowledged (and how long
//! it waited is noted) or refused as `restoring` (the 503 a client retries). Afterwards every acknowledged
//! command is looked up in the restored database.

use atlas_actors::backup::{BackupAnswer, BackupRequest};
use atlas_actors::domain::{Actor, Command, CommandError, NewProject, ProjectId, SystemClock};
use atlas_actors::pitr::{PitrConfig, Target};
use atlas_actors::store::StoreConfig;
use atlas_actors::SupervisorConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one write met.
enum Met {
    Acknowledged { id: String, waited: Duration },
    Refused,
}

pub async fn run(megabytes: u64) -> Result<(), String> {
    let (_moto, endpoint) = crate::pitr_bench::moto("atlas-bench").await?;
    let dir = crate::scratch_dir("restore-wait");
    let path = dir.join("data/atlas.db");
    // Filled without capture (a 1 GB outbox would only slow the fill), then served with [pitr] on.
    let mut plain = SupervisorConfig::new(StoreConfig::at(&path));
    plain.backup.dir = dir.join("backups");
    let filling = Instant::now();
    let handles = atlas_actors::start(plain, Arc::new(SystemClock)).await?;
    crate::backup_bench::fill(&handles, &path, megabytes).await?;
    handles.shutdown().await?;
    let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
    println!("database {:.0} MB, filled in {:.1} s", size as f64 / 1048576.0, filling.elapsed().as_secs_f64());

    let mut config = SupervisorConfig::new(StoreConfig { capture_changes: true, ..StoreConfig::at(&path) });
    config.backup.dir = dir.join("backups");
    config.backup.offsite = Some(crate::pitr_bench::moto_offsite(endpoint, Duration::from_secs(120)));
    config.backup.pitr = Some(PitrConfig::default());
    let handles = atlas_actors::start(config, Arc::new(SystemClock)).await?;
    let based = Instant::now();
    while handles.pitr.monitor.snapshot().base.is_none() {
        if based.elapsed() > Duration::from_secs(600) {
            return Err(format!("no snapshot started the chain: {:?}", handles.pitr.monitor.snapshot()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("first snapshot made and uploaded in {:.1} s", based.elapsed().as_secs_f64());

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (writer, stop) = (handles.writer.clone(), stop.clone());
            actix::spawn(async move {
                let mut met = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = ProjectId::generate();
                    let command = Command::CreateProject(NewProject {
                        id: id.clone(),
                        name: format!("writer {w} #{i}"),
                        description: None,
                    });
                    let sent = Instant::now();
                    match writer.submit(command, Actor::new("bench")).await {
                        Ok(_) => met.push((sent, Met::Acknowledged { id: id.to_string(), waited: sent.elapsed() })),
                        Err(CommandError::Restoring(_)) => {
                            met.push((sent, Met::Refused));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(other) => return Err(other.to_string()),
                    }
                    i += 1;
                }
                Ok(met)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let request = BackupRequest::RestoreToPoint { to: Target::Latest, from_remote: false, verify_only: false };
    let report = match handles.backup.ask(request, Actor::new("bench")).await? {
        BackupAnswer::Point(report) => report,
        _ => return Err("the backup actor answered something else".into()),
    };
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut met = Vec::new();
    for writer in writers {
        met.extend(writer.await.map_err(|e| e.to_string())??);
    }
    let during: Vec<&(Instant, Met)> =
        met.iter().filter(|(sent, _)| *sent >= started && *sent <= started + took).collect();
    let refused: Vec<Instant> =
        during.iter().filter(|(_, m)| matches!(m, Met::Refused)).map(|(sent, _)| *sent).collect();
    let mut waits: Vec<Duration> = during
        .iter()
        .filter_map(|(_, m)| match m {
            Met::Acknowledged { waited, .. } => Some(*waited),
            Met::Refused => None,
        })
        .collect();
    waits.sort_unstable();
    let held = match (refused.first(), refused.last()) {
        (Some(first), Some(last)) => last.duration_since(*first),
        _ => Duration::ZERO,
    };
    let ids: Vec<String> = met
        .iter()
        .filter_map(|(_, m)| match m {
            Met::Acknowledged { id, .. } => Some(id.clone()),
            Met::Refused => None,
        })
        .collect();
    let acknowledged = ids.len();
    let present: usize = handles
        .readers
        .read(move |conn| {
            let mut query = conn.prepare("SELECT count(*) FROM projects WHERE id = ?1")?;
            let mut found = 0;
            for id in &ids {
                found += query.query_row([id], |r| r.get::<_, i64>(0))? as usize;
            }
            Ok(found)
        })
        .await
        .map_err(|e| e.to_string())?;
    handles.shutdown().await?;
    let pick = |q: f64| waits.get(((waits.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default();
    println!(
        "online restore to latest of a {:.0} MB database: {:.1} s (snapshot {}, {} changes, {} from the outbox)",
        size as f64 / 1048576.0,
        took.as_secs_f64(),
        report.base,
        report.changes_applied,
        report.from_local_outbox
    );
    println!(
        "writes sent during it: {} acknowledged (wait p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms), {} refused as \
         `restoring` over {:.1} s (first to last refusal)",
        waits.len(),
        pick(0.5).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0,
        pick(1.0).as_secs_f64() * 1000.0,
        refused.len(),
        held.as_secs_f64()
    );
    println!("acknowledged writes in the restored database: {present} of {acknowledged}");
    let _ = std::fs::remove_dir_all(&dir);
    if present != acknowledged {
        return Err(format!("{} acknowledged writes are missing", acknowledged - present));
    }
    Ok(())
}
