//! The search index's upkeep, in the writer's transaction: after a command touched a record, its index
//! row is made again from `search_source` (migration 0016, the one definition of what is searchable), or
//! removed when the record is gone from it (a deleted task). The index is never written anywhere else,
//! so it holds what the tables hold as of each commit.

use rusqlite::{params, Connection, OptionalExtension};

/// The record kinds the index holds, by the aggregate type their commands touch.
const KINDS: [&str; 5] = ["project", "task", "approval", "run", "error"];

/// Makes `kind`/`id`'s index row agree with its record (a no-op for kinds not searched).
pub fn reindex(conn: &Connection, kind: &str, id: &str) -> rusqlite::Result<()> {
    if !KINDS.contains(&kind) {
        return Ok(());
    }
    let source = conn
        .prepare_cached("SELECT title, body FROM search_source WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind, id], |row| Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?)))
        .optional()?;
    let doc: Option<i64> = conn
        .prepare_cached("SELECT rowid FROM search_docs WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind, id], |row| row.get(0))
        .optional()?;
    if let Some(rowid) = doc {
        conn.prepare_cached("DELETE FROM search_text WHERE rowid = ?1")?.execute([rowid])?;
    }
    match (source, doc) {
        (Some((title, body)), Some(rowid)) => {
            conn.prepare_cached("INSERT INTO search_text (rowid, title, body) VALUES (?1, ?2, ?3)")?
                .execute(params![rowid, title, body])?;
        }
        (Some((title, body)), None) => {
            conn.prepare_cached("INSERT INTO search_docs (kind, id) VALUES (?1, ?2)")?.execute(params![kind, id])?;
            let rowid = conn.last_insert_rowid();
            conn.prepare_cached("INSERT INTO search_text (rowid, title, body) VALUES (?1, ?2, ?3)")?
                .execute(params![rowid, title, body])?;
        }
        (None, Some(rowid)) => {
            conn.prepare_cached("DELETE FROM search_docs WHERE rowid = ?1")?.execute([rowid])?;
        }
        (None, None) => {}
    }
    Ok(())
}

/// Makes the whole index again from `search_source` (after a replay, which does not carry it).
pub fn rebuild(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM search_text; DELETE FROM search_docs;
         INSERT INTO search_docs (kind, id) SELECT kind, id FROM search_source;
         INSERT INTO search_text (rowid, title, body)
             SELECT d.rowid, s.title, s.body FROM search_source s JOIN search_docs d ON d.kind = s.kind AND d.id = s.id;",
    )
}
