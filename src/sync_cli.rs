//! `atlas sync run|import|export|status`: the same Sheets cycle the service runs, in this process.
//! `import` and `run` are both a full cycle (an import is always followed by the export that restores
//! refused cells); `export` only writes.

use crate::settings::Settings;
use atlas_actors::domain::SystemClock;
use atlas_actors::registry::ActorRegistry;
use atlas_actors::sheets::client::SheetsClient;
use atlas_actors::sheets::cycle::Mirror;
use atlas_actors::store::queries::sync_state;
use atlas_actors::store::{ReaderPool, WriterHandle};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    Full,
    Export,
    Status,
}

/// Runs the action; returns the text for stdout, or a sentence for stderr.
pub fn run(settings: &Settings, action: SyncAction) -> Result<String, String> {
    if action != SyncAction::Status && !settings.sheets.enabled {
        return Err(
            "Sheets sync is disabled: set [sheets] enabled = true (and spreadsheet_id, credentials_file)".into()
        );
    }
    actix::System::new().block_on(async move {
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), ActorRegistry::new())?;
        let readers = ReaderPool::open(&settings.store_config())?;
        let result = match action {
            SyncAction::Status => status(&readers, settings.sheets.enabled).await,
            _ => cycle(settings, &writer, &readers, action).await,
        };
        writer.shutdown().await?;
        result
    })
}

async fn status(readers: &ReaderPool, enabled: bool) -> Result<String, String> {
    let states = readers.read(sync_state::all).await.map_err(|err| err.to_string())?;
    let mut out = format!("sheets sync: {}\n", if enabled { "enabled" } else { "disabled" });
    for s in states {
        out.push_str(&format!(
            "{:<7} last success {}  failures in a row {}  last error {}\n",
            s.direction,
            s.last_success_at.as_deref().unwrap_or("never"),
            s.consecutive_failures,
            s.last_error.as_deref().unwrap_or("-")
        ));
    }
    Ok(out)
}

async fn cycle(
    settings: &Settings,
    writer: &WriterHandle,
    readers: &ReaderPool,
    action: SyncAction,
) -> Result<String, String> {
    let config = settings.sheets_config();
    let client = SheetsClient::connect(config.client.clone()).await.map_err(|err| err.to_string())?;
    let mirror = Mirror {
        client: &client,
        readers,
        writer,
        clock: &SystemClock,
        scope: &config.scope,
        layout: &config.layout,
        owner: config.owner.as_deref(),
        allow_self_approval: config.allow_self_approval,
        allow_partial_payload: config.allow_partial_payload,
        requested_by: &crate::cli_actor::this_user(),
    };
    let mut structure = None;
    let text = if action == SyncAction::Export {
        let report = mirror.export_only(&mut structure).await.map_err(|err| err.to_string())?;
        format!(
            "export: {} cell(s) written, {} row(s) removed, {} tab(s) created",
            report.cells_written, report.rows_deleted, report.tabs_created
        )
    } else {
        let report = mirror.cycle(&mut structure).await.map_err(|err| err.to_string())?;
        format!(
            "sync: {} edit(s) applied, {} refused; {} cell(s) written, {} row(s) removed, {} tab(s) created{}",
            report.edits_applied,
            report.edits_refused,
            report.export.cells_written,
            report.export.rows_deleted,
            report.export.tabs_created,
            if report.broken_tabs.is_empty() {
                String::new()
            } else {
                format!("; repaired: {}", report.broken_tabs.join("; "))
            }
        )
    };
    Ok(format!("{text} ({} API requests)\n", client.requests()))
}
