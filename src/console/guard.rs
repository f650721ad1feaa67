//! The console's doors. `Signed<N>` is a signed-in browser whose token's role allows `N` (every page);
//! `Posted<N, T>` is that plus a same-origin request carrying the session's CSRF token, with its form
//! parsed as `T` (every action). A handler states which in its signature, as the API's `Auth<N>` does,
//! and the checks are the API's own: the same token lookup, the same role rule, the same audit of refusals.

use super::session::{same_secret, Draft, Flash, Session, COOKIE};
use super::{ConsoleError, ConsoleState};
use crate::http::auth::{authorize, caller_for_hash, Caller, Need};
use crate::http::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use atlas_actors::domain::Permission;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

/// Form bodies larger than this are refused (the SQL box's 20,000 characters fit many times over).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// A signed-in caller allowed `N`.
pub struct Signed<N: Need> {
    pub caller: Caller,
    /// The console section the request is in (`approvals`, `runs`, …), for the navigation's `aria-current`.
    pub section: String,
    /// The page asked for (a kept draft is shown on its own page only).
    pub path: String,
    /// Pending approvals this caller could decide now (for a reviewer; the navigation shows it).
    pub waiting: Option<i64>,
    pub session_id: String,
    pub session: Session,
    pub state: web::Data<AppState>,
    pub console: web::Data<ConsoleState>,
    need: PhantomData<N>,
}

impl<N: Need> Signed<N> {
    /// What every page's frame shows: who is signed in, what they may do, the one-time message.
    pub fn chrome(&self) -> Chrome {
        Chrome {
            name: self.caller.name.clone(),
            role: self.caller.role.to_string(),
            csrf: self.session.csrf.clone(),
            flash: self.console.sessions.take_flash(&self.session_id),
            can_review: self.caller.role.allows(Permission::Review),
            can_change: self.caller.role.allows(Permission::RequestChange),
            can_resolve: self.caller.role.allows(Permission::ResolveErrors),
            can_admin: self.caller.role.allows(Permission::Administer),
            section: self.section.clone(),
            waiting: self.waiting,
            draft: self.console.sessions.take_draft(&self.session_id, &self.path),
        }
    }

    /// A refused form, back to its page with `why` and what was typed.
    fn refuse(&self, why: impl Into<String>, draft: Draft) -> ConsoleError {
        let page = draft.path.clone();
        self.console.sessions.keep_draft(&self.session_id, draft);
        self.flash(false, why);
        ConsoleError::Back(page)
    }

    /// Leaves a message for the next page.
    pub fn flash(&self, ok: bool, text: impl Into<String>) {
        self.console.sessions.set_flash(&self.session_id, Flash { ok, text: text.into(), secret: None });
    }

    pub fn flash_secret(&self, text: impl Into<String>, secret: String) {
        let flash = Flash { ok: true, text: text.into(), secret: Some(secret) };
        self.console.sessions.set_flash(&self.session_id, flash);
    }
}

/// The frame of every page.
pub struct Chrome {
    pub name: String,
    pub role: String,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub can_review: bool,
    pub can_change: bool,
    pub can_resolve: bool,
    pub can_admin: bool,
    pub section: String,
    pub waiting: Option<i64>,
    /// What a refused form on this page held, to show again.
    pub draft: Option<Draft>,
}

impl Chrome {
    /// The kept value of field `name` of the form posting to `action`, else `default` (what the page
    /// would show anyway).
    pub fn kept_or(&self, action: impl std::fmt::Display, name: &str, default: impl AsRef<str>) -> String {
        let action = action.to_string();
        let kept = self.draft.as_ref().and_then(|d| d.get(&action, name));
        kept.unwrap_or(default.as_ref()).to_owned()
    }

