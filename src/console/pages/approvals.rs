//! The approvals queue (pending, oldest first, with age), one approval with its payload and what it
//! changes (`approval_diff`); approve or reject with notes, through the API's own command.

use super::super::guard::{Chrome, Posted, Signed};
use super::super::render::{age, link, page};
use super::super::{back_to, ConsoleError};
use super::approval_diff::{self, Diff};
use crate::http::auth::{Read, Review};
use crate::http::dto::{ApprovalDto, Payload};
use crate::http::extract::{page as paging, parse_id, parse_opt};
use crate::http::gate::{self, read};
use crate::http::ApiError;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::domain::command::Decision;
use atlas_actors::domain::{ApprovalId, ApprovalStatus, Command};
use atlas_actors::store::queries::approvals::{self, ApprovalFilter};
use atlas_actors::store::queries::Order;

pub struct Row {
    pub approval: ApprovalDto,
    pub age: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct Queue {
    chrome: Chrome,
    status: String,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    cursor: Option<String>,
}

pub async fn queue(signed: Signed<Read>, query: web::Query<QueueQuery>) -> Result<HttpResponse, ConsoleError> {
    let status = query.status.clone().unwrap_or_else(|| "pending".into());
    let filter = ApprovalFilter {
        status: if status == "all" { None } else { parse_opt::<ApprovalStatus>("status", Some(&status))? },
        item_type: None,
        // What waits is worked through oldest first; the decided are a history, newest first.
        order: if status == "pending" { Order::OldestFirst } else { Order::NewestFirst },
    };
    let paged = paging(Some("50"), query.cursor.as_deref())?;
    let listed = read(&signed.state, move |conn| approvals::list(conn, &filter, &paged)).await?;
    let role = signed.caller.role;
    let rows = listed
        .items
        .into_iter()
        .map(|a| {
            let approval = ApprovalDto::from(a).shown_to(role);
            Row { age: age(&approval.requested_at), approval }
        })
        .collect();
    let next =
        listed.next_cursor.map(|c| format!("/console/approvals?{}", link(&[("status", &status), ("cursor", &c)])));
    page(&Queue { chrome: signed.chrome(), status, rows, next })
}

#[derive(Template)]
#[template(path = "approval.html")]
struct One {
    chrome: Chrome,
    approval: ApprovalDto,
    payload: String,
    diff: Diff,
    /// Why this caller cannot decide, when they cannot.
    why_not: Option<String>,
}

pub async fn one(signed: Signed<Read>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("approval id", &id, ApprovalId::parse)?;
    let lookup = id.clone();
    let found = read(&signed.state, move |conn| approvals::get(conn, &lookup)).await?;
    let found = found.ok_or_else(|| ApiError::not_found(format!("approval {id} not found")))?;
    let approval = ApprovalDto::from(found).shown_to(signed.caller.role);
    let diff = approval_diff::of(&signed.state, &approval, signed.caller.role).await?;
    let caller = &signed.caller;
    // A decided approval is history (its status and reviewer say so), not a refusal to explain.
    let why_not = if approval.status != "pending" {
        None
    } else if !caller.role.allows(atlas_actors::domain::Permission::Review) {
        Some(format!("your role ({}) may not review; an approver or admin decides", caller.role))
    } else if approval.requested_by == caller.name && !signed.state.allow_self_approval {
        Some("you requested this change; someone else must review it (approvals.allow_self_approval is off)".into())
    } else {
        None
    };
    let payload = serde_json::to_string_pretty(&approval.payload).unwrap_or_default();
    page(&One { chrome: signed.chrome(), approval, payload, diff, why_not })
}

#[derive(serde::Deserialize)]
pub struct Notes {
    #[serde(default)]
    notes: String,
}

pub async fn decide(
    posted: Posted<Review, Notes>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (raw, decision) = path.into_inner();
    let decision = match decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        other => return Err(ConsoleError::Bad(format!("decision: {other:?} is neither approve nor reject"))),
    };
    let id = parse_id("approval id", &raw, ApprovalId::parse)?;
    let signed = &posted.signed;
    let notes = Some(posted.form.notes.trim().to_owned()).filter(|n| !n.is_empty());
    let command = Command::ReviewApproval {
        id: id.clone(),
        decision,
        notes,
        allow_self_approval: signed.state.allow_self_approval,
        via: None,
    };
    let word = if decision == Decision::Approve { "approved" } else { "rejected" };
    let here = format!("/console/approvals/{id}");
    match gate::command(&signed.state, &signed.caller, command).await {
        Ok(_) => signed.flash(true, format!("Approval {id} {word}.")),
        Err(err) => return Ok(posted.refused(format!("Approval {id} was not {word}: {}", err.message), &here)),
    }
    Ok(back_to(&here))
}
