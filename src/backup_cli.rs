//! `atlas backup create|list|verify|upload|restore` and `atlas db stats|vacuum`: the Backup actor's and the writer's maintenance work, in this process (the service need not run).

use crate::settings::Settings;
use atlas_actors::backup::{BackupAnswer, BackupHandle, BackupRequest};
use atlas_actors::domain::SystemClock;
use atlas_actors::registry::ActorRegistry;
use atlas_actors::store::WriterHandle;
use std::sync::Arc;

fn describe(m: &atlas_actors::backup::file::Manifest) -> String {
    let verified = match (m.verified_ok, m.verify_detail.as_deref()) {
        (Some(true), _) => "verified".to_owned(),
        (Some(false), detail) => format!("FAILED verification: {}", detail.unwrap_or("")),
        (None, _) => "not verified".to_owned(),
    };
    let offsite = match (&m.uploaded_at, &m.upload_error) {
        (_, Some(why)) => format!("  off-site upload FAILED: {why}"),
        (Some(at), None) => format!("  off-site since {at}"),
        (None, None) => String::new(),
    };
    format!("{}  {}  {} bytes  {}{}\n", m.id, m.file, m.size_bytes, verified, offsite)
}

/// Runs the request; returns the text for stdout, or a sentence for stderr. A failed verification is an
/// error (non-zero exit) so scripts notice.
pub fn run(settings: &Settings, request: BackupRequest) -> Result<String, String> {
    run_then(settings, request, false)
}

/// Runs the request, then, when it succeeded and `promote` asks, promotes the database to the bucket's
/// owner (`atlas restore … --promote`).
pub fn run_then(settings: &Settings, request: BackupRequest, promote: bool) -> Result<String, String> {
    // On an empty machine the writer makes a fresh database to work beside; only a restore that swaps a
    // database in (or a backup made of it) keeps it. A refused restore, a drill or a listing leaves no empty database behind (its
    // first chain snapshot would otherwise become the bucket's `latest`).
    let existed = settings.database.path.exists();
    let replaces = matches!(
        request,
        BackupRequest::Restore(_)
            | BackupRequest::ResetTo(_)
            | BackupRequest::RestoreRemote(_)
            | BackupRequest::RestoreToPoint { verify_only: false, .. }
            | BackupRequest::Create
    );
    let outcome = run_with(settings, request, existed, promote);
    if !existed && (outcome.is_err() || !replaces) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = settings.database.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
    // A promotion that failed after the restore succeeded keeps the restored database (and says so).
    match outcome? {
        (said, None) => Ok(said),
        (said, Some(why)) => Err(format!("{said}but this database was NOT promoted: {why}")),
    }
}

/// The request's answer, and why a promotion asked for after it failed (the request itself succeeded).
fn run_with(
    settings: &Settings,
    request: BackupRequest,
    existed: bool,
    promote: bool,
) -> Result<(String, Option<String>), String> {
    let restoring =
        matches!(request, BackupRequest::Restore(_) | BackupRequest::ResetTo(_) | BackupRequest::RestoreRemote(_));
    let creating = request == BackupRequest::Create;
    let place = match request {
        BackupRequest::ListRemote => "off-site storage".to_owned(),
        _ => settings.backup.dir.display().to_string(),
    };
    actix::System::new().block_on(async move {
        let registry = ActorRegistry::new();
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), registry.clone())?;
        let readers = atlas_actors::store::ReaderPool::open(&settings.store_config())?;
        let backup =
            BackupHandle::start(settings.backup_config(), writer.clone(), readers, Arc::new(SystemClock), registry);
        let answer = backup.ask(request, crate::cli_actor::this_user()).await;
        let promoted = match (&answer, promote) {
            (Ok(_), true) => Some(backup.ask(BackupRequest::Promote, crate::cli_actor::this_user()).await),
            _ => None,
        };
        writer.shutdown().await?;
        let said = match answer.map_err(String::from)? {
            BackupAnswer::Many(all) if all.is_empty() => Ok(format!("no backups in {place}\n")),
            BackupAnswer::Many(all) => Ok(all.iter().map(describe).collect()),
            BackupAnswer::One(m) if m.verified_ok == Some(false) => Err(describe(&m).trim_end().to_owned()),
            BackupAnswer::One(m) if creating && m.upload_error.is_some() => Err(describe(&m).trim_end().to_owned()),
            BackupAnswer::One(m) if restoring => Ok(format!("restored {}", describe(&m))),
            BackupAnswer::One(m) => Ok(describe(&m)),
            BackupAnswer::Point(report) => Ok(describe_point(&report, existed)),
            BackupAnswer::Promoted(done) => Ok(describe_promotion(&done)),
        }?;
        match promoted {
            None => Ok((said, None)),
            Some(Ok(BackupAnswer::Promoted(done))) => Ok((said + &describe_promotion(&done), None)),
            Some(Ok(_)) => Ok((said, Some("the promotion answered something else".into()))),
            Some(Err(why)) => Ok((said, Some(why.into()))),
        }
    })
}

fn describe_promotion(done: &atlas_actors::backup::Promotion) -> String {
    let mut out = match &done.previous_owner {
        Some(previous) => format!(
            "promoted: this database (timeline {}) now owns the bucket, taken over from {}\n",
            done.owner.timeline,
            previous.describe()
        ),
        None => format!("promoted: this database (timeline {}) owns the bucket\n", done.owner.timeline),
    };
    match &done.snapshot {
        Ok(id) => out.push_str(&format!("backup {id} uploaded: `latest` follows this database from here\n")),
        Err(why) => out.push_str(&format!("no backup could be uploaded yet ({why}); the next one starts its chain\n")),
    }
    out
}

