//! Event sinks' routing, inside the writer: a TEMP table of (sink, event-type glob) from `[[sinks]]` and a
//! TEMP trigger on `events` that writes a `sink_outbox` row for each sink an inserted event matches. TEMP,
//! so the routing lives on the writer's connection only (config, not data); the rows it writes are in the
//! event's own transaction, so a committed event is never missing its deliveries.

use rusqlite::Connection;

/// One sink's subscriptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkRoute {
    pub sink: String,
    /// Event types as globs: `approval.*`, `*`.
    pub events: Vec<String>,
}

/// Installs (or replaces) the routing on the writer's connection; nothing when there are no sinks.
pub fn install(conn: &Connection, routes: &[SinkRoute]) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS temp.sink_route_events;
         CREATE TEMP TABLE IF NOT EXISTS sink_routes (sink TEXT NOT NULL, pattern TEXT NOT NULL);
         DELETE FROM temp.sink_routes;",
    )?;
    if routes.is_empty() {
        return Ok(());
    }
    let mut add = conn.prepare("INSERT INTO temp.sink_routes (sink, pattern) VALUES (?1, ?2)")?;
    for route in routes {
        for pattern in &route.events {
            add.execute([&route.sink, pattern])?;
        }
    }
    conn.execute_batch(
        "CREATE TEMP TRIGGER sink_route_events AFTER INSERT ON main.events
         BEGIN
           INSERT INTO sink_outbox (delivery_id, sink, event_id, aggregate, next_attempt_at)
           SELECT lower(hex(randomblob(16))), matched.sink, NEW.id,
                  NEW.aggregate_type || ':' || NEW.aggregate_id, NEW.created_at
             FROM (SELECT DISTINCT sink FROM sink_routes WHERE NEW.type GLOB pattern) AS matched;
         END;",
    )
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt begins: it is counted before the POST, so one a crash cuts counts against
    /// `max_attempts` too, and the delivery is due again at `retry_at` unless an ending is recorded.
    Started {
        id: i64,
        retry_at: String,
    },
    Delivered {
        id: i64,
        at: String,
    },
    Failed {
        id: i64,
        error: String,
        retry_at: String,
        dead: bool,
        at: String,
    },
    /// The receiver answered 410 Gone: the sink is disabled until an admin enables it; the delivery waits,
    /// its attempt given back (a receiver's refusal is no failure to deliver, and must not use up the
    /// last attempt the delivery has when the sink is enabled again).
    Gone {
        id: i64,
        sink: String,
        error: String,
        at: String,
    },
}

/// Writes an outcome (the writer's maintenance, outside any command); answers what it did.
pub fn record(conn: &Connection, outcome: &Outcome) -> rusqlite::Result<String> {
    match outcome {
        Outcome::Started { id, retry_at } => conn
            .prepare_cached(
                "UPDATE sink_outbox SET attempts = attempts + 1, next_attempt_at = ?2
                  WHERE id = ?1 AND delivered_at IS NULL AND dead_at IS NULL",
            )?
            .execute(rusqlite::params![id, retry_at])
            .map(|n| format!("{n} delivery attempt started")),
        Outcome::Delivered { id, at } => conn
            .prepare_cached(
                "UPDATE sink_outbox SET delivered_at = ?2, last_error = NULL WHERE id = ?1 AND delivered_at IS NULL",
            )?
            .execute(rusqlite::params![id, at])
            .map(|n| format!("{n} delivery marked delivered")),
        Outcome::Failed { id, error, retry_at, dead, at } => conn
            .prepare_cached(
                "UPDATE sink_outbox SET last_error = ?2, next_attempt_at = ?3, dead_at = CASE WHEN ?4 THEN ?5 END
                  WHERE id = ?1 AND delivered_at IS NULL",
            )?
            .execute(rusqlite::params![id, error, retry_at, dead, at])
            .map(|n| format!("{n} delivery failed")),
        Outcome::Gone { id, sink, error, at } => {
            conn.prepare_cached(
                "UPDATE sink_outbox SET last_error = ?2, next_attempt_at = ?3, attempts = max(attempts - 1, 0)
                  WHERE id = ?1 AND delivered_at IS NULL",
            )?
            .execute(rusqlite::params![id, error, at])?;
            conn.prepare_cached("INSERT OR IGNORE INTO sink_disabled (sink, at, reason) VALUES (?1, ?2, ?3)")?
                .execute(rusqlite::params![sink, at, error])
                .map(|n| format!("sink {sink} disabled ({n} new)"))
        }
    }
}

/// `EnableSink`: a sink disabled by a 410 goes back to delivering; its audit event is written in the same
/// transaction. Not found unless it is disabled.
pub(super) fn enable(
    conn: &Connection,
    sink: &str,
) -> Result<crate::store::apply::Touched, crate::domain::CommandError> {
    let enabled = conn
        .prepare_cached("DELETE FROM sink_disabled WHERE sink = ?1")
        .and_then(|mut enable| enable.execute([sink]))
        .map_err(crate::store::apply::storage)?;
    if enabled == 0 {
        return Err(crate::domain::CommandError::not_found("disabled sink", sink));
    }
    Ok(crate::store::apply::Touched::new("sink", sink, None, crate::domain::Applied::Noted))
}

/// `RetryDelivery`: a dead delivery goes back in its queue, attempts from zero, due `now`; its audit
/// event is written in the same transaction. Not found unless it is dead.
pub(super) fn retry(
    conn: &Connection,
    delivery_id: &str,
    now: &str,
) -> Result<crate::store::apply::Touched, crate::domain::CommandError> {
    let queued = conn
        .prepare_cached(
            "UPDATE sink_outbox SET dead_at = NULL, attempts = 0, next_attempt_at = ?2
              WHERE delivery_id = ?1 AND dead_at IS NOT NULL",
        )
        .and_then(|mut retry| retry.execute(rusqlite::params![delivery_id, now]))
        .map_err(crate::store::apply::storage)?;
    if queued == 0 {
        return Err(crate::domain::CommandError::not_found("dead delivery", delivery_id));
    }
    let applied = crate::domain::Applied::Noted;
    Ok(crate::store::apply::Touched::new("sink_delivery", delivery_id, None, applied))
}
