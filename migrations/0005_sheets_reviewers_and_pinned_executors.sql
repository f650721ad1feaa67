-- Sheets: the baseline now holds every cell of a mirrored row as Atlas last exported it (Atlas-owned cells
-- included, so the import can tell a row that still shows the export from one whose cells were changed),
-- and Pending_Approvals gains reviewer columns after H (up to Z). Columns 32 and up hold, per column, a
-- human's value Atlas saw but did not take (a refused Atlas cell, an edit that waits).

CREATE TABLE sheet_cells_new (
    tab    TEXT NOT NULL,
    row_id TEXT NOT NULL,
    col    INTEGER NOT NULL CHECK (col BETWEEN 0 AND 63),
    value  TEXT NOT NULL,
    PRIMARY KEY (tab, row_id, col)
);
INSERT INTO sheet_cells_new (tab, row_id, col, value) SELECT tab, row_id, col, value FROM sheet_cells;
DROP TABLE sheet_cells;
ALTER TABLE sheet_cells_new RENAME TO sheet_cells;

-- Since when a sync direction has been failing (NULL while it succeeds): the alert waits for the
-- contract's hour of failure, whether or not a sync ever succeeded.
ALTER TABLE sync_state ADD COLUMN failing_since TEXT;

-- An executor-profile run pins what its profile resolved to when it was requested (executor, definition,
-- argv, as JSON), so the argv that runs is the one approved.
ALTER TABLE runs ADD COLUMN executor TEXT;

-- Approvals gain a final state `superseded` (its payload or target changed, so it can never apply) and the
-- reason. SQLite cannot alter a CHECK: the table is rebuilt, foreign keys from runs checked at COMMIT.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE approvals_new (
    id             TEXT PRIMARY KEY,
    item_type      TEXT NOT NULL CHECK (item_type IN ('task', 'project', 'config', 'deployment')),
    item_id        TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'execute')),
    summary        TEXT NOT NULL,
    payload        TEXT NOT NULL CHECK (json_valid(payload)),
    payload_hash   TEXT NOT NULL,
    target_version INTEGER,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'superseded')),
    requested_at   TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    reviewed_at    TEXT,
    reviewed_by    TEXT,
    -- why a superseded approval can never apply
    closed_reason  TEXT,
    CHECK ((status = 'pending') = (reviewed_at IS NULL))
);
INSERT INTO approvals_new (id, item_type, item_id, action, summary, payload, payload_hash, target_version, status,
                           requested_at, requested_by, reviewed_at, reviewed_by)
SELECT id, item_type, item_id, action, summary, payload, payload_hash, target_version, status,
       requested_at, requested_by, reviewed_at, reviewed_by FROM approvals;
DROP TABLE approvals;
ALTER TABLE approvals_new RENAME TO approvals;
CREATE INDEX idx_approvals_status ON approvals(status, requested_at);

-- A run's process group and its leader's start time (clock ticks since boot, /proc/<pid>/stat): after a
-- crash, recovery kills what the run left alive, and never a process that merely reuses the pid.
ALTER TABLE runs ADD COLUMN pgid INTEGER;
ALTER TABLE runs ADD COLUMN proc_start INTEGER;
