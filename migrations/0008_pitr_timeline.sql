-- Point-in-time recovery: the timeline this database's changes belong to. Every database gets its own at
-- creation, and every restore gives the restored copy a new one (its history forks there), so two
-- histories never ship changes under the same name. Not captured: it is the chain's name, not its data.
CREATE TABLE pitr_timeline (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    timeline TEXT NOT NULL
);
INSERT INTO pitr_timeline (id, timeline) VALUES (1, lower(hex(randomblob(8))));
