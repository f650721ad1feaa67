-- Point-in-time recovery: what each committed write batch changed, as an SQLite session changeset, stored
-- in the same transaction as the batch (so nothing committed is ever missing from the log) and shipped
-- off-site in order. The session that records changes ignores this table itself.
CREATE TABLE pitr_outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    committed_at   TEXT NOT NULL,
    -- The schema the changeset applies to: a chain of changesets never crosses a migration.
    schema_version INTEGER NOT NULL,
    changeset      BLOB NOT NULL
);
