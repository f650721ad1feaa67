//! A run's output as server-sent events: what it printed so far, then each chunk as it comes, then an
//! `end` event carrying the run's final state (status, exit code, duration). A run that is not live sends its stored output and `end`.
//! The session and its token are checked again before each chunk: signing out or a revocation ends the
//! stream (without the `end` event's state).

use super::super::guard::Signed;
use super::super::render::between;
use super::super::{ConsoleError, ConsoleState};
use crate::http::auth::caller_for_hash;
use crate::http::auth::Read;
use crate::http::extract::parse_id;
use crate::http::gate::read;
use crate::http::{ApiError, AppState};
use actix_web::{web, HttpResponse};
use atlas_actors::domain::RunId;
use atlas_actors::store::queries::runs;
use futures_util::StreamExt;

/// One `message` event carrying text as a JSON string (so newlines and any byte survive the SSE framing).
fn message(text: &str) -> web::Bytes {
    web::Bytes::from(format!("data: {}\n\n", serde_json::Value::String(text.to_owned())))
}

/// The `end` event: the run's final state as the page shows it (`{status, exit_code, took}`), so the page
/// updates its badge, exit code, duration and buttons without a reload.
async fn ending(watcher: Watcher, id: RunId) -> web::Bytes {
    let end = if !still_signed_in(&watcher).await {
        serde_json::json!({ "status": "not shown: signed out" })
    } else {
        match read(&watcher.state, move |conn| runs::get(conn, &id)).await {
            Ok(Some(run)) => final_state(&run),
            _ => serde_json::json!({ "status": "unknown" }),
        }
    };
    web::Bytes::from(format!("event: end\ndata: {end}\n\n"))
}

fn final_state(run: &atlas_actors::domain::Run) -> serde_json::Value {
    let took = between(run.started_at.as_deref(), run.completed_at.as_deref());
    serde_json::json!({ "status": run.status.to_string(), "exit_code": run.exit_code, "took": took })
}

/// Whether the stream's viewer may still see output: the session is live and its token not revoked.
async fn still_signed_in(watcher: &Watcher) -> bool {
    watcher.console.sessions.is_live(&watcher.session_id)
        && caller_for_hash(&watcher.state, &watcher.token_hash).await.is_ok()
}

/// Who a stream is for, checked again before every chunk: signing out or revoking the token ends it.
#[derive(Clone)]
struct Watcher {
    state: web::Data<AppState>,
    console: web::Data<ConsoleState>,
    session_id: String,
    token_hash: String,
}

pub async fn follow(signed: Signed<Read>, id: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id("run id", &id, RunId::parse)?;
    let state = signed.state.clone();
    let watcher = Watcher {
        state: signed.state.clone(),
        console: signed.console.clone(),
        session_id: signed.session_id.clone(),
        token_hash: signed.session.token_hash.clone(),
    };
    let mut response = HttpResponse::Ok();
    response.content_type("text/event-stream").insert_header(("x-accel-buffering", "no"));
    let role = signed.caller.role;
    if let Some(live) = state.handles.runner.follow(&id).await {
        let (so_far, receiver) = live.follow();
        let last = watcher.clone();
        // Each chunk only while the session lives and its token is not revoked; then the stream ends.
        let shown = crate::http::runs::live_output(role, so_far, receiver)
            .then(move |chunk| {
                let watcher = watcher.clone();
                async move { still_signed_in(&watcher).await.then_some(chunk) }
            })
            .take_while(|chunk| std::future::ready(chunk.is_some()))
            .map(|chunk| message(&String::from_utf8_lossy(&chunk.unwrap_or_default())));
        let end = futures_util::stream::once(ending(last, id));
        return Ok(response.streaming(shown.chain(end).map(Ok::<_, actix_web::Error>)));
    }
    let lookup = id.clone();
    let run = read(&state, move |conn| runs::get(conn, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    let body = format!(
        "{}event: end\ndata: {}\n\n",
        String::from_utf8_lossy(&message(&crate::http::runs::stored_output(&run, role))),
        final_state(&run)
    );
    Ok(response.body(body))
}
