//! The audit timeline: every event, newest first, filtered by actor, aggregate and type, with paging.

use super::super::guard::{Chrome, Signed};
use super::super::render::{link, page};
use super::super::ConsoleError;
use crate::http::auth::Read;
use crate::http::dto::{EventDto, Payload};
use crate::http::extract::page as paging;
use crate::http::gate::read;
use actix_web::{web, HttpResponse};
use askama::Template;
use atlas_actors::store::queries::events::{self, EventFilter};

/// How much of an event's payload a row shows.
const PAYLOAD_CHARS: usize = 300;

pub struct Row {
    pub event: EventDto,
    pub payload: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Timeline {
    chrome: Chrome,
    query: Filters,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    aggregate_type: String,
    #[serde(default)]
    aggregate_id: String,
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    cursor: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

pub async fn timeline(signed: Signed<Read>, query: web::Query<Filters>) -> Result<HttpResponse, ConsoleError> {
    let query = query.into_inner();
    let filter = EventFilter {
        aggregate_type: given(&query.aggregate_type),
        aggregate_id: given(&query.aggregate_id),
        actor: given(&query.actor),
        event_type: given(&query.event_type),
    };
    let paged = paging(Some("50"), given(&query.cursor).as_deref())?;
    let listed = read(&signed.state, move |conn| events::list(conn, &filter, &paged)).await?;
    let role = signed.caller.role;
    let rows = listed
        .items
        .into_iter()
        .map(|e| {
            let event = EventDto::from(e).shown_to(role);
            let mut payload = event.payload.to_string();
            if payload.chars().count() > PAYLOAD_CHARS {
                payload = payload.chars().take(PAYLOAD_CHARS).chain("…".chars()).collect();
            }
            Row { event, payload }
        })
        .collect();
    let next = listed.next_cursor.map(|c| {
        let pairs = [
            ("actor", query.actor.as_str()),
            ("aggregate_type", &query.aggregate_type),
            ("aggregate_id", &query.aggregate_id),
            ("type", &query.event_type),
            ("cursor", &c),
        ];
        format!("/console/audit?{}", link(&pairs))
    });
    page(&Timeline { chrome: signed.chrome(), query, rows, next })
}
