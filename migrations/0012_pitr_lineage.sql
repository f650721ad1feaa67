-- One bucket, one history (actors/src/backup/owner.rs): whether this database was made here or put in
-- place by a restore, and which database it replaced in place. A restored copy writes nothing to the
-- bucket until it is promoted, unless it succeeds the bucket's owner in place. A restore of a copy older
-- than this migration writes the table before migrating, hence IF NOT EXISTS. Not captured: it describes
-- the file, not its data.
CREATE TABLE IF NOT EXISTS pitr_lineage (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    restored INTEGER NOT NULL DEFAULT 0 CHECK (restored IN (0, 1)),
    succeeds TEXT
);
INSERT OR IGNORE INTO pitr_lineage (id) VALUES (1);
