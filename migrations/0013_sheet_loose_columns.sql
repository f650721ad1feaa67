-- Reviewer columns of the sheet found loose (their protection did not make their cells that reviewer's),
-- kept in Atlas's own state rather than in a hotlist entry any approver may resolve: nothing in such a
-- column counts until Atlas has repaired its protection and cleared its cells in one atomic request.
CREATE TABLE sheet_loose_columns (
    reviewer TEXT PRIMARY KEY,
    since    TEXT NOT NULL,
    reason   TEXT NOT NULL
);
