-- Quorum: a rule may require more than one reviewer (`[approvals] quorum`). The number is fixed when the
-- approval is requested; each approving review is recorded, and the change applies in the transaction of
-- the last one needed. One rejection rejects; the requester never counts.
ALTER TABLE approvals ADD COLUMN required_reviews INTEGER NOT NULL DEFAULT 1 CHECK (required_reviews BETWEEN 1 AND 10);
CREATE TABLE approval_reviews (
    approval_id TEXT NOT NULL REFERENCES approvals(id),
    reviewer    TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    -- Where it was given when not over HTTP (a sheet's reviewer column).
    via         TEXT,
    PRIMARY KEY (approval_id, reviewer)
);
