//! Backup files: an online copy made from a read-only connection (`VACUUM INTO`; SQLite's backup API in
//! paced steps when asked), optionally gzip-compressed, with a manifest beside it; verification that
//! decompresses, runs `integrity_check` and compares the checksum (`checksum.rs`) and row counts; and
//! retention.
//!
//! The manifest describes the copy itself: its counts are read from the copy. The copy is fsynced (beside
//! its checksum, on the other core), then its directory, before its manifest exists.
//!
//! The destination is a new file, never the live database: it is opened read-write through
//! `store::open::read_write` with `ReadWrite::BackupCopy`, one purpose of that closed list (only
//! `store/open.rs` may open SQLite files: `tests/it/invariants.rs`).

use super::checksum;
use super::error::{BackupError, Cause};
use crate::store::migrate;
use crate::store::open::ReadWrite;
use crate::store::queries::{count_rows, CountedTable};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a backup is and what it held, written beside it as `<id>.manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `atlas_YYYYMMDD_HHMMSS`
    pub id: String,
    /// The backup file's name in the backup directory.
    pub file: String,
    pub compressed: bool,
    pub size_bytes: u64,
    /// `blake3:<hex>`, or a bare SHA-256 hex digest in manifests made before BLAKE3 (see `checksum`).
    #[serde(alias = "sha256")]
    pub checksum: String,
    pub page_count: i64,
    pub schema_version: u32,
    pub row_counts: BTreeMap<String, i64>,
    pub started_at: String,
    pub finished_at: String,
    /// Set by the last verification.
    pub verified_at: Option<String>,
    pub verified_ok: Option<bool>,
    pub verify_detail: Option<String>,
    /// Set by the last off-site upload (local manifests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_error: Option<String>,
    /// Where this snapshot stands in the point-in-time recovery chains (`pitr/`); `None` for a database
    /// from before them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<crate::pitr::PitrBase>,
}

/// How backups are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupOptions {
    pub compress: bool,
    /// Pages per step of a paced page-by-page copy (used when `pause_between_steps` is not zero). The copy
    /// reads one snapshot, which in WAL mode never blocks the writer, so pacing only slows it: measured
    /// (BENCHMARKS.md), the writer's p99 is the same with 5 ms pauses between 256-page steps as with none.
    pub pages_per_step: i32,
    pub pause_between_steps: Duration,
}

impl Default for BackupOptions {
    /// No pacing: `VACUUM INTO`, at `sqlite3 .backup`'s speed.
    fn default() -> Self {
        Self { compress: true, pages_per_step: 16_384, pause_between_steps: Duration::ZERO }
    }
}

fn err(context: &str, e: impl Cause) -> BackupError {
    super::error::failed(context, e)
}

fn stats(conn: &Connection) -> rusqlite::Result<(i64, u32, BTreeMap<String, i64>)> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let schema = migrate::check(conn).map(|s| s.current).unwrap_or(0);
    let mut counts = BTreeMap::new();
    for table in CountedTable::ALL {
        counts.insert(table.name().to_owned(), count_rows(conn, table)?);
    }
    Ok((pages, schema, counts))
}

/// `stats` of a backup's source, which may be damaged (a safety copy before restoring over a database that
/// failed its check): a table that cannot be counted is recorded as -1, so the copy is still made, and
/// its verification fails honestly.
fn source_stats(conn: &Connection) -> rusqlite::Result<(i64, u32, BTreeMap<String, i64>)> {
    match stats(conn) {
        Ok(stats) => Ok(stats),
        Err(first) => {
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let schema = migrate::check(conn).map(|s| s.current).unwrap_or(0);
            tracing::warn!(error = %first, "The database cannot be fully read; copying it with unknown row counts.");
            let counts = CountedTable::ALL
                .iter()
                .map(|table| (table.name().to_owned(), count_rows(conn, *table).unwrap_or(-1)))
                .collect();
            Ok((pages, schema, counts))
        }
    }
}

pub fn manifest_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.manifest.json"))
}

/// Makes what was written to `file` durable (its data, then the directory entry naming it).
pub(crate) fn sync_file(file: &Path) -> Result<(), BackupError> {
    std::fs::File::open(file).and_then(|f| f.sync_all()).map_err(|e| err(&format!("cannot sync {}", file.display()), e))
}

/// Makes the entries of `dir` (files created, renamed or removed in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| err(&format!("cannot sync {}", dir.display()), e))
}

/// Writes a manifest atomically and durably: a temporary file, fsynced, renamed over, the directory fsynced.
pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let path = manifest_path(dir, &manifest.id);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(manifest).unwrap_or_default())
        .map_err(|e| err("cannot write the manifest", e))?;
    sync_file(&tmp)?;
    std::fs::rename(&tmp, &path).map_err(|e| err("cannot write the manifest", e))?;
    sync_dir(dir)
}

/// One consistent snapshot of `source` into the new file `plain`. By default `VACUUM INTO` (a read
/// transaction, so the writer never waits; at `sqlite3 .backup`'s speed, the copy compacted). Page by page
/// with the backup API when a pause between steps is asked for (pacing the disk), or when `VACUUM INTO`
/// cannot read the database through (damaged: the safety copy before a restore).
fn copy_snapshot(source: &Connection, plain: &Path, options: &BackupOptions) -> Result<(), BackupError> {
    let target = plain.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", plain.display()))?;
    if options.pause_between_steps.is_zero() {
        // The copy takes its pager settings from this connection: no fsync inside `VACUUM INTO`, because
        // `create` fsyncs the finished copy itself, while it computes the checksum on the other core.
        source.execute_batch("PRAGMA synchronous = OFF").map_err(|e| err("cannot set up the copy", e))?;
        match source.execute("VACUUM INTO ?1", [target]) {
            Ok(_) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "VACUUM INTO failed; copying the database page by page instead.");
                let _ = std::fs::remove_file(plain);
            }
        }
    }
    // One read transaction for the whole copy: a consistent snapshot that writers (WAL) never wait for.
    source.execute_batch("BEGIN").map_err(|e| err("cannot start the snapshot", e))?;
    {
        let mut target = crate::store::open::read_write(plain, ReadWrite::BackupCopy { create: true })
            .map_err(|e| err(&format!("cannot create {}", plain.display()), e))?;
        let backup =
            rusqlite::backup::Backup::new(source, &mut target).map_err(|e| err("cannot start the backup", e))?;
        backup
            .run_to_completion(options.pages_per_step, options.pause_between_steps, None)
            .map_err(|e| err("the backup failed", e))?;
    }
    source.execute_batch("COMMIT").map_err(|e| err("cannot end the snapshot", e))
}

/// The checksum of the finished copy `file`, once its data is on disk. An uncompressed copy is still
/// only in the page cache: its fsync (disk-bound) and its checksum (CPU-bound, reading the same cached
/// pages) run side by side. A compressed copy was fsynced as it was finished.
fn durable_with_checksum(file: &Path, synced: bool) -> Result<(String, u64), BackupError> {
    if synced {
        return Ok(checksum::of_file(file)?);
    }
    std::thread::scope(|scope| {
        let syncing = scope.spawn(|| sync_file(file));
        let checksum = checksum::of_file(file);
        syncing.join().map_err(|_| "the fsync of the copy panicked".to_owned())??;
        Ok(checksum?)
    })
}

/// Makes a backup of `database` into `dir` and returns its manifest. `now` names it (UTC).
pub fn create(
    database: &Path,
    dir: &Path,
    options: &BackupOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Manifest, BackupError> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| err(&format!("cannot create backup directory {}", dir.display()), e))?;
    let source = crate::store::open::read_only(database)
        .map_err(|e| err(&format!("cannot open {} for the backup", database.display()), e))?;
    source.busy_timeout(Duration::from_secs(30)).map_err(|e| err("busy timeout", e))?;
    // Named by time and by the database's timeline: two machines backing up in the same second (a drill
    // beside production) never name their copies alike.
    let timeline = crate::pitr::timeline(&source).ok().flatten().unwrap_or_default();
    let stem = match timeline.get(..8) {
        Some(short) => format!("atlas_{}_{short}", now.format("%Y%m%d_%H%M%S")),
        None => format!("atlas_{}", now.format("%Y%m%d_%H%M%S")),
    };
    let mut id = stem.clone();
    let mut n = 1;
    while manifest_path(dir, &id).exists() {
        n += 1;
        id = format!("{stem}_{n}");
    }
    let started_at = crate::domain::format_timestamp(now);
    let plain = dir.join(format!("{id}.db"));
    copy_snapshot(&source, &plain, options)?;
    // The manifest describes the copy itself (one snapshot, whichever way it was made).
    let (page_count, schema_version, row_counts, pitr) = {
        let copy = crate::store::open::read_write(&plain, ReadWrite::BackupCopy { create: false })
            .map_err(|e| err("cannot reopen the copy", e))?;
        // A page copy keeps the source's WAL flag in page 1: a backup file is a plain rollback-journal file.
        copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get::<_, String>(0))
            .map_err(|e| err("cannot set the copy's journal mode", e))?;
        let (pages, schema, counts) = source_stats(&copy).map_err(|e| err("cannot read the copy", e))?;
        (pages, schema, counts, crate::pitr::base_of(&copy, schema).ok().flatten())
    };
    let file = if options.compress {
        let gz = dir.join(format!("{id}.db.gz"));
        let mut input = std::fs::File::open(&plain).map_err(|e| err("cannot read the copy", e))?;
        let output = std::fs::File::create(&gz).map_err(|e| err("cannot write the compressed copy", e))?;
        let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
        std::io::copy(&mut input, &mut encoder).map_err(|e| err("cannot compress the copy", e))?;
        encoder.finish().and_then(|f| f.sync_all()).map_err(|e| err("cannot compress the copy", e))?;
        std::fs::remove_file(&plain).map_err(|e| err("cannot remove the uncompressed copy", e))?;
        gz
    } else {
        plain
    };
    let (checksum, size_bytes) = durable_with_checksum(&file, options.compress)?;
    // The copy's directory entry is durable before its manifest makes it a backup.
    sync_dir(dir)?;
    let manifest = Manifest {
        id,
        file: file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned(),
        compressed: options.compress,
        size_bytes,
        checksum,
        page_count,
        schema_version,
        row_counts,
        started_at,
        // On the caller's clock (the one retention judges by), as long after `now` as the copy took.
        finished_at: crate::domain::format_timestamp(
            now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
        ),
        verified_at: None,
        verified_ok: None,
        verify_detail: None,
        uploaded_at: None,
        upload_error: None,
        pitr,
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// All backups in `dir`, newest first (by id).
pub fn list(dir: &Path) -> Result<Vec<Manifest>, BackupError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.to_string_lossy().ends_with(".manifest.json") {
            let text = std::fs::read(&path).map_err(|e| err(&format!("cannot read {}", path.display()), e))?;
            match serde_json::from_slice::<Manifest>(&text) {
                Ok(manifest) => all.push(manifest),
                Err(e) => tracing::warn!(file = %path.display(), error = %e, "Skipping an unreadable backup manifest."),
            }
        }
    }
    all.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(all)
}

/// Removes what crashed or failed operations left in the backup directory: copies no manifest names
/// (`atlas_….db`, `.db.gz`, their journals), scratch copies of verifications, partial downloads and
/// manifest temporaries. Run only while no backup operation runs. Returns the names removed.
pub fn sweep_leftovers(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let kept: std::collections::BTreeSet<String> = list(dir).unwrap_or_default().into_iter().map(|m| m.file).collect();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let scratch = name.starts_with(".verify-") || name.ends_with(".download") || name.ends_with(".json.tmp");
        let copy = name.starts_with("atlas_")
            && [".db", ".db.gz", ".db-journal", ".db-wal", ".db-shm"].iter().any(|suffix| name.ends_with(suffix));
        if (scratch || copy) && !kept.contains(&name) && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(name);
        }
    }
    if !removed.is_empty() {
        tracing::warn!(removed = ?removed, "Removed what failed or interrupted backup operations left behind.");
        let _ = sync_dir(dir);
    }
    removed
}

/// Refuses what cannot name a backup: empty, longer than 200 bytes, a control character, or a path.
pub fn check_id(id: &str) -> Result<(), BackupError> {
    let unnameable = id.is_empty() || id.len() > 200 || id.chars().any(char::is_control);
    if unnameable || id.contains(['/', '\\']) || id.contains("..") {
        return Err(BackupError::BadId(format!("{} is not a backup id", crate::domain::text::clip(id))));
    }
    Ok(())
}

pub fn load(dir: &Path, id: &str) -> Result<Manifest, BackupError> {
    check_id(id)?;
    let path = manifest_path(dir, id);
    let text = std::fs::read(&path).map_err(|e| match e.kind() {
        // A name no file can have (too long) names no backup either.
        std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidFilename => {
            BackupError::NotFound(format!("backup {} not found", crate::domain::text::clip(id)))
        }
        _ => err(&format!("cannot read backup {}'s manifest", crate::domain::text::clip(id)), e),
    })?;
    // A manifest that does not parse will not parse on a retry either: the backup is unusable as it stands.
    serde_json::from_slice(&text).map_err(|e| {
        BackupError::Refused(format!("backup {}'s manifest is unreadable: {e}", crate::domain::text::clip(id)))
    })
}

/// Removes a scratch database file and the journal, WAL and shared-memory files SQLite keeps beside it.
pub fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// Decompresses (when needed) into `into` and returns the plain database file.
pub fn materialize(dir: &Path, manifest: &Manifest, into: &Path) -> Result<PathBuf, BackupError> {
    materialize_checked(dir, manifest, into).map_err(|failure| match failure {
        Failure::Backup(why) => BackupError::Failed(why),
        Failure::Here(why) => why,
    })
}

/// Why a backup could not be checked or restored: the backup itself, or this machine (a full disk while
/// writing the scratch copy), which says nothing about the backup.
enum Failure {
    Backup(String),
    Here(BackupError),
}

fn materialize_checked(dir: &Path, manifest: &Manifest, into: &Path) -> Result<PathBuf, Failure> {
    use std::io::Read;
    let file = dir.join(&manifest.file);
    let reading = |e| Failure::Here(err(&format!("cannot read {}", file.display()), e));
    let input = std::fs::File::open(&file).map_err(reading)?;
    let mut source: Box<dyn Read> =
        if manifest.compressed { Box::new(flate2::read::GzDecoder::new(input)) } else { Box::new(input) };
    let writing = |e| Failure::Here(err(&format!("cannot write {}", into.display()), e));
    // A journal or WAL left beside the path by an interrupted restore would be taken as this new file's:
    // SQLite would roll a stranger's pages into it (or refuse a read-only open as a write).
    remove_with_sidecars(into);
    let mut output = std::fs::File::create(into).map_err(writing)?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if manifest.compressed => {
                return Err(Failure::Backup(err("the compressed backup is damaged", e).into()));
            }
            Err(e) => return Err(reading(e)),
        };
        output.write_all(&buffer[..read]).map_err(writing)?;
    }
    output.flush().map_err(writing)?;
    Ok(into.to_path_buf())
}

/// Checks a backup end to end; records the result in its manifest and returns it.
/// A failure of this machine (no room for the scratch copy) is an error, and the manifest keeps its last
/// verdict: a good backup is never recorded as failed because the disk was full.
pub fn verify(dir: &Path, id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<Manifest, BackupError> {
    let mut manifest = load(dir, id)?;
    let outcome = match check(dir, &manifest) {
        Err(Failure::Here(why)) => {
            return Err(why.context(&format!("backup {id} could not be checked here; nothing was recorded")));
        }
        Err(Failure::Backup(why)) => Err(why),
        Ok(()) => Ok(()),
    };
    manifest.verified_at = Some(crate::domain::format_timestamp(now));
    manifest.verified_ok = Some(outcome.is_ok());
    manifest.verify_detail = Some(outcome.err().unwrap_or_else(|| "ok".into()));
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

fn check(dir: &Path, manifest: &Manifest) -> Result<(), Failure> {
    let (checksum, size) =
        checksum::recompute_like(&manifest.checksum, &dir.join(&manifest.file)).map_err(Failure::Backup)?;
    if size != manifest.size_bytes {
        return Err(Failure::Backup(format!("size is {size} bytes, the manifest says {}", manifest.size_bytes)));
    }
    if !checksum.eq_ignore_ascii_case(&manifest.checksum) {
        return Err(Failure::Backup("checksum mismatch: the file changed after it was written".into()));
    }
    let scratch = dir.join(format!(".verify-{}.db", manifest.id));
    let plain = match materialize_checked(dir, manifest, &scratch) {
        Ok(plain) => plain,
        Err(failure) => {
            let _ = std::fs::remove_file(&scratch);
            return Err(failure);
        }
    };
    let result = (|| -> Result<(), String> {
        let conn = crate::store::open::read_only(&plain).map_err(|e| err("cannot open the backup", e))?;
        let integrity: String =
            conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| err("integrity_check failed", e))?;
        if integrity != "ok" {
            return Err(format!("integrity_check: {integrity}"));
        }
        let drift = crate::store::migrate::schema_drift(&conn).map_err(|e| format!("schema: {e}"))?;
        if !drift.is_empty() {
            return Err(format!("schema objects Atlas's migrations do not make it so: {}", drift.join(", ")));
        }
        let (pages, schema, counts) = stats(&conn).map_err(|e| err("cannot read the backup", e))?;
        if pages != manifest.page_count || schema != manifest.schema_version || counts != manifest.row_counts {
            return Err(format!("contents differ from the manifest (pages {pages}, schema {schema}, rows {counts:?})"));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&scratch);
    result.map_err(Failure::Backup)
}

/// Records the outcome of an off-site upload in the local manifest.
pub fn record_upload(
    dir: &Path,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
    outcome: &Result<(), BackupError>,
) -> Result<Manifest, BackupError> {
    let mut manifest = load(dir, id)?;
    match outcome {
        Ok(()) => {
            manifest.uploaded_at = Some(crate::domain::format_timestamp(now));
            manifest.upload_error = None;
        }
        Err(why) => manifest.upload_error = Some(why.to_string()),
    }
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// Keeps the newest `keep` backups, and always the newest verified one. Returns the ids deleted.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, BackupError> {
    let all = list(dir)?;
    let newest_verified = all.iter().find(|m| m.verified_ok == Some(true)).map(|m| m.id.clone());
    let mut deleted = Vec::new();
    for manifest in all.iter().skip(keep.max(1)) {
        if Some(&manifest.id) == newest_verified.as_ref() {
            continue;
        }
        let _ = std::fs::remove_file(dir.join(&manifest.file));
        std::fs::remove_file(manifest_path(dir, &manifest.id))
            .map_err(|e| err(&format!("cannot delete backup {}", manifest.id), e))?;
        deleted.push(manifest.id.clone());
    }
    Ok(deleted)
}

/// Checks a golden copy (a plain SQLite database: integrity, and a schema this binary can migrate) and
/// copies it to `staged`. Returns a manifest describing it (`id` = `golden`).
pub fn stage_golden(golden: &Path, staged: &Path) -> Result<Manifest, BackupError> {
    let conn = crate::store::open::read_only(golden)
        .map_err(|e| err(&format!("cannot open the golden copy {}", golden.display()), e))?;
    // A consistent snapshot of the golden database as SQLite sees it, a `-wal` beside it included (a
    // plain file copy would leave the WAL's commits behind).
    let _ = std::fs::remove_file(staged);
    conn.execute("VACUUM INTO ?1", [staged.to_string_lossy()])
        .map_err(|e| err(&format!("{} is not a usable database (it cannot be copied)", golden.display()), e))?;
    drop(conn);
    checked_golden(golden, staged).inspect_err(|_| {
        let _ = std::fs::remove_file(staged);
    })
}

/// What is checked is what will be swapped in: the staged copy, and its checksum.
fn checked_golden(golden: &Path, staged: &Path) -> Result<Manifest, BackupError> {
    let copy = crate::store::open::read_only(staged)
        .map_err(|e| err(&format!("cannot open the staged copy of {}", golden.display()), e))?;
    let integrity: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| err(&format!("{} is not a usable database", golden.display()), e))?;
    if integrity != "ok" {
        return Err(BackupError::Refused(format!(
            "the golden copy {} fails integrity_check: {integrity}",
            golden.display()
        )));
    }
    migrate::check(&copy).map_err(|e| err(&format!("the golden copy {}", golden.display()), e))?;
    let (page_count, schema_version, row_counts) = stats(&copy).map_err(|e| err("cannot read the golden copy", e))?;
    drop(copy);
    let (checksum, size_bytes) = checksum::of_file(staged)?;
    let now = crate::domain::format_timestamp(chrono::Utc::now());
    Ok(Manifest {
        id: "golden".into(),
        file: golden.display().to_string(),
        compressed: false,
        size_bytes,
        checksum,
        page_count,
        schema_version,
        row_counts,
        started_at: now.clone(),
        finished_at: now,
        verified_at: None,
        verified_ok: Some(true),
        verify_detail: Some("the staged copy: integrity_check ok, schema known".into()),
        uploaded_at: None,
        upload_error: None,
        pitr: None,
    })
}
