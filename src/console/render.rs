//! Pages out: a template rendered with the console's security headers, and the small formatting helpers
//! templates share (ages, durations). Templates auto-escape every value; nothing here marks text safe.

use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::HttpResponse;
use askama::Template;
use atlas_actors::domain::clock::parse_timestamp;

/// No inline script or style, nothing from elsewhere, no framing, forms only back to Atlas.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers on every console response, errors included.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("content-security-policy", CONTENT_SECURITY_POLICY))
        .add(("x-content-type-options", "nosniff"))
        .add(("x-frame-options", "DENY"))
        .add(("referrer-policy", "same-origin"))
        .add(("cache-control", "no-store"))
}

/// A rendered page (200).
pub fn page(template: &impl Template) -> Result<HttpResponse, super::ConsoleError> {
    let html =
        template.render().map_err(|err| super::ConsoleError::Bad(format!("the page failed to render: {err}")))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// An error page that says what went wrong, with the status the API would have answered.
pub fn problem(status: StatusCode, message: &str) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    let html = Problem { status: status.as_u16(), reason, message }
        .render()
        .unwrap_or_else(|_| format!("{} {reason}", status.as_u16()));
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)
}

/// A query string from pairs, each value encoded.
pub fn link(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// How long ago a stored timestamp was, as a person reads it ("3 min", "5 h", "2 d").
pub fn age(stored: &str) -> String {
    let Some(at) = parse_timestamp(stored) else { return String::new() };
    span((chrono::Utc::now() - at).num_seconds().max(0))
}

/// A stored timestamp as people say it: "just now", "3 min ago", "in 2 h" (the stored text itself when it
/// is not a timestamp).
pub fn ago(stored: &str) -> String {
    let Some(at) = parse_timestamp(stored) else { return stored.to_owned() };
    relative((chrono::Utc::now() - at).num_seconds())
}

fn relative(seconds: i64) -> String {
    match seconds {
        s if s.abs() < 10 => "just now".into(),
        s if s < 0 => format!("in {}", span(-s)),
        s => format!("{} ago", span(s)),
    }
}

/// A stored timestamp exactly, in this server's local time with its offset, to the second (the hover and
/// print text beside `ago`; exports keep ISO 8601 UTC as stored).
pub fn exact(stored: &str) -> String {
    match parse_timestamp(stored) {
        Some(at) => at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        None => stored.to_owned(),
    }
}

/// The time between two stored timestamps (a run's duration), or "" when either is missing.
pub fn between(from: Option<&str>, to: Option<&str>) -> String {
    match (from.and_then(parse_timestamp), to.and_then(parse_timestamp)) {
        (Some(a), Some(b)) => span((b - a).num_seconds().max(0)),
        (Some(a), None) => format!("{} so far", span((chrono::Utc::now() - a).num_seconds().max(0))),
        _ => String::new(),
    }
}

fn span(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(5), "5 s");
        assert_eq!(span(125), "2 min");
        assert_eq!(span(3 * 3600 + 5), "3 h");
        assert_eq!(span(72 * 3600), "3 d");
        assert_eq!(between(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:01:30Z")), "1 min");
        assert_eq!(between(None, None), "");
    }

    #[test]
    fn times_read_relative_with_the_exact_time_beside() {
        assert_eq!(relative(3), "just now");
        assert_eq!(relative(180), "3 min ago");
        assert_eq!(relative(-7200), "in 2 h");
        assert_eq!(ago("not a time"), "not a time");
        let exact = exact("2026-01-01T00:00:00.123Z");
        assert!(exact.starts_with("20") && !exact.contains(".123") && exact.len() == 26, "{exact}");
    }
}
