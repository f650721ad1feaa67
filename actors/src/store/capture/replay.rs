//! Replay: captured changesets applied in order onto a copy of the database taken before them, the core
//! of a point-in-time restore. All or nothing: one transaction for the whole replay, any conflict aborts
//! it (a replay never resolves a conflict by guessing) and leaves the copy as it was; the search index,
//! which changesets do not carry, is rebuilt before the commit; an `integrity_check` follows it.

use rusqlite::Connection;

/// Why a replay stopped; the copy it ran on is unchanged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("changeset {seq} does not apply to the database as it stands ({why}); nothing was replayed")]
    Conflict { seq: i64, why: String },
    #[error("the replayed database failed its integrity_check: {0}")]
    Damaged(String),
    #[error("the replay could not run: {0}")]
    Storage(String),
}

/// Applies `changesets` (sequence number, changeset) in the order given onto `conn`; answers how many.
pub fn replay_onto(
    conn: &Connection,
    changesets: impl IntoIterator<Item = (i64, Vec<u8>)>,
) -> Result<u64, ReplayError> {
    let storage = |e: rusqlite::Error| ReplayError::Storage(e.to_string());
    conn.execute_batch("BEGIN IMMEDIATE").map_err(storage)?;
    let mut applied = 0;
    for (seq, changeset) in changesets {
        if let Err(err) = sqlite_session::apply_or_abort(conn, &changeset) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(ReplayError::Conflict { seq, why: err.to_string() });
        }
        applied += 1;
    }
    // The search index is derived and not captured: made again from what was replayed, in the same
    // transaction (a copy from before migration 0016 has none).
    let indexed = conn
        .query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'search_docs'", [], |r| r.get::<_, bool>(0));
    if applied > 0 && indexed.map_err(storage)? {
        if let Err(err) = crate::store::search::rebuild(conn) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(ReplayError::Storage(format!("rebuilding the search index: {err}")));
        }
    }
    conn.execute_batch("COMMIT").map_err(storage)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(storage)?;
    if verdict != "ok" {
        return Err(ReplayError::Damaged(verdict));
    }
    Ok(applied)
}
