//! Attacks on the detached-work change (a6e4d1c): restarts, damaged mode and the Sheets import.

use crate::api::Team;
use crate::sheets::{client, cycle_with, request_project, shared};
use crate::support::damage::damage_object;
use crate::support::fake_sheets::FakeSheets;
use crate::support::{test_settings, TestApp};
use crate::writer::create_project;
use atlas_actors::domain::Actor;
use atlas_actors::fault::Fault;
use atlas_actors::registry::names;
use std::path::Path;
use std::time::Duration;

/// Fills the trunk page of the freelist with garbage (quick_check fails, ordinary reads still work).
fn damage_freelist(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch(
            "CREATE TABLE scratch(x); INSERT INTO scratch SELECT randomblob(3000) FROM \
            (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) SELECT i FROM n); \
            DROP TABLE scratch; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let header = std::fs::read(db).unwrap();
    let trunk = u32::from_be_bytes(header[32..36].try_into().unwrap()) as u64;
    let page = u16::from_be_bytes(header[16..18].try_into().unwrap()) as u64;
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    file.seek(SeekFrom::Start((trunk - 1) * page)).unwrap();
    file.write_all(&vec![0xa5; page as usize]).unwrap();
    file.sync_all().unwrap();
}

/// A human's decision typed in the sheet while the database refuses writes (damaged; the same for a full
/// disk, 507) is not taken for a refused edit: the cell keeps the decision, to be applied once writes are
/// taken again.
#[actix_rt::test]
async fn a_sheet_decision_typed_while_writes_are_refused_is_not_erased() {
    let team = Team::new().await;
    let fake = FakeSheets::start().await;
    let sheets = client(&fake, team.app.dir.path()).await;
    team.app.handles.writer.submit(request_project("p"), Actor::new("agent-bot")).await.unwrap();
    cycle_with(&team, &sheets, &mut None, &shared()).await.unwrap();
    // A person approves in the sheet (the shared Status column).
    fake.set_cell("Pending_Approvals", 1, 4, "approved");

    let Team { app, admin, agent, approver, approver2, viewer } = team;
    let (stopped, dir) = app.stop_keeping_files().await;
    stopped.unwrap();
    damage_freelist(&dir.path().join("data/atlas.db"));
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    assert!(app.handles.writer.storage().refusal().is_some(), "damaged mode");
    let team = Team { app, admin, agent, approver, approver2, viewer };
    let sheets = client(&fake, team.app.dir.path()).await;
    let outcome = cycle_with(&team, &sheets, &mut None, &shared()).await;
    eprintln!("cycle on a damaged database: {outcome:?}");
    let row = fake.tab("Pending_Approvals").unwrap().rows[1].clone();
    eprintln!("row after the cycle: {row:?}");
    assert_eq!(row[4], "approved", "the person's decision was overwritten in the sheet and never applied: {row:?}");
}

/// Commands in the writer's mailbox when it restarts (a handler panic) are answered without waiting for a
/// next command: the restarted writer flushes what was pending (their `Flush` lived on the dropped context).
#[actix_rt::test]
async fn commands_queued_when_the_writer_restarts_are_answered() {
    let app = TestApp::spawn().await;
    let writer = app.handles.writer.clone();
    // Hold the writer's thread so the commands and the panic queue up together.
    let stall = {
        let writer = writer.clone();
        actix_rt::spawn(async move { writer.inject(Fault::Stall(Duration::from_millis(400))).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let submits: Vec<_> = (0..5)
        .map(|i| {
            let writer = writer.clone();
            actix_rt::spawn(async move { writer.submit(create_project(&format!("q{i}")), Actor::system()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.inject(Fault::PanicNow).await;
    stall.await.unwrap();
    crate::supervision::wait_restarted(&app.handles.registry, names::WRITER, 1).await;
    let mut hung = 0;
    for submit in submits {
        match tokio::time::timeout(Duration::from_secs(5), submit).await {
            Ok(answer) => eprintln!("answered: {:?}", answer.unwrap().map(|_| ())),
            Err(_) => hung += 1,
        }
    }
    assert_eq!(hung, 0, "{hung} caller(s) of commands queued before the restart got no answer within 5 s");
}

/// A database at schema 4 (an upgrade's pending migration 5) that fails its start-up quick_check.
fn damaged_old_schema(db: &Path) {
    use atlas_actors::store::migrate::embedded;
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, \
         applied_at TEXT NOT NULL)",
    )
    .unwrap();
    for migration in embedded().into_iter().filter(|m| m.version <= 4) {
        conn.execute_batch(migration.sql).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2, ?3, '2026-01-01T00:00:00.000Z')",
            rusqlite::params![migration.version, migration.name, migration.checksum()],
        )
        .unwrap();
    }
    drop(conn);
    damage_object(db, "notes");
}

fn schema_version(db: &Path) -> i64 {
    let conn = crate::support::open_read_only(db);
    conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0)).unwrap()
}

/// A damaged database the start left alone (read-only mode) is not migrated when the writer restarts,
/// and the restart does not escalate.
#[actix_rt::test]
async fn a_writer_restart_never_migrates_a_damaged_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/atlas.db");
    damaged_old_schema(&db);
    let settings = test_settings(&dir);
    let app = TestApp::spawn_with(dir, settings).await;
    assert!(app.handles.writer.storage().refusal().is_some(), "damaged mode");
    assert_eq!(schema_version(&db), 4, "the start did not migrate");
    app.handles.writer.inject(Fault::PanicNow).await;
    crate::supervision::wait_restarted(&app.handles.registry, names::WRITER, 1).await;
    let status = app.handles.registry.status(names::WRITER);
    eprintln!("writer after the restart: {status:?}");
    let version = schema_version(&db);
    assert_eq!(version, 4, "the restarted writer migrated the damaged database (writer: {status:?})");
    assert_ne!(status.map(|s| s.state), Some(atlas_actors::registry::ActorState::Failed), "escalated");
}

/// `atlas migrate` checks the file first, as `serve` does: a damaged database is never migrated.
#[actix_rt::test]
async fn atlas_migrate_never_writes_to_a_damaged_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/atlas.db");
    damaged_old_schema(&db);
    let settings = test_settings(&dir);
    let migrated = atlas_actors::store::migrate_database(&settings.store_config(), &atlas_actors::domain::SystemClock);
    eprintln!("atlas migrate on a damaged database: {:?}", migrated.as_ref().map(|s| s.current));
    assert_eq!(schema_version(&db), 4, "migrate wrote to a database that fails its quick_check: {migrated:?}");
}
