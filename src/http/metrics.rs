//! `GET /metrics` (OpenMetrics text, which Prometheus reads) and the middleware that times every request.
//! Access is `[metrics] access`: any valid token, or no token from the loopback interface.

use super::auth::{Auth, Read};
use super::error::ApiError;
use super::AppState;
use crate::metrics::{Exposition, HttpMetrics, Kind, Labels};
use crate::settings::MetricsAccess;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use atlas_actors::backup::file;
use atlas_actors::store::queries::{gauges, sync_state};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Times a request and records it under its route pattern (unknown paths share one series).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let series = req.app_data::<web::Data<HttpMetrics>>().cloned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let result = next.call(req).await;
    if let Some(series) = series {
        let status = match &result {
            Ok(response) => response.status().as_u16(),
            Err(err) => err.as_response_error().status_code().as_u16(),
        };
        series.record(&route, &method, status, started.elapsed().as_secs_f64());
    }
    result
}

fn epoch_seconds(text: &str) -> Option<f64> {
    atlas_actors::domain::parse_timestamp(text).map(|at| at.timestamp_millis() as f64 / 1000.0)
}

/// Everything Atlas measures, in OpenMetrics text (prometheus-client).
#[utoipa::path(tag = "probes", responses(
    (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"),
    (status = 401, body = super::dto::ErrorBody)))]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let loopback = req.peer_addr().is_some_and(|peer| peer.ip().is_loopback());
    if !(state.metrics_access == MetricsAccess::Loopback && loopback) {
        Auth::<Read>::from_request(&req, &mut Payload::None).await?;
    }
    let handles = &state.handles;
    let mut out = Exposition::default();
    if let Some(http) = req.app_data::<web::Data<HttpMetrics>>() {
        out.http(http);
    }
    let stats = handles.writer.stats();
    out.single(
        "atlas_writer_queue_depth",
        Kind::Gauge,
        "Commands submitted and not yet answered.",
        stats.in_flight.load(Ordering::Relaxed) as f64,
    );
    out.single(
        "atlas_writer_batches_total",
        Kind::Counter,
        "Transactions committed by the writer.",
        stats.batches.load(Ordering::Relaxed) as f64,
    );
    out.single(
        "atlas_writer_commands_total",
        Kind::Counter,
        "Commands committed by the writer.",
        stats.commands.load(Ordering::Relaxed) as f64,
    );
    out.single(
        "atlas_writer_commit_seconds_total",
        Kind::Counter,
        "Time spent applying and committing batches.",
        stats.commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
    );
    out.single(
        "atlas_writer_last_batch_size",
        Kind::Gauge,
        "Commands in the last committed batch.",
        stats.last_batch.load(Ordering::Relaxed) as f64,
    );

    let actors = handles.registry.snapshot();
    let label = |name: &str| -> Labels { vec![("actor", name.to_owned())] };
    let restarts: Vec<_> = actors.iter().map(|(name, s)| (label(name), s.restarts as f64)).collect();
    out.family("atlas_actor_restarts_total", Kind::Counter, "Restarts per actor since the process started.", &restarts);
    let up: Vec<_> = actors
        .iter()
        .map(|(name, s)| (label(name), f64::from(u8::from(s.state == atlas_actors::registry::ActorState::Running))))
        .collect();
    out.family("atlas_actor_up", Kind::Gauge, "1 while the actor runs.", &up);

    let (counts, syncs) = handles
        .readers
        .read(|conn| Ok((gauges::read(conn)?, sync_state::all(conn)?)))
        .await
        .map_err(|err| ApiError::unavailable(format!("cannot read the database: {err}")))?;
    let runs: Vec<_> = counts.runs_by_state.iter().map(|(s, n)| (vec![("state", s.to_string())], *n as f64)).collect();
    out.family("atlas_runs", Kind::Gauge, "Runs by state.", &runs);
    out.single(
        "atlas_pending_approvals",
        Kind::Gauge,
        "Approvals waiting for a decision.",
        counts.pending_approvals as f64,
    );
    let oldest = counts.oldest_pending_requested_at.as_deref().and_then(epoch_seconds).unwrap_or(0.0);
    out.single(
        "atlas_oldest_pending_approval_timestamp_seconds",
        Kind::Gauge,
        "When the oldest pending approval was requested (0: none).",
        oldest,
    );
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    out.single(
        "atlas_oldest_pending_approval_age_seconds",
        Kind::Gauge,
        "How long the oldest pending approval has waited (0: none).",
        if oldest > 0.0 { (now - oldest).max(0.0) } else { 0.0 },
    );
    let errors: Vec<_> = counts
        .unresolved_errors_by_severity
        .iter()
        .map(|(s, n)| (vec![("severity", s.to_string())], *n as f64))
        .collect();
    out.family("atlas_unresolved_errors", Kind::Gauge, "Unresolved hotlist errors by severity.", &errors);
    let direction = |s: &sync_state::SyncState| -> Labels { vec![("direction", s.direction.clone())] };
    let success: Vec<_> = syncs
        .iter()
        .map(|s| (direction(s), s.last_success_at.as_deref().and_then(epoch_seconds).unwrap_or(0.0)))
        .collect();
    out.family(
        "atlas_sync_last_success_timestamp_seconds",
        Kind::Gauge,
        "Last successful Sheets sync per direction.",
        &success,
    );
    let failures: Vec<_> = syncs.iter().map(|s| (direction(s), s.consecutive_failures as f64)).collect();
    out.family(
        "atlas_sync_consecutive_failures",
        Kind::Gauge,
        "Failed Sheets syncs in a row per direction.",
        &failures,
    );
    let requests: Vec<_> = syncs.iter().map(|s| (direction(s), s.last_requests as f64)).collect();
    out.family("atlas_sync_last_requests", Kind::Gauge, "Sheets API requests made by the last sync.", &requests);
    let applied: Vec<_> = syncs.iter().map(|s| (direction(s), s.edits_applied as f64)).collect();
    out.family("atlas_sync_last_edits_applied", Kind::Gauge, "Sheet edits applied by the last import.", &applied);
    let rejected: Vec<_> = syncs.iter().map(|s| (direction(s), s.edits_rejected as f64)).collect();
    out.family("atlas_sync_last_edits_rejected", Kind::Gauge, "Sheet edits refused by the last import.", &rejected);

    let dir = state.backup_dir.clone();
    let backups = web::block(move || file::list(&dir)).await.ok().and_then(Result::ok).unwrap_or_default();
    out.single("atlas_backups_local", Kind::Gauge, "Local backups.", backups.len() as f64);
    if let Some(newest) = backups.first() {
        let finished = epoch_seconds(&newest.finished_at).unwrap_or(0.0);
        out.single("atlas_backup_newest_timestamp_seconds", Kind::Gauge, "When the newest backup finished.", finished);
        out.single(
            "atlas_backup_newest_size_bytes",
            Kind::Gauge,
            "Size of the newest backup.",
            newest.size_bytes as f64,
        );
        let verified = match newest.verified_ok {
            Some(true) => 1.0,
            Some(false) => -1.0,
            None => 0.0,
        };
        out.single(
            "atlas_backup_newest_verified",
            Kind::Gauge,
            "1 verified, -1 failed verification, 0 not verified yet.",
            verified,
        );
    }
    outcomes(&state, &mut out).await?;
    if state.handles.pitr.monitor.enabled() {
        pitr(&state, &mut out).await?;
    }
    Ok(HttpResponse::Ok().content_type(crate::metrics::CONTENT_TYPE).body(out.finish()))
}

