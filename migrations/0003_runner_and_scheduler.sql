-- What a run executes is pinned by a fingerprint taken when it was queued; the scheduler remembers when
-- each job last ran so a missed run is caught up once after downtime.

ALTER TABLE runs ADD COLUMN command_hash TEXT;

CREATE TABLE schedule_state (
    job              TEXT PRIMARY KEY,
    last_started_at  TEXT NOT NULL,
    last_finished_at TEXT NOT NULL,
    last_outcome     TEXT NOT NULL CHECK (last_outcome IN ('success', 'failed')),
    last_detail      TEXT
);
