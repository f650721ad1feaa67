//! The web console under `/console/`: server-rendered pages (askama templates, checked at compile time)
//! for the people in the loop: approvals, runs with their live log, the errors hotlist, the audit
//! timeline, health, administration and the data browser. It is a second door onto the same rooms as
//! the API: every action is a writer command built and sent through `http::gate` exactly as the API does,
//! under the signed-in token's name and role, and every read goes through the read-only pool.
//!
//! Sessions are server-side (`session`); `guard` holds the doors (sign-in, role, same origin, CSRF).
//! Pages work without JavaScript; the one script follows a run's live log.

mod assets;
mod charts;
mod export;
mod guard;
mod pages;
mod render;
pub mod session;

use crate::http::ApiError;
use crate::settings::Settings;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use std::collections::BTreeMap;
use std::fmt;

/// What the console keeps beside the API's state.
pub struct ConsoleState {
    pub sessions: session::Sessions,
    /// Canned browser queries from `[browser.queries]`.
    pub queries: BTreeMap<String, String>,
}

impl ConsoleState {
    pub fn new(settings: &Settings) -> Self {
        Self {
            sessions: session::Sessions::new(settings.console.idle(), settings.console.lifetime()),
            queries: settings.browser.queries.clone(),
        }
    }
}

/// Why a console request was not served, each as a page (or a way to the sign-in page).
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go and sign in, then back to this page (a path, or empty).
    SignIn(String),
    /// A form posted after its session ended: the sign-in page, carrying the form's page and its draft
    /// (and whether the cookie must be `Secure`).
    SignInAgain(String, session::Draft, bool),
    /// A refused form: back to its page (the reason and the draft are left in the session).
    Back(String),
    /// A state-changing request not from this console's own pages.
    CrossSite(String),
    /// A malformed form or parameter.
    Bad(String),
    /// A form over the console's size limit.
    TooLarge(String),
    /// A method the page does not answer; the methods it does.
    NotAllowed(&'static str),
    /// What the API would have answered (not found, conflict, forbidden, busy…).
    Api(ApiError),
    /// The application state is not installed (a wiring bug, never a user's fault).
    Missing,
}

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignIn(_) | Self::SignInAgain(..) => write!(f, "sign in first"),
            Self::Back(page) => write!(f, "refused; see {page}"),
            Self::CrossSite(why) => write!(f, "refused as a cross-site request: {why}"),
            Self::Bad(why) | Self::TooLarge(why) => write!(f, "{why}"),
            Self::NotAllowed(allowed) => write!(f, "this page answers {allowed} only"),
            Self::Api(err) => write!(f, "{}", err.message),
            Self::Missing => write!(f, "the console's state is missing"),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) | Self::Back(_) => StatusCode::SEE_OTHER,
            Self::SignInAgain(..) => StatusCode::UNAUTHORIZED,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::Bad(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Api(err) => err.status,
            Self::Missing => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn(next) if local_page(next).is_some() => {
                let to = format!("/console/login?{}", render::link(&[("next", next)]));
                return HttpResponse::SeeOther().insert_header(("location", to)).finish();
            }
            Self::SignIn(_) => return back_to("/console/login"),
            Self::Back(page) => return back_to(page),
            Self::SignInAgain(page, draft, secure) => return pages::sign_in_again(page, draft, *secure),
            _ => {}
        }
        let mut response = render::problem(self.status_code(), &self.to_string());
        if let Self::NotAllowed(allowed) = self {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, actix_web::http::header::HeaderValue::from_static(allowed));
        }
        if let Self::Api(ApiError { retry_after: Some(seconds), .. }) = self {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(*seconds));
        }
        response
    }
}

/// `path` when it is a page of this console a browser may be sent to (no other host, no sign-in loop).
pub fn local_page(path: &str) -> Option<&str> {
    let plain = path.starts_with("/console/")
        && !path.starts_with("/console/login")
        && path.len() <= 2_000
        && !path.contains("//")
        && !path.split(['/', '?']).any(|segment| segment == ".." || segment == ".")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    plain.then_some(path)
}

/// A 303 back to a console page after an action.
pub fn back_to(path: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("location", path.to_owned())).finish()
}

/// The console's routes, mounted on the API's listener.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let bad = |what: &'static str| move |err: &dyn fmt::Display| ConsoleError::Bad(format!("{what}: {err}"));
    web::scope("/console")
        .wrap(render::security_headers())
        // The console's own limits and error pages, in place of the API's JSON ones.
        .app_data(web::PayloadConfig::new(guard::MAX_FORM_BYTES))
        .app_data(
            web::FormConfig::default()
                .limit(guard::MAX_FORM_BYTES)
                .error_handler(move |err, _| bad("the form")(&err).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(move |err, _| bad("query")(&err).into()))
        .app_data(web::PathConfig::default().error_handler(move |err, _| bad("path")(&err).into()))
        .configure(pages::routes)
        .service(web::resource("/assets/{name}").route(web::get().to(assets::serve)))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ConsoleError::Api(ApiError::not_found("no such console page")))
        }))
}
