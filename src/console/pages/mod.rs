//! The console's pages, one file per area; `routes` is the whole table.

mod admin;
mod approvals;
mod audit;
mod browse;
mod errors;
mod health;
mod items;
mod live;
mod login;
mod runs;

use actix_web::web::{get, post, resource, ServiceConfig};

/// An empty form (actions that carry nothing but their CSRF token).
#[derive(serde::Deserialize)]
pub struct Empty {}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("").route(get().to(login::home)))
        .service(resource("/").route(get().to(login::home)))
        .service(resource("/login").route(get().to(login::form)).route(post().to(login::sign_in)))
        .service(resource("/logout").route(post().to(login::sign_out)))
        .service(resource("/approvals").route(get().to(approvals::queue)))
        .service(resource("/approvals/{id}").route(get().to(approvals::one)))
        .service(resource("/approvals/{id}/{decision}").route(post().to(approvals::decide)))
        .service(resource("/runs").route(get().to(runs::list)))
        .service(resource("/runs/{id}").route(get().to(runs::one)))
        .service(resource("/runs/{id}/live").route(get().to(live::follow)))
        .service(resource("/runs/{id}/cancel").route(post().to(runs::cancel)))
        .service(resource("/runs/{id}/requeue").route(post().to(runs::requeue)))
        .service(resource("/errors").route(get().to(errors::list)))
        .service(resource("/errors/{id}/resolve").route(post().to(errors::resolve)))
        .service(resource("/audit").route(get().to(audit::timeline)))
        .service(resource("/health").route(get().to(health::report)))
        .service(resource("/tasks/{id}").route(get().to(items::task)).route(post().to(items::edit_task)))
        .service(resource("/tasks/{id}/run").route(post().to(items::run_task)))
        .service(resource("/projects/{id}").route(get().to(items::project)).route(post().to(items::edit_project)))
        .service(resource("/browse").route(get().to(browse::index)))
        .service(resource("/browse/sql").route(get().to(browse::canned_query)).route(post().to(browse::query)))
        .service(resource("/browse/tables/{table}").route(get().to(browse::table)))
        .configure(admin::routes);
}