/// `atlas promote --yes`: this database becomes the bucket's owner.
pub fn promote(settings: &Settings, yes: bool) -> Result<String, String> {
    if !settings.offsite.enabled {
        return Err("there is no bucket to own: set [offsite] in the config".into());
    }
    if !settings.database.path.exists() {
        return Err(format!("there is no database at {} to promote", settings.database.path.display()));
    }
    if !yes {
        return Err("promoting makes this database the bucket's owner: `latest` follows it and the previous owner \
                    writes nothing there any more; add --yes to confirm"
            .into());
    }
    run(settings, BackupRequest::Promote)
}

fn describe_point(report: &atlas_actors::pitr::rebuild::PointReport, existed: bool) -> String {
    let done = if report.verify_only { "checked (not swapped in)" } else { "restored" };
    let mut out = format!(
        "{done}: to {}, from snapshot {} ({}) and {} changes; it holds every change through {} (stopped at {})\n\
         integrity_check ok; row counts match the changes replayed\n",
        report.target,
        report.base,
        report.base_from,
        report.changes_applied,
        report.restored_through.as_deref().unwrap_or("the snapshot"),
        report.ended_by
    );
    out.push_str(&format!("followed {}\n", report.chain));
    for skipped in &report.skipped {
        out.push_str(&format!("left aside {skipped}\n"));
    }
    for (table, rows) in &report.row_counts {
        out.push_str(&format!("{table:<10} {rows}\n"));
    }
    match &report.safety_backup {
        Some(_) if !existed => out.push_str("there was no database here before; nothing was replaced\n"),
        Some(safety) => out.push_str(&format!("the database it replaced is safety backup {safety}\n")),
        None => {}
    }
    out
}

/// `atlas restore --to <time|latest> [--from-remote] [--verify-only] [--promote] --yes`.
pub fn restore_to_point(
    settings: &Settings,
    to: &str,
    from_remote: bool,
    verify_only: bool,
    yes: bool,
    promote: bool,
) -> Result<String, String> {
    let to = atlas_actors::pitr::Target::parse(to)
        .and_then(|to| to.not_in_future(chrono::Utc::now()))
        .map_err(|why| format!("--to: {why}"))?;
    if !yes && !verify_only {
        return Err("a restore replaces the current database; add --yes to confirm (or --verify-only to check)".into());
    }
    if !settings.offsite.enabled {
        return Err("a point-in-time restore needs the bucket: set [offsite] (and [pitr]) in the config".into());
    }
    if promote && verify_only {
        return Err(
            "--promote makes the restored database the bucket's owner; a --verify-only check replaces nothing".into()
        );
    }
    run_then(settings, BackupRequest::RestoreToPoint { to, from_remote, verify_only }, promote)
}

/// `atlas db stats|vacuum`.
pub fn db(settings: &Settings, vacuum: bool) -> Result<String, String> {
    use atlas_actors::store::queries::db_info;
    use atlas_actors::store::{Maintenance, ReaderPool};
    actix::System::new().block_on(async move {
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), ActorRegistry::new())?;
        let result = if vacuum {
            match writer.maintain(Maintenance::Vacuum, crate::cli_actor::this_user()).await {
                Ok(detail) => Ok(format!("{detail}\n")),
                Err(err) => Err(err.to_string()),
            }
        } else {
            let readers = ReaderPool::open(&settings.store_config())?;
            let path = settings.database.path.clone();
            let stats = readers.read(move |conn| db_info::stats(conn, &path)).await.map_err(|e| e.to_string())?;
            let mut out = format!("database {} bytes, WAL {} bytes\n", stats.database_bytes, stats.wal_bytes);
            for (table, rows) in stats.rows {
                out.push_str(&format!("{table:<10} {rows}\n"));
            }
            Ok(out)
        };
        writer.shutdown().await?;
        result
    })
}

/// `atlas init --golden PATH`: copies a checked golden copy into place when no database exists yet.
pub fn init_from_golden(settings: &Settings, golden: &std::path::Path) -> Result<String, String> {
    let database = &settings.database.path;
    if database.exists() {
        return Ok(format!("database {} already exists; init left it alone\n", database.display()));
    }
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let staged = database.with_extension("db.init-tmp");
    let golden_copy = atlas_actors::backup::file::stage_golden(golden, &staged)?;
    // Machines made from one golden copy must not ship their changes under one timeline.
    atlas_actors::pitr::fork_timeline(&staged, &atlas_actors::backup::owner::Lineage::Created)?;
    std::fs::rename(&staged, database).map_err(|e| format!("cannot put the golden copy in place: {e}"))?;
    let status = atlas_actors::store::migrate_database(&settings.store_config(), &SystemClock).inspect_err(|_| {
        let _ = std::fs::remove_file(database);
    })?;
    Ok(format!(
        "initialised {} from the golden copy {} ({} projects, schema version {})\n",
        database.display(),
        golden.display(),
        golden_copy.row_counts.get("projects").copied().unwrap_or(0),
        status.current
    ))
}

/// `atlas reset --to-golden --yes`: like a restore, from the golden copy (a safety backup first).
pub fn reset_to_golden(settings: &Settings, golden: std::path::PathBuf) -> Result<String, String> {
    run(settings, BackupRequest::ResetTo(golden))
        .map(|text| text.replacen("restored golden", "reset to the golden copy", 1))
}
