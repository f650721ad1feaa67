-- The Atlas instance that started a run's process (an id kept in the data directory, never in the
-- database), so that recovery after a crash kills only its own instance's processes: a copy of this
-- database served on the same host (a restore drill, staging) must never kill the original's runs.
-- NULL for runs recorded before this column existed.
ALTER TABLE runs ADD COLUMN instance TEXT;
