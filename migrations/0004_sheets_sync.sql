-- The state of each Sheets sync direction, so failures survive restarts and health can report them.

CREATE TABLE sync_state (
    direction            TEXT PRIMARY KEY CHECK (direction IN ('import', 'export')),
    last_attempt_at      TEXT NOT NULL,
    last_success_at      TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_requests        INTEGER NOT NULL DEFAULT 0,
    edits_applied        INTEGER NOT NULL DEFAULT 0,
    edits_rejected       INTEGER NOT NULL DEFAULT 0
);

-- What Atlas last saw or wrote in each human-editable cell of the sheet: a cell that differs from it
-- was edited by a human; one that still matches it may be updated from the database.
CREATE TABLE sheet_cells (
    tab    TEXT NOT NULL,
    row_id TEXT NOT NULL,
    col    INTEGER NOT NULL CHECK (col BETWEEN 0 AND 7),
    value  TEXT NOT NULL,
    PRIMARY KEY (tab, row_id, col)
);
