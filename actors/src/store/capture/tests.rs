// Capture's tests build scratch databases to replay onto, outside `store::open`.
#![allow(clippy::disallowed_methods)]

//! Capture against replay: the outbox, applied in order onto a copy taken before, rebuilds the database.

use super::*;

use crate::domain::{Actor, Command, NewProject, NewTask, ProjectId, TaskId, TaskPatch};
use crate::store::transaction::apply_batch;

fn migrated(path: &std::path::Path) -> Connection {
    let mut conn = Connection::open(path).unwrap();
    crate::store::migrate::apply_pending(&mut conn, "2026-12-01T00:00:00.000Z").unwrap();
    conn
}

/// Every row of every captured table, as text, in key order.
fn contents(conn: &Connection) -> Vec<String> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'pitr_outbox' AND name NOT LIKE 'search_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The search index as it reads (its FTS5 storage is laid out anew by a rebuild, to the same content).
    let mut rows: Vec<String> = conn
        .prepare("SELECT d.kind, d.id, t.title, t.body FROM search_docs d JOIN search_text t ON t.rowid = d.rowid ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok(format!("search: {} {} {:?} {:?}", r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
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

/// The outbox of `from`, in order.
fn outbox(from: &Connection) -> Vec<(i64, Vec<u8>)> {
    from.prepare("SELECT seq, changeset FROM pitr_outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
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
    assert_eq!(replay_onto(&rebuilt, outbox(&live)), Ok(2));
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

#[test]
fn a_changeset_that_does_not_apply_stops_the_replay_and_leaves_the_copy_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let live = migrated(&dir.path().join("live.db"));
    let actor = Actor::new("alice");
    let project = ProjectId::generate();
    let create = Command::CreateProject(NewProject { id: project.clone(), name: "p".into(), description: None });
    let base = dir.path().join("base.db");
    live.execute("VACUUM INTO ?1", [base.to_str().unwrap()]).unwrap();
    apply_batch(&live, &[(&create, &actor)], "2026-12-01T00:00:01.000Z", false, true).unwrap();
    let task = Command::CreateTask(NewTask::titled(TaskId::generate(), project, "t"));
    apply_batch(&live, &[(&task, &actor)], "2026-12-01T00:00:02.000Z", false, true).unwrap();
    // The copy already holds the first batch's project (a replay onto the wrong base): its insert conflicts.
    let copy = Connection::open(&base).unwrap();
    let first = outbox(&live).remove(0);
    replay_onto(&copy, [first.clone()]).unwrap();
    let before = contents(&copy);
    let refused = replay_onto(&copy, outbox(&live));
    assert!(
        matches!(&refused, Err(ReplayError::Conflict { seq, .. }) if *seq == first.0),
        "the first changeset conflicts, by its number: {refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("nothing was replayed"));
    assert_eq!(contents(&copy), before, "the copy is as it was: the second changeset did not apply either");
}
