//! Periodic upkeep that belongs to no actor yet. The Scheduler (a later issue) takes these over.

use crate::settings::Settings;
use atlas_actors::domain::{format_timestamp, Actor, Command};
use atlas_actors::Handles;
use std::time::Duration;

/// Expires approvals left pending longer than `approvals.expire_after_h` (when that is not 0).
pub fn spawn_approval_expiry(handles: &Handles, settings: &Settings) {
    let hours = settings.approvals.expire_after_h;
    if hours == 0 {
        return;
    }
    let writer = handles.writer.clone();
    let every = Duration::from_secs(settings.approvals.expiry_check_interval_s);
    actix_web::rt::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let cutoff = format_timestamp(chrono::Utc::now() - chrono::Duration::hours(hours as i64));
            match writer.submit(Command::ExpireApprovals { requested_before: cutoff }, Actor::system()).await {
                Ok(_) => {}
                Err(err) if err.kind() == "unavailable" => break,
                Err(err) => tracing::warn!(error = %err, "Expiring old approvals failed."),
            }
        }
    });
}
