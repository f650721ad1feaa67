//! The HTTP surface: the route table and the server. Handlers are thin: they turn requests into commands
//! for the writer or queries on the read pool, and errors into `ApiError`. Routes are registered through
//! utoipa-actix-web, so the OpenAPI document is built from the same table that serves requests. Every
//! route but `/healthz` and `/readyz` takes an `Auth<…>` extractor; `/metrics` checks a token itself unless
//! `[metrics] access = "loopback"` and the peer is loopback.

mod approvals;
mod audit;
pub mod auth;
pub mod backups;
pub mod browse;
pub mod db;
pub mod dto;
pub mod error;
mod errors;
pub mod extract;
pub mod gate;
mod hooks;
mod metrics;
mod openapi;
mod openapi_rules;
mod pitr;
mod probes;
mod projects;
pub mod runs;
mod schedules;
mod sinks;
mod sync;
pub mod tasks;
mod token_cache;
mod tokens;

use crate::settings::Settings;
use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpServer};
use atlas_actors::domain::ApprovalPolicy;
use atlas_actors::Handles;
pub use error::ApiError;
use utoipa_actix_web::{scope, AppExt};

/// What every handler can reach.
pub struct AppState {
    pub handles: Handles,
    pub policy: ApprovalPolicy,
    pub allow_self_approval: bool,
    pub max_body_bytes: usize,
    pub body_timeout: std::time::Duration,
    /// The database file (for sizes in the admin endpoints).
    pub database: std::path::PathBuf,
    pub backup_dir: std::path::PathBuf,
    pub metrics_access: crate::settings::MetricsAccess,
    /// Live tokens in memory (see `token_cache`).
    pub tokens: std::sync::Arc<token_cache::TokenCache>,
    /// The data browser's limits.
    pub browser: atlas_actors::store::browse::SqlLimits,
    /// Where SQL box queries run (a child process each) and what they may use.
    pub isolation: crate::browser_query::Isolation,
    /// Browser queries running at once: at most half the read pool, so a viewer's slow queries never
    /// hold every read connection the API needs.
    pub browser_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// How Alertmanager's alerts become hotlist entries.
    pub alertmanager: crate::settings::AlertmanagerSettings,
    /// Approval links: whether their page asks for a sign-in.
    pub links: crate::settings::notify::LinksSettings,
}

impl AppState {
    pub fn new(handles: Handles, settings: &Settings) -> Self {
        Self {
            handles,
            policy: settings.approval_policy(),
            allow_self_approval: settings.approvals.allow_self_approval,
            max_body_bytes: settings.http.max_body_bytes,
            body_timeout: std::time::Duration::from_secs(settings.http.body_timeout_s),
            database: settings.database.path.clone(),
            backup_dir: settings.backup.dir.clone(),
            metrics_access: settings.metrics.access,
            tokens: std::sync::Arc::default(),
            browser: settings.browser.limits(),
            isolation: settings.browser.isolation(),
            browser_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(
                (settings.database.read_pool_size as usize / 2).max(1),
            )),
            alertmanager: settings.alertmanager.clone(),
            links: settings.links.clone(),
        }
    }
}

