//! The single writer: group commit, one event per command, typed errors, isolation of failing commands.

use crate::support::{count, open_read_only, TestApp};
use atlas_actors::domain::{
    Actor, Applied, Command, CommandError, NewProject, NewTask, ProjectId, ProjectPatch, TaskId,
};
use atlas_actors::Handles;
use std::sync::atomic::Ordering;

pub fn create_project(name: &str) -> Command {
    Command::CreateProject(NewProject { id: ProjectId::generate(), name: name.into(), description: None })
}

pub fn create_task(project: &ProjectId, title: &str) -> Command {
    Command::CreateTask(NewTask::titled(TaskId::generate(), project.clone(), title))
}

/// Submits every command at once from separate tasks and returns the results in order.
pub async fn submit_concurrently(
    handles: &Handles,
    commands: Vec<Command>,
) -> Vec<Result<atlas_actors::domain::CommandOutcome, CommandError>> {
    let tasks: Vec<_> = commands
        .into_iter()
        .map(|command| {
            let writer = handles.writer.clone();
            actix_rt::spawn(async move { writer.submit(command, Actor::new("test")).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("submit task joined"));
    }
    results
}

#[actix_rt::test]
async fn a_thousand_concurrent_commands_all_commit_with_one_event_each() {
    let app = TestApp::spawn().await;
    let stats = app.handles.writer.stats();
    let (batches_before, commands_before) =
        (stats.batches.load(Ordering::Relaxed), stats.commands.load(Ordering::Relaxed));
    let commands = (0..1000).map(|i| create_project(&format!("p{i}"))).collect();
    let results = submit_concurrently(&app.handles, commands).await;
    assert!(results.iter().all(Result::is_ok), "every command commits: {:?}", results.iter().find(|r| r.is_err()));
    let mut event_ids: Vec<i64> = results.iter().map(|r| r.as_ref().unwrap().event_id).collect();
    event_ids.sort_unstable();
    event_ids.dedup();
    assert_eq!(event_ids.len(), 1000, "each command got its own event");

    let batches = stats.batches.load(Ordering::Relaxed) - batches_before;
    let commands = stats.commands.load(Ordering::Relaxed) - commands_before;
    assert!(commands >= 1000, "{commands} commands (the scheduler's job records may add a few)");
    assert!(batches < commands, "concurrent commands were grouped: {batches} batches for {commands} commands");

    let db = app.db_path();
    let (stopped, _dir) = app.stop_keeping_files().await;
    stopped.expect("clean stop");
    let conn = open_read_only(&db);
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), 1000);
    assert_eq!(count(&conn, "SELECT count(*) FROM events WHERE type = 'project.created'"), 1000);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM (SELECT aggregate_id FROM events WHERE aggregate_type = 'project' GROUP BY aggregate_id HAVING count(*) <> 1)"
        ),
        0,
        "exactly one event per project"
    );
}

