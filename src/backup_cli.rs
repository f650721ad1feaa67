//! `atlas backup create|list|verify` and `atlas db stats|vacuum`: the Backup actor's and the writer's maintenance work, in this process (the service need not run).

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
    format!("{}  {}  {} bytes  {}\n", m.id, m.file, m.size_bytes, verified)
}

/// Runs the request; returns the text for stdout, or a sentence for stderr. A failed verification is an
/// error (non-zero exit) so scripts notice.
pub fn run(settings: &Settings, request: BackupRequest) -> Result<String, String> {
    let restoring = matches!(request, BackupRequest::Restore(_));
    actix::System::new().block_on(async move {
        let registry = ActorRegistry::new();
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), registry.clone())?;
        let readers = atlas_actors::store::ReaderPool::open(&settings.store_config())?;
        let backup =
            BackupHandle::start(settings.backup_config(), writer.clone(), readers, Arc::new(SystemClock), registry);
        let answer = backup.ask(request).await;
        writer.shutdown().await?;
        match answer? {
            BackupAnswer::Many(all) if all.is_empty() => {
                Ok(format!("no backups in {}\n", settings.backup.dir.display()))
            }
            BackupAnswer::Many(all) => Ok(all.iter().map(describe).collect()),
            BackupAnswer::One(m) if m.verified_ok == Some(false) => Err(describe(&m).trim_end().to_owned()),
            BackupAnswer::One(m) if restoring => Ok(format!("restored {}", describe(&m))),
            BackupAnswer::One(m) => Ok(describe(&m)),
        }
    })
}

/// `atlas db stats|vacuum`.
pub fn db(settings: &Settings, vacuum: bool) -> Result<String, String> {
    use atlas_actors::domain::{Actor, Command};
    use atlas_actors::store::queries::db_info;
    use atlas_actors::store::{Maintenance, ReaderPool};
    actix::System::new().block_on(async move {
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), ActorRegistry::new())?;
        let result = if vacuum {
            match writer.maintain(Maintenance::Vacuum).await {
                Ok(detail) => {
                    let audit = Command::RecordMaintenance { action: "vacuum".into(), detail: detail.clone() };
                    writer.submit(audit, Actor::new("cli")).await.map_err(|e| e.to_string())?;
                    Ok(format!("{detail}\n"))
                }
                Err(err) => Err(err),
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
