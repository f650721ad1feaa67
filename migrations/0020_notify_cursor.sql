-- How far the Notifier has read the events it tells people about (approval requested or decided, a run
-- failed, a critical error): one row. Kept by the writer's bookkeeping, so a restart neither repeats
-- the messages already sent nor skips the events committed while Atlas was down.
CREATE TABLE notify_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
);
-- History is not news: the Notifier starts at the newest event of the database it is added to.
INSERT INTO notify_cursor (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM events;
