//! The deliveries waiting, read from the pool: per sink and aggregate only the oldest one waiting is due
//! (deliveries keep their order, so the ones due at once are of different aggregates and may go out
//! together), and only once its retry time came. A dead delivery no longer holds its queue back (it waits
//! for an operator's retry instead); a disabled sink (410 Gone) has nothing due.

use rusqlite::Connection;
use serde::Serialize;

/// One delivery to make now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub delivery_id: String,
    pub sink: String,
    pub attempts: i64,
    pub event_id: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub actor: String,
    pub payload: String,
    pub created_at: String,
}

/// At most this many deliveries per round.
const PER_ROUND: i64 = 200;

/// What is due for `sink` (rows of a sink no longer configured wait, never in another sink's way).
pub fn due(conn: &Connection, sink: &str, now: &str) -> rusqlite::Result<Vec<Due>> {
    let mut query = conn.prepare_cached(
        "SELECT o.id, o.delivery_id, o.sink, o.attempts, e.id, e.type, e.aggregate_type, e.aggregate_id, e.actor,
                e.payload, e.created_at
           FROM sink_outbox o JOIN events e ON e.id = o.event_id
          WHERE o.sink = ?3 AND o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= ?1
            AND NOT EXISTS (SELECT 1 FROM sink_disabled d WHERE d.sink = o.sink)
            AND o.id = (SELECT min(h.id) FROM sink_outbox h
                         WHERE h.sink = o.sink AND h.aggregate = o.aggregate
                           AND h.delivered_at IS NULL AND h.dead_at IS NULL)
          ORDER BY o.id LIMIT ?2",
    )?;
    let rows = query.query_map(rusqlite::params![now, PER_ROUND, sink], |r| {
        Ok(Due {
            id: r.get(0)?,
            delivery_id: r.get(1)?,
            sink: r.get(2)?,
            attempts: r.get(3)?,
            event_id: r.get(4)?,
            event_type: r.get(5)?,
            aggregate_type: r.get(6)?,
            aggregate_id: r.get(7)?,
            actor: r.get(8)?,
            payload: r.get(9)?,
            created_at: r.get(10)?,
        })
    })?;
    rows.collect()
}

/// A dead delivery, for the admin API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadDelivery {
    pub delivery_id: String,
    pub event_id: i64,
    pub event_type: String,
    pub aggregate: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub dead_at: String,
}

/// One sink's queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkStatus {
    pub name: String,
    pub waiting: i64,
    pub delivered: i64,
    pub dead: i64,
    pub last_error: Option<String>,
    pub dead_letters: Vec<DeadDelivery>,
    /// Since when and why it is disabled (its receiver answered 410 Gone).
    pub disabled: Option<(String, String)>,
}

pub fn status(conn: &Connection, sink: &str) -> rusqlite::Result<SinkStatus> {
    let (waiting, delivered, dead): (i64, i64, i64) = conn.query_row(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL),
                count(*) FILTER (WHERE delivered_at IS NOT NULL), count(*) FILTER (WHERE dead_at IS NOT NULL)
           FROM sink_outbox WHERE sink = ?1",
        [sink],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let last_error: Option<String> = conn
        .query_row(
            "SELECT last_error FROM sink_outbox WHERE sink = ?1 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
            [sink],
            |r| r.get(0),
        )
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
    let mut query = conn.prepare_cached(
        "SELECT o.delivery_id, o.event_id, e.type, o.aggregate, o.attempts, o.last_error, o.dead_at
           FROM sink_outbox o JOIN events e ON e.id = o.event_id
          WHERE o.sink = ?1 AND o.dead_at IS NOT NULL ORDER BY o.id LIMIT 100",
    )?;
    let dead_letters = query
        .query_map([sink], |r| {
            Ok(DeadDelivery {
                delivery_id: r.get(0)?,
                event_id: r.get(1)?,
                event_type: r.get(2)?,
                aggregate: r.get(3)?,
                attempts: r.get(4)?,
                last_error: r.get(5)?,
                dead_at: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let disabled = conn
        .query_row("SELECT at, reason FROM sink_disabled WHERE sink = ?1", [sink], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
    Ok(SinkStatus { name: sink.to_owned(), waiting, delivered, dead, last_error, dead_letters, disabled })
}
