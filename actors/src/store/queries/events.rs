//! The audit trail.

use super::decode;
use super::paging::{Cursor, Listed, PageRequest, Select};
use rusqlite::{Connection, Row};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub actor: String,
    pub payload: serde_json::Value,
    pub created_at: String,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: row.get(0)?,
        event_type: row.get(1)?,
        aggregate_type: row.get(2)?,
        aggregate_id: row.get(3)?,
        actor: row.get(4)?,
        payload: decode(5, serde_json::from_str(&row.get::<_, String>(5)?))?,
        created_at: row.get(6)?,
    })
}

#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    pub actor: Option<String>,
    pub event_type: Option<String>,
}

const COLUMNS: &str = "id, type, aggregate_type, aggregate_id, actor, payload, created_at";

/// One event by its id.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Event>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE id = ?1"))?.query_row([id], from_row).optional()
}

/// Events, newest first (in commit order: by id).
pub fn list(conn: &Connection, filter: &EventFilter, page: &PageRequest) -> rusqlite::Result<Listed<Event>> {
    Select::new(format!("SELECT {COLUMNS} FROM events WHERE 1 = 1"))
        .eq("aggregate_type", filter.aggregate_type.clone())
        .eq("aggregate_id", filter.aggregate_id.clone())
        .eq("actor", filter.actor.clone())
        .eq("type", filter.event_type.clone())
        .page_by_rowid(conn, "id", page, from_row, |e| Cursor { at: String::new(), id: e.id.to_string() })
}

/// The newest event about one aggregate, to explain what changed it.
pub fn latest_for(conn: &Connection, aggregate_type: &str, aggregate_id: &str) -> rusqlite::Result<Option<Event>> {
    let page = PageRequest { limit: 1, after: None };
    let filter = EventFilter {
        aggregate_type: Some(aggregate_type.to_owned()),
        aggregate_id: Some(aggregate_id.to_owned()),
        ..EventFilter::default()
    };
    Ok(list(conn, &filter, &page)?.items.into_iter().next())
}
