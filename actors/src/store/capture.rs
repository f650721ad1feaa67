//! Change capture for point-in-time recovery: what each committed write batch changed, recorded by an
//! SQLite session on the writer's connection and stored, as one changeset, in `pitr_outbox` inside the
//! same transaction. A batch that commits has its changeset; one that rolls back leaves none.
//!
//! What replay assumes (checked by [`assert_capturable`] at start-up, stated in ARCHITECTURE):
//! - every captured table has an explicit PRIMARY KEY (the session ignores tables without one, and rows
//!   with a NULL key);
//! - the schema's triggers only refuse (the two on `notes` raise on UPDATE/DELETE), so a trigger never
//!   makes a change replay would make a second time;
//! - schema changes are not captured: a changeset applies only to the schema version it was taken at.

use rusqlite::session::Session;
use rusqlite::Connection;

/// The outbox table, which the session itself leaves out.
pub const OUTBOX: &str = "pitr_outbox";

/// Starts recording every table but the outbox (and SQLite's own).
pub fn begin(conn: &Connection) -> rusqlite::Result<Session<'_>> {
    let mut session = Session::new(conn)?;
    session.table_filter(Some(|table: &str| table != OUTBOX && !table.starts_with("sqlite_")));
    session.attach(None::<&str>)?;
    Ok(session)
}

/// Stores what the session recorded as one outbox row, in the transaction still open; answers whether
/// there was anything (a batch whose commands all failed, or changed nothing, stores nothing).
pub fn store(
    conn: &Connection,
    session: &mut Session<'_>,
    committed_at: &str,
    schema_version: u32,
) -> rusqlite::Result<bool> {
    if session.is_empty() {
        return Ok(false);
    }
    let mut changeset = Vec::new();
    session.changeset_strm(&mut changeset)?;
    if changeset.is_empty() {
        return Ok(false);
    }
    conn.prepare_cached("INSERT INTO pitr_outbox (committed_at, schema_version, changeset) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![committed_at, schema_version, changeset])?;
    Ok(true)
}

/// Refuses a schema the session cannot capture whole: a table without a PRIMARY KEY, or a trigger that
/// writes (replay would apply its change twice).
pub fn assert_capturable(conn: &Connection) -> Result<(), String> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != ?1")
        .and_then(|mut s| s.query_map([OUTBOX], |r| r.get(0))?.collect())
        .map_err(|e| e.to_string())?;
    for table in tables {
        let keyed: bool = conn
            .query_row("SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE pk > 0", [&table], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if !keyed {
            return Err(format!("table {table} has no PRIMARY KEY: its changes could not be captured for recovery"));
        }
    }
    let writing_triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND sql NOT LIKE '%RAISE(%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| e.to_string())?;
    if let Some(trigger) = writing_triggers.first() {
        return Err(format!("trigger {trigger} may write: replaying a changeset would apply its change twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::{Actor, Command, NewProject, NewTask, ProjectId, TaskId, TaskPatch};
    use crate::store::transaction::apply_batch;
    use rusqlite::session::{ConflictAction, ConflictType};

    fn migrated(path: &std::path::Path) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        crate::store::migrate::apply_pending(&mut conn, "2026-12-01T00:00:00.000Z").unwrap();
        conn
    }

    /// Every row of every captured table, as text, in key order.
    fn contents(conn: &Connection) -> Vec<String> {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'pitr_outbox' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut rows = Vec::new();
        for table in tables {
            let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1")).unwrap();
            let width = statement.column_count();
            let mut cursor = statement.query([]).unwrap();
            while let Some(row) = cursor.next().unwrap() {
                let values: Vec<String> = (0..width).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect();
                rows.push(format!("{table}: {}", values.join(" | ")));
            }
        }
        rows
    }

    fn replay(onto: &Connection, from: &Connection) {
        let changesets: Vec<Vec<u8>> = from
            .prepare("SELECT changeset FROM pitr_outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for changeset in changesets {
            let mut input: &[u8] = &changeset;
            // Any conflict aborts the apply, which then fails: a replay never resolves by guessing.
            let applied = onto.apply_strm(&mut input, None::<fn(&str) -> bool>, |_: ConflictType, _| {
                ConflictAction::SQLITE_CHANGESET_ABORT
            });
            applied.expect("every changeset applies onto the base without a conflict");
        }
    }

    #[test]
    fn replaying_the_outbox_onto_the_base_rebuilds_the_database_and_failed_commands_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let live = migrated(&dir.path().join("live.db"));
        assert_capturable(&live).unwrap();
        let base = dir.path().join("base.db");
        live.execute("VACUUM INTO ?1", [base.to_str().unwrap()]).unwrap();
        let actor = Actor::new("alice");
        let project = ProjectId::generate();
        let task = TaskId::generate();
        let create = Command::CreateProject(NewProject { id: project.clone(), name: "p".into(), description: None });
        let new_task = Command::CreateTask(NewTask::titled(task.clone(), project.clone(), "t"));
        let stale = Command::UpdateTask {
            id: task.clone(),
            expected_version: Some(99),
            patch: TaskPatch { title: Some("never".into()), ..TaskPatch::default() },
        };
        let rename = Command::UpdateTask {
            id: task.clone(),
            expected_version: Some(1),
            patch: TaskPatch { title: Some("renamed".into()), ..TaskPatch::default() },
        };
        let first = [(&create, &actor), (&new_task, &actor), (&stale, &actor)];
        let results = apply_batch(&live, &first, "2026-12-01T00:00:01.000Z", false, true).unwrap();
        assert!(results[2].is_err(), "the stale update fails inside the batch");
        let only_failing = [(&stale, &actor)];
        apply_batch(&live, &only_failing, "2026-12-01T00:00:02.000Z", false, true).unwrap();
        apply_batch(&live, &[(&rename, &actor)], "2026-12-01T00:00:03.000Z", false, true).unwrap();
        let stored: i64 = live.query_row("SELECT count(*) FROM pitr_outbox", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, 2, "a batch that changed nothing stores no changeset");

        let rebuilt = Connection::open(&base).unwrap();
        replay(&rebuilt, &live);
        assert_eq!(contents(&rebuilt), contents(&live), "the replayed base equals the live database, row for row");
        let title: String = rebuilt.query_row("SELECT title FROM tasks", [], |r| r.get(0)).unwrap();
        assert_eq!(title, "renamed", "and the failed update left no trace");
    }

    #[test]
    fn a_table_without_a_key_or_a_writing_trigger_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conn = migrated(&dir.path().join("db"));
        conn.execute_batch("CREATE TABLE loose (a, b)").unwrap();
        assert!(assert_capturable(&conn).unwrap_err().contains("loose has no PRIMARY KEY"));
        conn.execute_batch(
            "DROP TABLE loose; CREATE TRIGGER copy AFTER INSERT ON projects BEGIN UPDATE projects SET version = version; END",
        )
        .unwrap();
        assert!(assert_capturable(&conn).unwrap_err().contains("trigger copy may write"));
    }
}
