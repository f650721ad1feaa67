-- Sheets: the baseline now holds every cell of a mirrored row as Atlas last exported it (Atlas-owned cells
-- included, so the import can tell a row that still shows the export from one whose cells were changed),
-- and Pending_Approvals gains reviewer columns after H (up to Z).

CREATE TABLE sheet_cells_new (
    tab    TEXT NOT NULL,
    row_id TEXT NOT NULL,
    col    INTEGER NOT NULL CHECK (col BETWEEN 0 AND 25),
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
