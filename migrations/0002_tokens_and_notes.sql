-- API tokens (stored only as SHA-256 hashes) and the append-only note history of approvals, runs and errors.

CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'agent', 'approver', 'admin')),
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT
);

-- Notes are only ever inserted: each addition keeps its author and time.
CREATE TABLE notes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_type TEXT NOT NULL CHECK (subject_type IN ('approval', 'run', 'error')),
    subject_id   TEXT NOT NULL,
    author       TEXT NOT NULL,
    body         TEXT NOT NULL CHECK (length(body) > 0),
    created_at   TEXT NOT NULL
);

CREATE INDEX idx_notes_subject ON notes(subject_type, subject_id, id);

CREATE TRIGGER notes_are_append_only_update BEFORE UPDATE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;

CREATE TRIGGER notes_are_append_only_delete BEFORE DELETE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;
