//! The console's pages, one file per area; `routes` is the whole table.

mod admin;
mod approval_diff;
mod approvals;
mod audit;
mod browse;
mod confirm;
mod create;
mod errors;
mod health;
mod items;
mod link;
mod live;
mod login;
mod names;
mod runs;
mod search;
mod table;
mod trends;

use super::ConsoleError;
use actix_web::web::{get, post, resource, to, ServiceConfig};
use actix_web::Resource;
pub use login::sign_in_again;

/// A resource that answers any method it has no route for with a 405 page naming the ones it has.
pub fn at(path: &str, allowed: &'static str) -> Resource {
    resource(path).default_service(to(move || async move {
        Err::<actix_web::HttpResponse, _>(ConsoleError::NotAllowed(allowed))
    }))
}

/// An empty form (actions that carry nothing but their CSRF token).
#[derive(serde::Deserialize)]
pub struct Empty {}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(at("", "GET").route(get().to(login::home)))
        .service(at("/", "GET").route(get().to(login::home)))
        .service(at("/login", "GET, POST").route(get().to(login::form)).route(post().to(login::sign_in)))
        .service(at("/logout", "POST").route(post().to(login::sign_out)))
        .service(at("/approvals", "GET").route(get().to(approvals::queue)))
        .service(at("/approvals/{id}", "GET").route(get().to(approvals::one)))
        .service(at("/approvals/{id}/{decision}", "POST").route(post().to(approvals::decide)))
        .service(at("/link/{link}", "GET, POST").route(get().to(link::show)).route(post().to(link::decide)))
        .service(at("/runs", "GET").route(get().to(runs::list)))
        .service(at("/runs/{id}", "GET").route(get().to(runs::one)))
        .service(at("/runs/{id}/live", "GET").route(get().to(live::follow)))
        .service(at("/runs/{id}/cancel", "POST").route(post().to(runs::cancel)))
        .service(at("/runs/{id}/requeue", "POST").route(post().to(runs::requeue)))
        .service(at("/errors", "GET").route(get().to(errors::list)))
        .service(at("/errors/resolve", "POST").route(post().to(errors::resolve_checked)))
        .service(at("/errors/{id}/resolve", "POST").route(post().to(errors::resolve)))
        .service(at("/audit", "GET").route(get().to(audit::timeline)))
        .service(at("/search", "GET").route(get().to(search::results)))
        .service(at("/health", "GET").route(get().to(health::report)))
        .service(at("/tasks/{id}", "GET, POST").route(get().to(items::task)).route(post().to(items::edit_task)))
        .service(at("/tasks/{id}/run", "POST").route(post().to(items::run_task)))
        .service(at("/projects", "GET, POST").route(get().to(create::list)).route(post().to(create::create_project)))
        .service(
            at("/projects/{id}", "GET, POST").route(get().to(items::project)).route(post().to(items::edit_project)),
        )
        .service(at("/projects/{id}/tasks", "POST").route(post().to(create::create_task)))
        .service(at("/browse", "GET").route(get().to(browse::index)))
        .service(at("/browse/sql", "GET, POST").route(get().to(browse::sql_view)).route(post().to(browse::query)))
        .service(at("/browse/tables/{table}", "GET").route(get().to(table::table)))
        .configure(admin::routes);
}
