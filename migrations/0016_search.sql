-- One search over projects, tasks, approvals, runs (output included) and errors (issue 27), in SQLite FTS5
-- with the trigram tokenizer: a term of three or more characters matches wherever it occurs in the text,
-- case aside, as `LIKE '%term%'` would, but from an index.
--
-- `search_source` is the one definition of what is searchable: each record's title and body. The writer
-- re-reads a record's row from it in the transaction of every command that touched the record
-- (`store/search.rs`); this migration fills the index from it, and a later one rebuilds it the same way
-- (DELETE FROM search_docs; DELETE FROM search_text; the two INSERTs below).
CREATE VIEW search_source (kind, id, title, body) AS
    SELECT 'project', id, name, coalesce(description, '') FROM projects WHERE deleted_at IS NULL
    UNION ALL
    SELECT 'task', id, title, coalesce(description, '') || ' ' || assignee || ' ' ||
        coalesce((SELECT group_concat(value, ' ') FROM json_each(tasks.command)), '')
        FROM tasks WHERE deleted_at IS NULL
    UNION ALL
    SELECT 'approval', id, summary, requested_by || ' ' || payload FROM approvals
    UNION ALL
    -- A run's output is indexed by its first and last 8,000 characters: where commands say what they
    -- are doing and how they failed, without indexing megabytes of progress lines.
    SELECT 'run', id, (SELECT group_concat(value, ' ') FROM json_each(runs.command)),
        CASE WHEN length(coalesce(output, '')) <= 16000 THEN coalesce(output, '')
             ELSE substr(output, 1, 8000) || ' … ' || substr(output, -8000) END
        || ' ' || coalesce(error_log, '')
        FROM runs
    UNION ALL
    SELECT 'error', id, error, source || ' ' || coalesce(resolution, '') FROM errors;

-- The documents: which record each index row is (the FTS rowid), so a record is found again by key.
CREATE TABLE search_docs (
    rowid INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    id    TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE VIRTUAL TABLE search_text USING fts5(title, body, tokenize = 'trigram');

INSERT INTO search_docs (kind, id) SELECT kind, id FROM search_source;
INSERT INTO search_text (rowid, title, body)
    SELECT d.rowid, s.title, s.body FROM search_source s JOIN search_docs d ON d.kind = s.kind AND d.id = s.id;
