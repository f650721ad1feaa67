//! `atlas-bench pitr [COMMANDS]`: the restore side of point-in-time recovery. COMMANDS (default 100,000)
//! go through the writer with capture on, after a snapshot; their changesets are cut into segments as the
//! shipper cuts them, then decoded and replayed onto the snapshot with every check a restore makes. No
//! network: the bucket's part is measured by `pitr-lag`.
//!
//! `atlas-bench pitr-lag [SECONDS]`: the real shipper at the default interval (10 s) against moto's S3
//! server (`python3 -m moto.server`), one command every 100 ms for SECONDS (default 60): how long each
//! acknowledged command waits until the segment holding it is stored.

use atlas_actors::backup::{BackupAnswer, BackupRequest};
use atlas_actors::domain::{Actor, Command, NewProject, ProjectId, SystemClock};
use atlas_actors::pitr::chain::Walker;
use atlas_actors::pitr::segment::{self, Record};
use atlas_actors::pitr::{PitrConfig, Target};
use atlas_actors::store::StoreConfig;
use atlas_actors::SupervisorConfig;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn project(i: usize) -> Command {
    Command::CreateProject(NewProject { id: ProjectId::generate(), name: format!("pitr bench {i}"), description: None })
}

/// Rows per segment, as the shipper cuts them.
const ROWS_PER_SEGMENT: usize = 10_000;

