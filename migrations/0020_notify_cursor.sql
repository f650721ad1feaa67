-- How far the Notifier has told people about the events it reads (approval requested or decided, a run
-- failed, a critical error): one row, kept by the writer's bookkeeping, so a restart neither repeats the
-- messages already sent nor skips the events committed while Atlas was down.
CREATE TABLE notify_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
);
-- History is not news: the Notifier starts at the newest event of the database it is added to.
INSERT INTO notify_cursor (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM events;

-- Who already took an event's news while the cursor has not passed it (a channel, `channel:<name>`, or a
-- reviewer, `reviewer:<name>`): a restart or a retry sends only to the others. Trimmed as the cursor
-- passes.
CREATE TABLE notify_sent (
    event_id INTEGER NOT NULL,
    target   TEXT NOT NULL,
    PRIMARY KEY (event_id, target)
);