/// The mirror contract's outcome measures over 7 days (`health/outcomes.rs`).
async fn outcomes(state: &AppState, out: &mut Exposition) -> Result<(), ApiError> {
    use atlas_actors::health::outcomes::{Outcomes, Spread};
    let now = chrono::Utc::now();
    let measured =
        state.handles.readers.read(move |conn| Outcomes::read(conn, now)).await.map_err(ApiError::from_read)?;
    let quantiles = |spread: &Spread| {
        [("0.5", spread.median_s), ("0.9", spread.p90_s)]
            .into_iter()
            .filter_map(|(q, value)| value.map(|v| (vec![("quantile", q.to_owned())], v)))
            .collect::<Vec<_>>()
    };
    out.family(
        "atlas_outcome_decision_seconds",
        Kind::Gauge,
        "Time from an approval's request to its decision, over 7 days.",
        &quantiles(&measured.decision_time),
    );
    out.single(
        "atlas_outcome_decisions",
        Kind::Gauge,
        "Approvals decided in 7 days.",
        measured.decision_time.count as f64,
    );
    out.family(
        "atlas_outcome_critical_resolution_seconds",
        Kind::Gauge,
        "Time to resolve a critical error, over 7 days.",
        &quantiles(&measured.critical_resolution_time),
    );
    if let Some(pct) = measured.sync_completion.pct {
        out.single(
            "atlas_outcome_sync_completion_ratio",
            Kind::Gauge,
            "Sheets syncs that completed, 7 days.",
            pct / 100.0,
        );
    }
    if let Some(pct) = measured.validation_pass.pct {
        out.single(
            "atlas_outcome_validation_pass_ratio",
            Kind::Gauge,
            "Sheets edits that passed validation, 7 days.",
            pct / 100.0,
        );
    }
    Ok(())
}

/// The point-in-time recovery figures `GET /api/v1/admin/pitr` shows.
async fn pitr(state: &AppState, out: &mut Exposition) -> Result<(), ApiError> {
    let outbox =
        state.handles.readers.read(atlas_actors::pitr::OutboxFigures::read).await.map_err(ApiError::from_read)?;
    let report = state.handles.pitr.monitor.report(outbox, chrono::Utc::now());
    out.single(
        "atlas_pitr_lag_seconds",
        Kind::Gauge,
        "How long the oldest unshipped change has waited.",
        report.lag_seconds,
    );
    out.single(
        "atlas_pitr_outbox_rows",
        Kind::Gauge,
        "Committed batches not yet shipped off-site.",
        report.outbox.rows as f64,
    );
    out.single(
        "atlas_pitr_outbox_bytes",
        Kind::Gauge,
        "Bytes of changesets not yet shipped.",
        report.outbox.bytes as f64,
    );
    let restorable = report.restorable_through.as_deref().and_then(epoch_seconds).unwrap_or(0.0);
    out.single(
        "atlas_pitr_restorable_timestamp_seconds",
        Kind::Gauge,
        "The newest point a restore from the bucket reaches (0: no snapshot starts the chain yet).",
        restorable,
    );
    let failures = f64::from(report.shipper.consecutive_failures);
    out.single("atlas_pitr_upload_failures", Kind::Gauge, "Failed shipping cycles in a row.", failures);
    out.single(
        "atlas_pitr_segments_uploaded_total",
        Kind::Counter,
        "Segments shipped since start.",
        report.shipper.segments_uploaded as f64,
    );
    Ok(())
}
