//! Sign in with an API token, sign out. The session cookie is `HttpOnly; SameSite=Strict` (and `Secure`
//! behind TLS), scoped to `/console`; the sign-in form is protected by a double-submit cookie.

use super::super::guard::{same_origin, Signed};
use super::super::render::page;
use super::super::session::{random_token, same_secret, COOKIE, LOGIN_COOKIE};
use super::super::{back_to, ConsoleError, ConsoleState};
use super::Empty;
use crate::http::auth::{caller_for_hash, Read};
use crate::http::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use atlas_actors::domain::Record;
use atlas_actors::domain::{token_hash, Command};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    problem: Option<String>,
}

fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> Cookie<'a> {
    let secure = req.connection_info().scheme() == "https";
    Cookie::build(name, value).path("/console").http_only(true).same_site(SameSite::Strict).secure(secure).finish()
}

fn removal<'a>(name: &'a str) -> Cookie<'a> {
    let mut gone = Cookie::build(name, "").path("/console").finish();
    gone.make_removal();
    gone
}

pub async fn home() -> HttpResponse {
    back_to("/console/approvals")
}

fn login_page(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    problem: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let csrf = random_token();
    let mut response = page(&LoginPage { csrf: csrf.clone(), problem })?;
    *response.status_mut() = status;
    response.add_cookie(&cookie(req, LOGIN_COOKIE, csrf)).map_err(|e| ConsoleError::Bad(e.to_string()))?;
    Ok(response)
}

pub async fn form(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    login_page(&req, actix_web::http::StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
pub struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    console: web::Data<ConsoleState>,
    form: web::Form<SignIn>,
) -> Result<HttpResponse, ConsoleError> {
    same_origin(&req)?;
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.csrf, &expected) {
        return Err(ConsoleError::CrossSite("the sign-in form's token does not match; reload the sign-in page".into()));
    }
    let token = form.token.trim();
    if token.is_empty() || token.len() > 256 {
        return login_page(&req, actix_web::http::StatusCode::UNAUTHORIZED, Some("token: paste an API token".into()));
    }
    let hash = token_hash(token);
    let caller = match caller_for_hash(&state, &hash).await {
        Ok(caller) => caller,
        Err(err) if err.status == actix_web::http::StatusCode::UNAUTHORIZED => {
            return login_page(&req, err.status, Some(format!("token: {}", err.message)));
        }
        Err(err) => return Err(ConsoleError::Api(err)),
    };
    // Who signed in, and when, is on record like every other access worth knowing.
    let signed_in = Command::Record(Record::Session { signed_in: true, role: caller.role });
    state.handles.writer.submit(signed_in, caller.actor()).await.map_err(|e| ConsoleError::Api(e.into()))?;
    // A browser signing in again (perhaps as someone else) leaves no earlier session of its own behind.
    if let Some(earlier) = req.cookie(COOKIE) {
        console.sessions.end(earlier.value());
    }
    let session = console.sessions.begin(hash);
    tracing::info!(name = %caller.name, role = %caller.role, "Console sign-in.");
    let mut response = back_to("/console/approvals");
    let added =
        response.add_cookie(&cookie(&req, COOKIE, session)).and_then(|_| response.add_cookie(&removal(LOGIN_COOKIE)));
    added.map_err(|e| ConsoleError::Bad(e.to_string()))?;
    Ok(response)
}

pub async fn sign_out(posted: super::super::guard::Posted<Read, Empty>) -> Result<HttpResponse, ConsoleError> {
    let Signed { console, session_id, caller, state, .. } = posted.signed;
    console.sessions.end(&session_id);
    let signed_out = Command::Record(Record::Session { signed_in: false, role: caller.role });
    if let Err(err) = state.handles.writer.submit(signed_out, caller.actor()).await {
        tracing::warn!(error = %err, "Could not audit a console sign-out.");
    }
    tracing::info!(name = %caller.name, "Console sign-out.");
    let mut response = back_to("/console/login");
    response.add_cookie(&removal(COOKIE)).map_err(|e| ConsoleError::Bad(e.to_string()))?;
    Ok(response)
}
