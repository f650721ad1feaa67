//! Sign in with an API token, sign out. The session cookie is `HttpOnly; SameSite=Strict` (and `Secure`
//! behind TLS), scoped to `/console`; the sign-in form is protected by a double-submit cookie.

use super::super::guard::{same_origin, Signed};
use super::super::render::page;
use super::super::session::{random_token, same_secret, Draft, Flash, COOKIE, LOGIN_COOKIE};
use super::super::{back_to, local_page, ConsoleError, ConsoleState};
use super::Empty;
use crate::http::auth::{caller_for_hash, Read};
use crate::http::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::ResponseError;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use atlas_actors::domain::Record;
use atlas_actors::domain::{token_hash, Command};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    problem: Option<String>,
    /// The page to return to once signed in (empty: the queue).
    next: String,
    /// A form the session ended under, carried through the sign-in as hidden fields.
    draft: Option<Draft>,
}

fn secure(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn cookie(name: &str, value: String, secure: bool) -> Cookie<'_> {
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
    status: StatusCode,
    problem: Option<String>,
    next: &str,
    draft: Option<Draft>,
    secure: bool,
) -> HttpResponse {
    let csrf = random_token();
    let next = local_page(next).unwrap_or_default().to_owned();
    let login = LoginPage { csrf: csrf.clone(), problem, next, draft };
    let mut response = match page(&login) {
        Ok(response) => response,
        Err(err) => return err.error_response(),
    };
    *response.status_mut() = status;
    if let Err(err) = response.add_cookie(&cookie(LOGIN_COOKIE, csrf, secure)) {
        return ConsoleError::Bad(err.to_string()).error_response();
    }
    response
}

#[derive(serde::Deserialize)]
pub struct Next {
    #[serde(default)]
    next: String,
}

pub async fn form(req: HttpRequest, query: web::Query<Next>) -> HttpResponse {
    login_page(StatusCode::OK, None, &query.next, None, secure(&req))
}

/// A form posted after its session ended: sign in again, then back to its page with what was typed.
pub fn sign_in_again(page: &str, draft: &Draft, secure: bool) -> HttpResponse {
    let why = "Your sign-in ended before the form was sent. Sign in again: you return to the page with \
               what you typed, to check and send again.";
    login_page(StatusCode::UNAUTHORIZED, Some(why.into()), page, Some(draft.clone()), secure)
}

/// The sign-in form's fields: its token, where to go next, and a carried draft (`draft.<field>`).
struct SignIn {
    csrf: String,
    token: String,
    next: String,
    draft: Option<Draft>,
}

impl SignIn {
    fn of(fields: Vec<(String, String)>) -> Self {
        let one = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let (csrf, token, next, action) = (one("csrf"), one("token"), one("next"), one("draft_action"));
        let kept: Vec<(String, String)> = fields
            .iter()
            .filter_map(|(n, v)| n.strip_prefix("draft.").map(|name| (name.to_owned(), v.clone())))
            .collect();
        let page = local_page(&next).map(|p| p.split('?').next().unwrap_or(p).to_owned());
        let draft = match (page, local_page(&action)) {
            (Some(page), Some(action)) if !kept.is_empty() => Some(Draft::from_fields(&page, action, kept)),
            _ => None,
        };
        Self { csrf, token, next, draft }
    }
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    console: web::Data<ConsoleState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    same_origin(&req)?;
    let form = SignIn::of(form.into_inner());
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.csrf, &expected) {
        return Err(ConsoleError::CrossSite("the sign-in form's token does not match; reload the sign-in page".into()));
    }
    let again =
        |status, problem: String| login_page(status, Some(problem), &form.next, form.draft.clone(), secure(&req));
    let token = form.token.trim();
    if token.is_empty() || token.len() > 256 {
        return Ok(again(StatusCode::UNAUTHORIZED, "token: paste an API token".into()));
    }
    let hash = token_hash(token);
    let caller = match caller_for_hash(&state, &hash).await {
        Ok(caller) => caller,
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            return Ok(again(err.status, format!("token: {}", err.message)));
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
    if let Some(draft) = form.draft {
        console.sessions.keep_draft(&session, draft);
        let text = "Signed in again. What you typed is back in its form: check it and send it again.";
        console.sessions.set_flash(&session, Flash { ok: false, text: text.into(), secret: None });
    }
    tracing::info!(name = %caller.name, role = %caller.role, "Console sign-in.");
    let mut response = back_to(local_page(&form.next).unwrap_or("/console/approvals"));
    let added = response
        .add_cookie(&cookie(COOKIE, session, secure(&req)))
        .and_then(|_| response.add_cookie(&removal(LOGIN_COOKIE)));
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
