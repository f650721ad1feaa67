//! The HTTP surface: the route table and the server. Handlers are thin: they turn requests into
//! commands for the writer or queries on the read pool, and errors into `ApiError`.

pub mod error;
mod probes;

use crate::settings::Settings;
use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpServer};
use atlas_actors::Handles;
pub use error::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub handles: Handles,
}

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(probes::healthz)).route("/readyz", web::get().to(probes::readyz));
}

/// Malformed JSON bodies and query strings answer in the same JSON error shape as everything else.
fn extractor_errors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1024 * 1024)
            .error_handler(|err, _: &HttpRequest| ApiError::bad_request(format!("invalid JSON body: {err}")).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _: &HttpRequest| ApiError::bad_request(format!("invalid query string: {err}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _: &HttpRequest| ApiError::bad_request(format!("invalid path: {err}")).into()),
    );
}

async fn unknown_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!("no route for {} {}", req.method(), req.path())))
}

/// Builds the server on an already bound listener; signals are handled by the caller.
pub fn server(handles: Handles, settings: &Settings, listener: std::net::TcpListener) -> std::io::Result<Server> {
    let state = web::Data::new(AppState { handles });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(extractor_errors)
            .configure(routes)
            .default_service(web::to(unknown_route))
    })
    .workers(settings.http.workers)
    .shutdown_timeout(settings.http.shutdown_timeout_s)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