#[actix_rt::test]
async fn a_failing_command_does_not_fail_its_neighbours_in_the_batch() {
    let app = TestApp::spawn().await;
    let existing = ProjectId::generate();
    let first = Command::CreateProject(NewProject { id: existing.clone(), name: "first".into(), description: None });
    app.handles.writer.submit(first.clone(), Actor::new("test")).await.unwrap();

    let missing = ProjectId::generate();
    let mut commands = Vec::new();
    for i in 0..60 {
        commands.push(match i % 3 {
            0 => create_project(&format!("ok{i}")),
            1 => create_task(&missing, "orphan"),
            _ => first.clone(),
        });
    }
    let stats = app.handles.writer.stats();
    let (batches_before, commands_before) =
        (stats.batches.load(Ordering::Relaxed), stats.commands.load(Ordering::Relaxed));
    let results = submit_concurrently(&app.handles, commands).await;
    for (i, result) in results.iter().enumerate() {
        match i % 3 {
            0 => assert!(result.is_ok(), "valid command {i} failed: {result:?}"),
            1 => assert!(
                matches!(result, Err(CommandError::NotFound { entity, .. }) if entity.starts_with("project_id")),
                "{result:?}"
            ),
            _ => {
                assert!(matches!(result, Err(CommandError::Conflict(m)) if m.contains("already exists")), "{result:?}")
            }
        }
    }
    let batches = stats.batches.load(Ordering::Relaxed) - batches_before;
    let commands = stats.commands.load(Ordering::Relaxed) - commands_before;
    assert!(commands >= 60 && batches < commands, "these 60 commands shared batches: {batches} for {commands}");

    let conn = open_read_only(&app.db_path());
    assert_eq!(count(&conn, "SELECT count(*) FROM projects"), 21, "the first project plus the 20 valid ones");
    assert_eq!(count(&conn, "SELECT count(*) FROM tasks"), 0, "no orphan task slipped in");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM events WHERE aggregate_type = 'project'"),
        21,
        "failed commands leave no event"
    );
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn validation_and_state_errors_are_typed() {
    // Deletes applied directly (the default policy gates them behind an approval, in the writer too).
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings.approvals.policy = vec!["*:execute".into()];
    let app = TestApp::spawn_with(dir, settings).await;
    let writer = &app.handles.writer;
    let actor = || Actor::new("test");
    let Applied::Project(project) = writer.submit(create_project("ops"), actor()).await.unwrap().applied else {
        panic!("a project was applied")
    };

    let unknown = ProjectId::generate();
    let err = writer.submit(Command::DeleteProject { id: unknown.clone() }, actor()).await.unwrap_err();
    assert_eq!(err, CommandError::NotFound { entity: "project", id: unknown.to_string() });

    let err = writer.submit(create_project("   "), actor()).await.unwrap_err();
    assert!(matches!(err, CommandError::Invalid { ref field, .. } if field == "name"), "{err:?}");

    let rename = |version| Command::UpdateProject {
        id: project.id.clone(),
        expected_version: Some(version),
        patch: ProjectPatch { name: Some("renamed".into()), ..ProjectPatch::default() },
    };
    let updated = writer.submit(rename(1), actor()).await.unwrap();
    assert!(matches!(updated.applied, Applied::Project(ref p) if p.version == 2 && p.name == "renamed"));
    let err = writer.submit(rename(1), actor()).await.unwrap_err();
    assert!(matches!(err, CommandError::Conflict(ref m) if m.contains("version 2, not 1")), "{err:?}");

    writer.submit(create_task(&project.id, "child"), actor()).await.unwrap();
    let err = writer.submit(Command::DeleteProject { id: project.id.clone() }, actor()).await.unwrap_err();
    assert!(matches!(err, CommandError::Conflict(ref m) if m.contains("still has 1 task")), "{err:?}");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn the_read_pool_cannot_write() {
    let app = TestApp::spawn().await;
    let result = app
        .handles
        .readers
        .read(|conn| {
            conn.execute("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('p', 'n', 'x', 'x')", [])
        })
        .await;
    let err = result.expect_err("a read connection refuses writes").to_string();
    assert!(err.contains("readonly") || err.contains("read-only") || err.contains("query_only"), "{err}");
    app.stop().await.unwrap();
}

#[actix_rt::test]
async fn after_shutdown_the_writer_refuses_and_nothing_acknowledged_is_lost() {
    let app = TestApp::spawn().await;
    let results = submit_concurrently(&app.handles, (0..200).map(|i| create_project(&format!("p{i}"))).collect()).await;
    let acknowledged = results.iter().filter(|r| r.is_ok()).count();
    let handles = app.handles.clone();
    let db = app.db_path();
    let (stopped, _dir) = app.stop_keeping_files().await;
    stopped.expect("clean stop");
    let late = handles.writer.submit(create_project("late"), Actor::new("test")).await;
    assert!(matches!(late, Err(CommandError::Unavailable(_))), "{late:?}");
    let conn = open_read_only(&db);
    assert_eq!(count(&conn, "SELECT count(*) FROM projects") as usize, acknowledged);
    assert_eq!(acknowledged, 200);
    let wal = std::fs::metadata(db.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the WAL was checkpointed into the database on shutdown");
}

/// The WAL is folded into the database file by the background checkpointer, not by SQLite inside a
/// commit: the writes below stay far under SQLite's own threshold (1,000 pages, and the 10,000-page
/// backstop), so only the checkpointer can move them into the file.
#[actix_rt::test]
async fn the_background_checkpointer_folds_the_wal_off_the_commit_path() {
    let app = TestApp::spawn().await;
    let db = app.db_path();
    let size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    // The migrations' frames are folded by the first interval.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = size();
    let results = submit_concurrently(&app.handles, (0..300).map(|i| create_project(&format!("p{i}"))).collect()).await;
    assert!(results.iter().all(Result::is_ok));
    let wal_frames = (std::fs::metadata(db.with_extension("db-wal")).unwrap().len().saturating_sub(32)) / 4120;
    assert!(wal_frames < 1_000, "the test must stay under SQLite's own threshold: {wal_frames} frames");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while size() == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(size() > before, "the committed pages reached the database file ({before} bytes before, {} after)", size());
}

/// The approval policy holds in the writer: a door that skipped `http/gate.rs` (this test sends commands
/// straight to the writer) cannot queue a run, delete, or create a task as an agent; the same changes
/// apply once requested and approved.
#[actix_rt::test]
async fn a_door_that_skips_the_gate_cannot_make_a_gated_change() {
    let team = crate::api::Team::new().await;
    let writer = &team.app.handles.writer;
    let project = team.project("ops").await;
    let (_, task) = team
        .call(
            "POST",
            "/api/v1/tasks",
            &team.admin,
            Some(serde_json::json!({ "project_id": project, "title": "t", "command": ["true"] })),
        )
        .await;
    let task_id = atlas_actors::domain::TaskId::parse(task["id"].as_str().unwrap()).unwrap();
    let run = || {
        Command::QueueRun(atlas_actors::domain::command::NewRun {
            id: atlas_actors::domain::RunId::generate(),
            task_id: task_id.clone(),
            command: vec!["true".into()],
            cwd: None,
            timeout_s: None,
            env: Default::default(),
            executor: None,
        })
    };
    for name in ["alice", "agent-bot", "system", "someone-made-up"] {
        let err = writer.submit(run(), Actor::new(name)).await.unwrap_err();
        assert!(matches!(err, CommandError::Forbidden(ref m) if m.contains("without an approval")), "{name}: {err:?}");
    }
    let err = writer.submit(Command::DeleteTask { id: task_id.clone() }, Actor::new("admin")).await.unwrap_err();
    assert!(matches!(err, CommandError::Forbidden(_)), "{err:?}");
    // The agent's token (agent-bot): task creation is gated for its role only.
    let sneaky = create_task(&ProjectId::parse(&project).unwrap(), "sneaky");
    let err = writer.submit(sneaky.clone(), Actor::new("agent-bot")).await.unwrap_err();
    assert!(matches!(err, CommandError::Forbidden(_)), "{err:?}");
    writer.submit(sneaky, Actor::new("alice")).await.expect("an approver creates tasks directly");
    // Self-approval is the writer's to decide: a door that says "allowed" cannot make it so.
    let own = Command::RequestApproval { id: atlas_actors::domain::ApprovalId::generate(), change: Box::new(run()) };
    let Applied::Approval(own) = writer.submit(own, Actor::new("alice")).await.unwrap().applied else {
        panic!("an approval was requested")
    };
    let review = Command::ReviewApproval {
        id: own.id.clone(),
        decision: atlas_actors::domain::command::Decision::Approve,
        notes: None,
        allow_self_approval: true,
        via: None,
    };
    let err = writer.submit(review, Actor::new("alice")).await.unwrap_err();
    assert!(matches!(err, CommandError::Forbidden(ref m) if m.contains("cannot approve it")), "{err:?}");
    // Requested and approved, the run is queued (the approval applies it as its requester).
    let request =
        Command::RequestApproval { id: atlas_actors::domain::ApprovalId::generate(), change: Box::new(run()) };
    let Applied::Approval(approval) = writer.submit(request, Actor::new("agent-bot")).await.unwrap().applied else {
        panic!("an approval was requested")
    };
    let (status, body) =
        team.call("POST", &format!("/api/v1/approvals/{}/approve", approval.id), &team.approver, None).await;
    assert_eq!(status, 200, "{body}");
}