    /// `aria-current="page"` for the navigation link of the section shown, nothing for the others.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

async fn sign_in_check<N: Need>(req: &HttpRequest) -> Result<Signed<N>, ConsoleError> {
    let signed = signed_in::<N>(req).await?;
    authorized(req, &signed).await?;
    Ok(signed)
}

/// Whether the signed-in caller's role allows `N` (audited: refusals and admin requests).
async fn authorized<N: Need>(req: &HttpRequest, signed: &Signed<N>) -> Result<(), ConsoleError> {
    let (method, path) = (req.method().as_str(), req.path());
    authorize(&signed.state, &signed.caller, N::PERMISSION, method, path).await.map_err(ConsoleError::Api)
}

/// The session's caller, not yet checked against `N`.
async fn signed_in<N: Need>(req: &HttpRequest) -> Result<Signed<N>, ConsoleError> {
    let state = req.app_data::<web::Data<AppState>>().cloned().ok_or(ConsoleError::Missing)?;
    let console = req.app_data::<web::Data<ConsoleState>>().cloned().ok_or(ConsoleError::Missing)?;
    let again = || ConsoleError::SignIn(return_path(req));
    let session_id = req.cookie(COOKIE).map(|c| c.value().to_owned()).ok_or_else(again)?;
    let session = console.sessions.find(&session_id).ok_or_else(again)?;
    let caller = match caller_for_hash(&state, &session.token_hash).await {
        Ok(caller) => caller,
        Err(err) if err.status == actix_web::http::StatusCode::UNAUTHORIZED => {
            // The token was revoked (or renamed away): its sessions end with it.
            console.sessions.end(&session_id);
            return Err(again());
        }
        Err(err) => return Err(ConsoleError::Api(err)),
    };
    let section = req.path().trim_start_matches("/console/").split('/').next().unwrap_or_default().to_owned();
    let waiting = waiting_for(&state, &caller).await;
    let path = req.path().to_owned();
    Ok(Signed { caller, section, path, waiting, session_id, session, state, console, need: PhantomData })
}

/// Where signing in again should lead: the page asked for (a GET), else nowhere in particular.
fn return_path(req: &HttpRequest) -> String {
    if req.method() == Method::GET {
        req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default()
    } else {
        String::new()
    }
}

/// The console page the form posting to `action` lives on, where a refused form goes back to (a
/// confirmation step's action included: its form started on the page that offered the action).
fn form_page(action: &str) -> Option<String> {
    let parts: Vec<&str> = action.strip_prefix("/console/")?.split('/').collect();
    let page = match parts.as_slice() {
        ["tasks", id, ..] => format!("/console/tasks/{id}"),
        ["projects"] => "/console/projects".into(),
        ["projects", id, ..] => format!("/console/projects/{id}"),
        ["approvals", id, _] => format!("/console/approvals/{id}"),
        ["runs", id, _] => format!("/console/runs/{id}"),
        ["errors", ..] => "/console/errors".into(),
        ["admin", ..] => "/console/admin".into(),
        ["browse", ..] => "/console/browse".into(),
        _ => return None,
    };
    super::local_page(&page).map(str::to_owned)
}

/// For a form whose page its action does not name: the page it was posted from (its `Referer`, when
/// that is this console); the console's home otherwise.
fn referring_page(req: &HttpRequest) -> String {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let referer = req.headers().get(header::REFERER).and_then(|r| r.to_str().ok());
    let page = referer.and_then(|r| url::Url::parse(r).ok()).filter(|url| {
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        authority.eq_ignore_ascii_case(host)
    });
    page.map(|url| url.path().to_owned())
        .filter(|path| super::local_page(path).is_some())
        .unwrap_or_else(|| "/console/".into())
}

/// Whether the browser said outright that this request came from this console (`Sec-Fetch-Site:
/// same-origin`, or an `Origin` of this host): only then is a refused form's text kept and shown again,
/// so another site cannot plant text in a form of ours.
fn vouched_same_origin(req: &HttpRequest) -> bool {
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST.as_str()).unwrap_or_default();
    text("sec-fetch-site") == Some("same-origin")
        || text("origin").is_some_and(|origin| same_site(origin, req.connection_info().scheme(), host))
}

/// The navigation's count of approvals waiting for a reviewer; none for other roles, or when the read
/// fails (a page is not refused for its badge).
async fn waiting_for(state: &AppState, caller: &Caller) -> Option<i64> {
    if !caller.role.allows(Permission::Review) {
        return None;
    }
    let (name, self_approval) = (caller.name.clone(), state.allow_self_approval);
    let count = crate::http::gate::read(state, move |conn| {
        atlas_actors::store::queries::approvals::waiting_for(conn, &name, self_approval)
    });
    count.await.ok()
}

impl<N: Need + 'static> FromRequest for Signed<N> {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { sign_in_check::<N>(&req).await })
    }
}

/// A state-changing request from a page of this console: refused when the browser says it came from
/// another site, or its `Origin` is not this host. Clients that send neither still need the CSRF token.
pub fn same_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let text = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Err(ConsoleError::CrossSite(format!("the browser marked this request as {site}")));
        }
    }
    if let Some(origin) = text("origin") {
        let host = text(header::HOST.as_str()).unwrap_or_default();
        if !same_site(&origin, req.connection_info().scheme(), &host) {
            return Err(ConsoleError::CrossSite(format!("it came from origin {origin:?}, not this host")));
        }
    }
    Ok(())
}