/// Runs of rows as the shipper cuts them: at most `ROWS_PER_SEGMENT` rows, closed once they reach
/// `PitrConfig::segment_max_bytes` of changesets.
fn cut(records: &[Record]) -> Vec<&[Record]> {
    let max_bytes = PitrConfig::default().segment_max_bytes;
    let (mut out, mut start, mut bytes) = (Vec::new(), 0, 0);
    for (i, record) in records.iter().enumerate() {
        bytes += record.changeset.len();
        if bytes >= max_bytes || i + 1 - start == ROWS_PER_SEGMENT {
            out.push(&records[start..=i]);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < records.len() {
        out.push(&records[start..]);
    }
    out
}

pub async fn restore(commands: usize) -> Result<(), String> {
    let dir = crate::scratch_dir("pitr");
    let store = StoreConfig { capture_changes: true, ..StoreConfig::at(dir.join("data/atlas.db")) };
    let mut config = SupervisorConfig::new(store);
    config.backup.dir = dir.join("backups");
    let handles = atlas_actors::start(config, Arc::new(SystemClock)).await?;
    let base = match handles.backup.ask(BackupRequest::Create, Actor::new("bench")).await? {
        BackupAnswer::One(manifest) => manifest,
        _ => return Err("the backup actor answered something else".into()),
    };
    let written = Instant::now();
    let submitters = 64;
    let tasks: Vec<_> = (0..submitters)
        .map(|s| {
            let writer = handles.writer.clone();
            actix::spawn(async move {
                for i in (s..commands).step_by(submitters) {
                    writer.submit(project(i), Actor::new("bench")).await.map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let write_s = written.elapsed().as_secs_f64();
    let records: Vec<Record> = handles
        .readers
        .read(|conn| atlas_actors::pitr::outbox_rows(conn, usize::MAX, usize::MAX))
        .await
        .map_err(|e| e.to_string())?;
    handles.shutdown().await?;
    let encoding = Instant::now();
    let segments: Vec<Vec<u8>> = cut(&records).into_iter().map(segment::encode).collect();
    let encode_s = encoding.elapsed().as_secs_f64();
    let bytes: usize = segments.iter().map(Vec::len).sum();

    let staged = dir.join("rebuilt.db");
    let restoring = Instant::now();
    let checked = atlas_actors::backup::file::verify(&dir.join("backups"), &base.id, chrono::Utc::now())?;
    atlas_actors::backup::file::materialize(&dir.join("backups"), &checked, &staged)?;
    let snapshot_s = restoring.elapsed().as_secs_f64();
    let decoding = Instant::now();
    let position = base.pitr.clone().ok_or("the snapshot has no chain position")?;
    let mut walker = Walker::new(&position, Target::Latest);
    for bytes in &segments {
        walker.feed(segment::decode(bytes)?)?;
    }
    let chain = walker.finish();
    let decode_s = decoding.elapsed().as_secs_f64();
    let replaying = Instant::now();
    let batches = chain.changes.len();
    let (applied, counts) = atlas_actors::pitr::rebuild::replay_checked(&staged, chain.changes, Target::Latest)?;
    let replay_s = replaying.elapsed().as_secs_f64();
    let total_s = restoring.elapsed().as_secs_f64();
    let projects = counts.get("projects").copied().unwrap_or(0);
    if projects != commands as i64 {
        return Err(format!("the rebuilt copy holds {projects} projects, {commands} were written"));
    }
    println!(
        "pitr restore: {commands} commands written in {write_s:.1} s ({:.0}/s, 64 submitters), {batches} batches",
        commands as f64 / write_s
    );
    println!(
        "  changesets: {} segments, {:.1} MiB ({:.0} bytes a command); encoded in {encode_s:.2} s",
        segments.len(),
        bytes as f64 / (1024.0 * 1024.0),
        bytes as f64 / commands as f64
    );
    println!(
        "  restore: snapshot verified + staged {snapshot_s:.2} s, segments decoded + chained {decode_s:.2} s, \
         {applied} changesets replayed + integrity_check + row counts {replay_s:.2} s"
    );
    println!("  restore total for {commands} commands: {total_s:.2} s ({:.0} commands/s)", commands as f64 / total_s);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").map(|l| l.local_addr().map(|a| a.port()).unwrap_or(0)).unwrap_or(0)
}

/// moto's S3 server on a free port with a bucket; killed when dropped.
pub(crate) struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn moto(bucket: &str) -> Result<(Moto, String), String> {
    let port = free_port();
    let child = std::process::Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start moto (pip install 'moto[server]'): {e}"))?;
    let guard = Moto(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("moto did not listen within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One unsigned PUT makes the bucket (moto accepts it); plain HTTP/1.1 over a socket is enough here.
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    write!(
        socket,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!("moto refused the bucket: {}", answer.lines().next().unwrap_or_default()));
    }
    Ok((guard, endpoint))
}

/// Off-site storage in moto's bucket `atlas-bench` (made by [`moto`]).
pub(crate) fn moto_offsite(
    endpoint: String,
    request_timeout: Duration,
) -> atlas_actors::backup::offsite::OffsiteConfig {
    atlas_actors::backup::offsite::OffsiteConfig {
        endpoint,
        region: "us-east-1".into(),
        bucket: "atlas-bench".into(),
        prefix: "bench/".into(),
        access_key_id: "testing".into(),
        secret_access_key: atlas_actors::domain::Secret("testing".into()),
        allow_http: true,
        keep: 3,
        request_timeout,
        max_retries: 0,
    }
}

pub async fn lag(seconds: u64) -> Result<(), String> {
    let (_moto, endpoint) = moto("atlas-bench").await?;
    let dir = crate::scratch_dir("pitr-lag");
    let store = StoreConfig { capture_changes: true, ..StoreConfig::at(dir.join("data/atlas.db")) };
    let mut config = SupervisorConfig::new(store);
    config.backup.dir = dir.join("backups");
    config.backup.offsite = Some(moto_offsite(endpoint, Duration::from_secs(10)));
    let pitr = PitrConfig::default();
    let interval = pitr.ship_every;
    config.backup.pitr = Some(pitr);
    let handles = atlas_actors::start(config, Arc::new(SystemClock)).await?;
    let monitor = handles.pitr.monitor.clone();
    let based = Instant::now();
    while monitor.snapshot().base.is_none() {
        if based.elapsed() > Duration::from_secs(60) {
            return Err("no snapshot started the chain within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each command's outbox row number, and when it was acknowledged.
    let mut waiting: Vec<(i64, Instant)> = Vec::new();
    let mut lags: Vec<Duration> = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut next = Instant::now();
    let mut i = 0;
    while Instant::now() < until || !waiting.is_empty() {
        if Instant::now() >= next && Instant::now() < until {
            handles.writer.submit(project(i), Actor::new("bench")).await.map_err(|e| e.to_string())?;
            let seq: i64 = handles
                .readers
                .read(|conn| conn.query_row("SELECT coalesce(max(seq), 0) FROM pitr_outbox", [], |r| r.get(0)))
                .await
                .map_err(|e| e.to_string())?;
            waiting.push((seq, Instant::now()));
            next += Duration::from_millis(100);
            i += 1;
        }
        let shipped = monitor.snapshot().shipped_through_seq.unwrap_or(0);
        waiting.retain(|(seq, at)| {
            let done = *seq <= shipped;
            if done {
                lags.push(at.elapsed());
            }
            !done
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    handles.shutdown().await?;
    lags.sort();
    let pick = |p: f64| lags[((lags.len() as f64 - 1.0) * p).round() as usize].as_secs_f64();
    let mean = lags.iter().map(Duration::as_secs_f64).sum::<f64>() / lags.len().max(1) as f64;
    let state = monitor.snapshot();
    println!(
        "pitr lag at ship_every_s = {}: {} commands over {seconds} s, acknowledged → stored off-site: mean {mean:.2} s, \
         p50 {:.2} s, p99 {:.2} s, max {:.2} s; {} segments uploaded",
        interval.as_secs(),
        lags.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0),
        state.segments_uploaded
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
