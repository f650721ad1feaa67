//! The approval gate at the HTTP edge: a change the policy gates becomes a pending approval (202);
//! anything else is applied at once (200/201). Both go through the writer and are audited.

use super::auth::Caller;
use super::dto::{ApprovalDto, ErrorDto, ProjectDto, RunDto, TaskDto, TokenDto};
use super::error::ApiError;
use super::AppState;
use actix_web::HttpResponse;
use atlas_actors::domain::{Applied, ApprovalId, Command, ItemAction};
use atlas_actors::store::ReadError;

/// What the gate did with a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gated {
    /// The policy gates it: a pending approval now waits for a reviewer.
    Requested,
    /// Applied at once.
    Applied,
}

/// Sends a change the caller asked for through the gate: the one path the API and the console share.
pub async fn change(state: &AppState, caller: &Caller, change: Command) -> Result<(Gated, Applied), ApiError> {
    let (item_type, action, _) =
        change.target().ok_or_else(|| ApiError::bad_request("this change cannot be requested over the API"))?;
    if state.policy.requires_approval(item_type, action, caller.role) {
        let request = Command::RequestApproval { id: ApprovalId::generate(), change: Box::new(change) };
        let outcome = state.handles.writer.submit(request, caller.actor()).await?;
        return Ok((Gated::Requested, outcome.applied));
    }
    let outcome = state.handles.writer.submit(change, caller.actor()).await?;
    Ok((Gated::Applied, outcome.applied))
}

/// Submits a change the caller asked for, through the gate: 202 with the approval, or 201/200.
pub async fn submit_change(state: &AppState, caller: &Caller, command: Command) -> Result<HttpResponse, ApiError> {
    let creates =
        command.target().is_some_and(|(_, action, _)| matches!(action, ItemAction::Create | ItemAction::Execute));
    let (gated, applied) = change(state, caller, command).await?;
    let builder = match gated {
        Gated::Requested => HttpResponse::Accepted(),
        Gated::Applied if creates => HttpResponse::Created(),
        Gated::Applied => HttpResponse::Ok(),
    };
    Ok(respond(builder, applied))
}

/// Sends a command that is not a gated change (reviews, resolutions, tokens): shared by the API and the
/// console. An approve that found the approval superseded is a 409 naming why (the closing itself committed).
pub async fn command(state: &AppState, caller: &Caller, command: Command) -> Result<Applied, ApiError> {
    let outcome = state.handles.writer.submit(command, caller.actor()).await?;
    if let Applied::Superseded { approval, reason } = outcome.applied {
        return Err(ApiError::from(atlas_actors::domain::CommandError::Conflict(format!(
            "approval {} can never apply and was closed as superseded: {reason}",
            approval.id
        ))));
    }
    Ok(outcome.applied)
}

/// [`command`], answered as JSON.
pub async fn submit(state: &AppState, caller: &Caller, command: Command) -> Result<HttpResponse, ApiError> {
    Ok(respond(HttpResponse::Ok(), self::command(state, caller, command).await?))
}

/// The wire form of whatever a command left behind.
pub fn respond(mut builder: actix_web::HttpResponseBuilder, applied: Applied) -> HttpResponse {
    match applied {
        Applied::Project(p) => builder.json(ProjectDto::from(p)),
        Applied::Task(t) => builder.json(TaskDto::from(t)),
        Applied::Approval(a) | Applied::Superseded { approval: a, .. } => builder.json(ApprovalDto::from(a)),
        Applied::Run(r) => builder.json(RunDto::from(r)),
        Applied::Error(e) => builder.json(ErrorDto::from(e)),
        Applied::Token(t) => builder.json(TokenDto::from(t)),
        Applied::Expired(count) => builder.json(serde_json::json!({ "expired": count })),
        Applied::Recovered(count) => builder.json(serde_json::json!({ "recovered": count })),
        Applied::JobRecorded | Applied::Noted => builder.json(serde_json::json!({ "recorded": true })),
        Applied::Access => builder.json(serde_json::json!({ "audited": true })),
    }
}

/// Runs a read on the pool; the pool being down or saturated is a 503 (saturated: `busy`, with
/// `Retry-After`), never a 500.
pub async fn read<T, F>(state: &AppState, query: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
{
    state.handles.readers.read(query).await.map_err(|err: ReadError| ApiError::from_read(err))
}
