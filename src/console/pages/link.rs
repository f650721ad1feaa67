//! An approval link's page (`atlas_actors::notify::links`). GET only shows the approval, what it changes
//! and one button (mail scanners open links: opening decides nothing); the POST from that page is the
//! reviewer's own `ReviewApproval`, `via: "link"`, so the writer's rules (self-approval, quorum, the
//! pinned payload) hold exactly as over HTTP, and the role is checked and a refusal audited as over HTTP.
//!
//! A link is refused when it was changed or is not this Atlas's, has expired, is for a token revoked
//! since (or a role that may not review), was used (its reviewer already reviewed the approval), or its
//! approval is no longer pending. With `links.require_sign_in` the page asks for the reviewer's own
//! sign-in first. The audit trail never holds the link itself: it names the approval.

use super::super::guard::{same_origin, Signed};
use super::super::render::{page, problem};
use super::super::ConsoleError;
use super::approval_diff::{self, Diff};
use crate::http::auth::{authorize, caller_for_hash, Caller, Read};
use crate::http::dto::{ApprovalDto, Payload};
use crate::http::gate::{self, read};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use atlas_actors::domain::command::Decision;
use atlas_actors::domain::{ApprovalId, Command, Permission};
use atlas_actors::notify::links::Claim;
use atlas_actors::store::queries::{approvals, tokens};

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    link: String,
    verb: &'static str,
    reviewer: String,
    approval: ApprovalDto,
    payload: String,
    diff: Diff,
    outcome: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct Notes {
    #[serde(default)]
    notes: String,
}

/// Why a link cannot be used, as the page that says so.
struct Refused(StatusCode, String);

impl From<crate::http::ApiError> for Refused {
    fn from(err: crate::http::ApiError) -> Self {
        Self(err.status, err.message)
    }
}

/// A link that may be used now: its claim, its reviewer as a caller, and the approval.
struct Usable {
    claim: Claim,
    caller: Caller,
    approval: ApprovalDto,
}

fn verb(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "Approve",
        Decision::Reject => "Reject",
    }
}

/// Every check but the writer's, in the order a person would want to hear them.
async fn usable(state: &AppState, link: &str, method: &str, signed: Option<&Signed<Read>>) -> Result<Usable, Refused> {
    let gone = |why: String| Refused(StatusCode::GONE, why);
    let claim = Claim::verify(link, &state.handles.link_key).ok_or_else(|| {
        Refused(StatusCode::FORBIDDEN, "this link is not valid: it was changed, or another Atlas made it".into())
    })?;
    let id = ApprovalId::parse(&claim.approval).map_err(|err| Refused(StatusCode::BAD_REQUEST, err.to_string()))?;
    if chrono::Utc::now().timestamp() > claim.expires {
        let at = chrono::DateTime::from_timestamp(claim.expires, 0).map(atlas_actors::domain::format_timestamp);
        return Err(gone(format!(
            "this link expired at {}; decide approval {id} in the console",
            at.unwrap_or_default()
        )));
    }
    if state.links.require_sign_in {
        match signed {
            Some(signed) if signed.caller.name == claim.reviewer => {}
            Some(signed) => {
                return Err(Refused(
                    StatusCode::FORBIDDEN,
                    format!("this link is for {}, and you are signed in as {}", claim.reviewer, signed.caller.name),
                ))
            }
            None => return Err(Refused(StatusCode::UNAUTHORIZED, "sign in first".into())),
        }
    }
    let name = claim.reviewer.clone();
    let hash = read(state, move |conn| tokens::live_hash(conn, &name)).await?;
    let hash = hash.filter(|hash| claim.names_token(hash)).ok_or_else(|| {
        Refused(StatusCode::FORBIDDEN, format!("the token of {} was revoked since this link was sent", claim.reviewer))
    })?;
    let caller = caller_for_hash(state, &hash).await?;
    // The role as over HTTP: a refusal is audited, naming the approval (never the link).
    authorize(state, &caller, Permission::Review, method, &format!("/console/link (approval {id})")).await?;
    let lookup = id.clone();
    let found = read(state, move |conn| approvals::get(conn, &lookup)).await?;
    let approval =
        ApprovalDto::from(found.ok_or_else(|| gone(format!("approval {id} no longer exists")))?).shown_to(caller.role);
    if approval.status != "pending" {
        return Err(gone(format!("approval {id} is already {}; this link no longer works", approval.status)));
    }
    if approval.approved_by.contains(&caller.name) {
        return Err(gone(format!("{} already approved {id}; this link was used", caller.name)));
    }
    Ok(Usable { claim, caller, approval })
}

