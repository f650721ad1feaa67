//! `atlas backup create|list|verify`: the Backup actor's work, in this process (the service need not run).

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
    actix::System::new().block_on(async move {
        let registry = ActorRegistry::new();
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), registry.clone())?;
        let backup = BackupHandle::start(settings.backup_config(), writer.clone(), Arc::new(SystemClock), registry);
        let answer = backup.ask(request).await;
        writer.shutdown().await?;
        match answer? {
            BackupAnswer::Many(all) if all.is_empty() => {
                Ok(format!("no backups in {}\n", settings.backup.dir.display()))
            }
            BackupAnswer::Many(all) => Ok(all.iter().map(describe).collect()),
            BackupAnswer::One(m) if m.verified_ok == Some(false) => Err(describe(&m).trim_end().to_owned()),
            BackupAnswer::One(m) => Ok(describe(&m)),
        }
    })
}
