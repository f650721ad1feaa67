//! The console's stylesheet and its one script, compiled into the binary (no CDN, nothing fetched).

use actix_web::{web, HttpResponse};

const STYLE: &str = include_str!("assets/console.css");
const LIVE_LOG: &str = include_str!("assets/live.js");

pub async fn serve(name: web::Path<String>) -> HttpResponse {
    let (body, kind) = match name.as_str() {
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        "live.js" => (LIVE_LOG, "text/javascript; charset=utf-8"),
        _ => return super::render::problem(actix_web::http::StatusCode::NOT_FOUND, "no such asset"),
    };
    HttpResponse::Ok().content_type(kind).insert_header(("cache-control", "max-age=3600")).body(body)
}
