//! Panics inside real handler bodies (`Fault::PanicInHandler` arms a `fault_point!` in the body or in the
//! future it returns; the panic is not caught by the drill): the caller gets an answer naming the failure,
//! the actor is restarted with the panic as its last error, and then it serves again.

use crate::supervision::wait_restarted;
use atlas_actors::fault::Fault;
use atlas_actors::registry::{names, ActorRegistry};
use atlas_actors::scheduler::RunNowError;

fn panicked(registry: &ActorRegistry, actor: &str) {
    let status = registry.status(actor).unwrap();
    let error = status.last_error.unwrap_or_default();
    assert!(error.contains("handler panicked") && error.contains("inside a handler body"), "{actor}: {error}");
}

#[actix_rt::test]
async fn each_actor_kind_answers_restarts_and_serves_again_after_a_panic_in_a_real_handler() {
    let team = crate::api::Team::new().await;
    let handles = team.app.handles.clone();
    let registry = handles.registry.clone();

    // Health: the readiness handler's body.
    handles.health.inject(Fault::PanicInHandler).await;
    let (status, body) = team.app.ready().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.to_string().contains("health actor failed while answering"), "{body}");
    wait_restarted(&registry, names::HEALTH, 1).await;
    panicked(&registry, names::HEALTH);

    // Backup: inside the operation's future, off the loop.
    handles.backup.inject(Fault::PanicInHandler).await;
    let (status, body) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert!(status >= 500 && body.to_string().contains("backup actor failed"), "{status} {body}");
    wait_restarted(&registry, names::BACKUP, 1).await;
    panicked(&registry, names::BACKUP);
    let (status, body) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{body}");

    // Scheduler: the run-now handler's body.
    handles.scheduler.inject(Fault::PanicInHandler).await;
    match handles.scheduler.run_now("health_check", crate::support::tester()).await {
        Err(RunNowError::Unavailable(why)) => assert!(why.contains("scheduler actor failed"), "{why}"),
        other => panic!("expected the scheduler's panic as an answer: {other:?}"),
    }
    wait_restarted(&registry, names::SCHEDULER, 1).await;
    panicked(&registry, names::SCHEDULER);
    let report =
        handles.scheduler.run_now("health_check", crate::support::tester()).await.expect("the scheduler answers again");
    assert!(report.ok, "the health check ran again: {report:?}");
    assert_eq!(registry.status(names::HEALTH).unwrap().restarts, 1, "health's job ran on the restarted actor");

    // Housekeeper and Sheets: inside the job's future, reported as the job's failure.
    handles.housekeeper.inject(Fault::PanicInHandler).await;
    handles.sheets.inject(Fault::PanicInHandler).await;
    for (job, actor) in [("approval_expiry", names::HOUSEKEEPER), ("sheets_sync", names::SHEETS)] {
        let report = handles.scheduler.run_now(job, crate::support::tester()).await.expect("the scheduler answers");
        assert!(!report.ok && report.detail.contains("failed while answering"), "{job}: {report:?}");
        wait_restarted(&registry, actor, 1).await;
        panicked(&registry, actor);
        let again = handles.scheduler.run_now(job, crate::support::tester()).await.expect("the scheduler answers");
        assert!(again.ok, "{job} works after the restart: {again:?}");
    }

    // Notifier: while choosing what to deliver.
    handles.notifier.inject(Fault::PanicInHandler).await;
    let delivery = handles.notifier.evaluate(Default::default(), chrono::Utc::now()).await.unwrap();
    assert!(delivery.failed.iter().any(|why| why.contains("notifier actor failed")), "{delivery:?}");
    wait_restarted(&registry, names::NOTIFIER, 1).await;
    panicked(&registry, names::NOTIFIER);
    assert_eq!(handles.notifier.evaluate(Default::default(), chrono::Utc::now()).await, Ok(Default::default()));

    // Runner: the dispatch handler's body, reached when an approved run is queued; the restarted runner
    // dispatches it.
    handles.runner.inject(Fault::PanicInHandler).await;
    let project = team.project("after the drills").await;
    let task = team.task(&project, "echo", Some(vec!["echo", "still here"])).await;
    let (_, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
    let id = approval["id"].as_str().unwrap();
    team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
    wait_restarted(&registry, names::RUNNER, 1).await;
    panicked(&registry, names::RUNNER);
    let run = team.finished_run(&task).await;
    assert_eq!(run["status"], "success", "{run}");

    assert_eq!(registry.status(names::WRITER).unwrap().restarts, 0, "the writer was never touched");
    let (status, ready) = team.app.ready().await;
    assert_eq!(status, 200, "{ready}");
}
