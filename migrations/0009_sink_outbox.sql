-- Event sinks: each event a configured sink subscribes to gets a delivery row here, written by a trigger
-- the writer installs on its own connection (TEMP, from [[sinks]]), so in the event's own transaction.
-- Delivered in order per sink and aggregate; a row is marked delivered only on a 2xx, dead after
-- max_attempts (and retryable from the admin API).
CREATE TABLE sink_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- X-Atlas-Delivery: the receiver's idempotency key (a redelivery carries the same).
    delivery_id     TEXT NOT NULL UNIQUE,
    sink            TEXT NOT NULL,
    event_id        INTEGER NOT NULL REFERENCES events(id),
    -- "<aggregate_type>:<aggregate_id>": the order deliveries keep.
    aggregate       TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT,
    dead_at         TEXT
);
CREATE INDEX idx_sink_outbox_waiting ON sink_outbox(sink, aggregate, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