/// The refusal as a page; "sign in first" as the sign-in page, back here after.
fn refused(req: &HttpRequest, Refused(status, why): Refused) -> Result<HttpResponse, ConsoleError> {
    if status == StatusCode::UNAUTHORIZED {
        let back = if req.method() == actix_web::http::Method::GET { req.path().to_owned() } else { String::new() };
        return Err(ConsoleError::SignIn(back));
    }
    Ok(problem(status, &why))
}

async fn render(
    state: &AppState,
    link: String,
    usable: Usable,
    outcome: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let diff = approval_diff::of(state, &usable.approval, usable.caller.role).await?;
    let payload = serde_json::to_string_pretty(&usable.approval.payload).unwrap_or_default();
    page(&LinkPage {
        link,
        verb: verb(usable.claim.decision),
        reviewer: usable.caller.name,
        approval: usable.approval,
        payload,
        diff,
        outcome,
    })
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or(ConsoleError::Missing)
}

/// GET: the confirmation page. Decides nothing.
pub async fn show(
    req: HttpRequest,
    link: web::Path<String>,
    signed: Option<Signed<Read>>,
) -> Result<HttpResponse, ConsoleError> {
    let state = state(&req)?;
    let link = link.into_inner();
    match usable(&state, &link, "GET", signed.as_ref()).await {
        Ok(usable) => render(&state, link, usable, None).await,
        Err(why) => refused(&req, why),
    }
}

/// POST from the confirmation page: the reviewer's decision.
pub async fn decide(
    req: HttpRequest,
    link: web::Path<String>,
    form: web::Form<Notes>,
    signed: Option<Signed<Read>>,
) -> Result<HttpResponse, ConsoleError> {
    same_origin(&req)?;
    let state = state(&req)?;
    let link = link.into_inner();
    let usable = match usable(&state, &link, "POST", signed.as_ref()).await {
        Ok(usable) => usable,
        Err(why) => return refused(&req, why),
    };
    let id = ApprovalId::parse(&usable.claim.approval).map_err(|err| ConsoleError::Bad(err.to_string()))?;
    let notes = Some(form.notes.trim().to_owned()).filter(|n| !n.is_empty());
    let command = Command::ReviewApproval {
        id: id.clone(),
        decision: usable.claim.decision,
        notes,
        allow_self_approval: state.allow_self_approval,
        via: Some("link".into()),
    };
    if let Err(err) = gate::command(&state, &usable.caller, command).await {
        return Ok(problem(err.status, &format!("approval {id} was not decided: {}", err.message)));
    }
    let lookup = id.clone();
    let approval = match read(&state, move |conn| approvals::get(conn, &lookup)).await? {
        Some(now) => ApprovalDto::from(now).shown_to(usable.caller.role),
        None => usable.approval,
    };
    let outcome = match (usable.claim.decision, approval.status.as_str()) {
        (Decision::Approve, "pending") => {
            format!("Your approval of {id} is recorded ({}); it waits for more.", approval.reviews)
        }
        (_, status) => format!("Approval {id} is {status}, by {}.", usable.caller.name),
    };
    render(&state, link, Usable { approval, claim: usable.claim, caller: usable.caller }, Some(outcome)).await
}
