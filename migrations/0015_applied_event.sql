-- The audit event an approval's change wrote when it applied (issue 27): a decided approval shows its diff as
-- it was decided (that event's `before` and the stored payload), never recomputed against today's row.
-- Approvals decided before this migration have none; the console then shows the proposal alone.
ALTER TABLE approvals ADD COLUMN applied_event_id INTEGER REFERENCES events(id);