/// The route table: probes at the root, everything else under /api/v1 behind a token.
fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(probes::healthz).service(probes::readyz).service(metrics::metrics).service(
        scope::scope("/api/v1")
            .service(openapi::document)
            .service(projects::list)
            .service(projects::create)
            .service(projects::get_one)
            .service(projects::update)
            .service(projects::remove)
            .service(tasks::list)
            .service(tasks::create)
            .service(tasks::get_one)
            .service(tasks::update)
            .service(tasks::remove)
            .service(tasks::run)
            .service(approvals::list)
            .service(approvals::get_one)
            .service(approvals::approve)
            .service(approvals::reject)
            .service(runs::list)
            .service(runs::get_one)
            .service(runs::cancel)
            .service(runs::log)
            .service(errors::list)
            .service(errors::get_one)
            .service(errors::resolve)
            .service(audit::list)
            .service(tokens::list)
            .service(tokens::create)
            .service(tokens::revoke)
            .service(schedules::list)
            .service(schedules::run_now)
            .service(sync::status)
            .service(sync::run)
            .service(backups::list)
            .service(backups::list_remote)
            .service(backups::create)
            .service(backups::upload)
            .service(backups::restore_remote)
            .service(backups::verify)
            .service(backups::restore)
            .service(pitr::status)
            .service(pitr::restore)
            .service(sinks::list)
            .service(sinks::retry)
            .service(sinks::enable)
            .service(hooks::alertmanager)
            .service(db::health)
            .service(db::stats)
            .service(db::vacuum)
            .service(db::checkpoint)
            .service(probes::admin_health)
            .service(browse::sql)
            .service(browse::tables)
            .service(browse::rows)
            .service(browse::summary),
    );
}

/// The OpenAPI document, built from the route table, with the answers and rules it does not hold.
pub fn openapi_document() -> serde_json::Value {
    let mut document = App::new().into_utoipa_app().openapi(openapi::base()).configure(routes).split_for_parts().1;
    openapi::name_operations(&mut document);
    let mut document = serde_json::to_value(document).unwrap_or_default();
    openapi_rules::refine(&mut document);
    document
}

/// Malformed path segments and payloads answer in the same JSON error shape as everything else.
fn extractor_errors(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(web::PayloadConfig::new(max_body_bytes)).app_data(
        web::PathConfig::default()
            .error_handler(|err, _: &HttpRequest| ApiError::bad_request(format!("invalid path: {err}")).into()),
    );
}

/// A path no route has is 404; a path that has routes, asked with another method, is 405 with `Allow`.
/// The root leads a person to the console.
async fn unknown_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if req.path() == "/" && req.method() == actix_web::http::Method::GET {
        return Ok(actix_web::HttpResponse::SeeOther().insert_header(("Location", "/console/")).finish());
    }
    let document = req.app_data::<web::Data<serde_json::Value>>();
    let paths = document.and_then(|doc| doc["paths"].as_object());
    let served = paths
        .into_iter()
        .flatten()
        .find(|(template, _)| actix_web::dev::ResourceDef::new(template.as_str()).is_match(req.path()));
    let Some((_, item)) = served else {
        return Err(ApiError::not_found(format!("no route for {} {}", req.method(), req.path())));
    };
    let allowed: Vec<String> = item.as_object().into_iter().flatten().map(|(m, _)| m.to_uppercase()).collect();
    let message = format!("{} {} is not served; this path answers {}", req.method(), req.path(), allowed.join(", "));
    let body = serde_json::json!({ "error": { "code": "method_not_allowed", "message": message } });
    Ok(actix_web::HttpResponse::MethodNotAllowed().insert_header(("Allow", allowed.join(", "))).json(body))
}

/// Builds the server on an already bound listener; signals are handled by the caller.
pub fn server(handles: Handles, settings: &Settings, listener: std::net::TcpListener) -> std::io::Result<Server> {
    let state = web::Data::new(AppState::new(handles, settings));
    let document = web::Data::new(openapi_document());
    let http_metrics = web::Data::new(crate::metrics::HttpMetrics::default());
    let console = web::Data::new(crate::console::ConsoleState::new(settings));
    let max_body_bytes = settings.http.max_body_bytes;
    let server = HttpServer::new(move || {
        let (app, _) = App::new().into_utoipa_app().configure(routes).split_for_parts();
        app.app_data(state.clone())
            .app_data(document.clone())
            .app_data(http_metrics.clone())
            .app_data(console.clone())
            .service(crate::console::scope())
            .wrap(actix_web::middleware::from_fn(metrics::record))
            .configure(|cfg| extractor_errors(cfg, max_body_bytes))
            .default_service(web::to(unknown_route))
    })
    .workers(settings.http.workers)
    .max_connections(settings.http.max_connections)
    .shutdown_timeout(settings.http.shutdown_timeout_s)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