/// Whether `origin` (an `Origin` header) is this server as the request reached it (`scheme`, `Host`),
/// compared as URLs are: the scheme, the host without case, the port with its scheme's default.
fn same_site(origin: &str, scheme: &str, host: &str) -> bool {
    let ours = url::Url::parse(&format!("{scheme}://{host}"));
    match (url::Url::parse(origin), ours) {
        (Ok(theirs), Ok(ours)) if !host.is_empty() => {
            theirs.scheme() == ours.scheme()
                && theirs.host_str().is_some()
                && theirs.host_str() == ours.host_str()
                && theirs.port_or_known_default() == ours.port_or_known_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_compare_as_urls() {
        use super::same_site;
        assert!(same_site("http://127.0.0.1:8080", "http", "127.0.0.1:8080"));
        assert!(same_site("http://Atlas.Example:80", "http", "atlas.example"), "host case, the default port");
        assert!(!same_site("https://127.0.0.1:8080", "http", "127.0.0.1:8080"), "another scheme is another site");
        assert!(!same_site("http://127.0.0.1:8081", "http", "127.0.0.1:8080"));
        assert!(!same_site("http://evil.example", "http", "atlas.example"));
        assert!(!same_site("null", "http", "127.0.0.1:8080"), "an opaque origin");
        assert!(!same_site("http://127.0.0.1:8080", "http", ""), "no Host header");
        assert!(!same_site("http://atlas.example.evil.example", "http", "atlas.example"));
    }
}

/// The CSRF token every console form carries.
#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A signed-in caller allowed `N`, posting form `T` from a console page (same origin, right CSRF token).
pub struct Posted<N: Need, T> {
    pub signed: Signed<N>,
    pub form: T,
    /// The form's fields as typed, for a refusal to give back.
    draft: Draft,
}

impl<N: Need, T> Posted<N, T> {
    /// Refuses the form: back to `page` with `why`, and what was typed kept in its form.
    pub fn refused(&self, why: impl Into<String>, page: &str) -> actix_web::HttpResponse {
        let draft = Draft { path: page.to_owned(), ..self.draft.clone() };
        self.signed.console.sessions.keep_draft(&self.signed.session_id, draft);
        self.signed.flash(false, why);
        super::back_to(page)
    }
}

impl<N: Need + 'static, T: DeserializeOwned + 'static> FromRequest for Posted<N, T> {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            if req.method() != Method::POST {
                return Err(ConsoleError::Bad("console actions are POST forms".into()));
            }
            same_origin(&req)?;
            let body = body.await.map_err(|err| match err.as_response_error().status_code().as_u16() {
                413 => ConsoleError::TooLarge(format!("the form is larger than {MAX_FORM_BYTES} bytes")),
                _ => ConsoleError::Bad(format!("the form could not be read: {err}")),
            })?;
            if body.len() > MAX_FORM_BYTES {
                return Err(ConsoleError::TooLarge(format!("the form is larger than {MAX_FORM_BYTES} bytes")));
            }
            let back = form_page(req.path()).unwrap_or_else(|| referring_page(&req));
            let vouched = vouched_same_origin(&req);
            let draft = Draft::of(&back, req.path(), &body);
            let signed = match signed_in::<N>(&req).await {
                // Signed out meanwhile (idle, expired, restarted): sign in again and come back with it.
                Err(ConsoleError::SignIn(_)) if vouched => {
                    let secure = req.connection_info().scheme() == "https";
                    return Err(ConsoleError::SignInAgain(back, draft, secure));
                }
                other => other?,
            };
            // The CSRF token before the role: a forged form never reaches the writer, not even its audit.
            let csrf: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField { csrf: String::new() });
            if !same_secret(&csrf.csrf, &signed.session.csrf) {
                if !vouched {
                    return Err(ConsoleError::CrossSite("its CSRF token is missing or not this session's".into()));
                }
                let why = "Not sent: the page was older than this sign-in, so its form's security token did not \
                           match. What you typed is below; check it and send it again.";
                return Err(signed.refuse(why, draft));
            }
            authorized(&req, &signed).await?;
            let form = match serde_urlencoded::from_bytes(&body) {
                Ok(form) => form,
                Err(err) => return Err(signed.refuse(format!("Not sent: the form is malformed: {err}"), draft)),
            };
            Ok(Self { signed, form, draft })
        })
    }
}
