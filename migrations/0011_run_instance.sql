-- The Atlas instance that started a run's process (an id kept in the data directory, never in the
-- database), so that recovery after a crash kills only its own instance's processes: a copy of this
-- database served on the same host (a restore drill, staging) must never kill the original's runs.
-- With it, the Atlas process that spawned the run (pid and start time): a run of another instance is left
-- alone while that process lives, and its leftovers are killed once it is gone (the instance file may have
-- been deleted or the directory moved: the process tells). NULL for runs recorded before these columns.
ALTER TABLE runs ADD COLUMN instance TEXT;
ALTER TABLE runs ADD COLUMN spawner_pid INTEGER;
ALTER TABLE runs ADD COLUMN spawner_start INTEGER;
