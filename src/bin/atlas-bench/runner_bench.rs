//! Approval-to-spawn latency: for each of `RUNS` execute approvals, the time from submitting the approval
//! (so its own COMMIT is included: an upper bound) to the runner's process start (its spawn notification).

use atlas_actors::domain::command::{Decision, NewRun};
use atlas_actors::domain::{
    Actor, Applied, ApprovalId, Command, NewProject, NewTask, ProjectId, RunId, SystemClock, TaskId,
};
use atlas_actors::store::StoreConfig;
use atlas_actors::SupervisorConfig;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure() -> Result<Vec<Duration>, String> {
    let dir = super::scratch_dir("runner");
    let mut config = SupervisorConfig::new(StoreConfig::at(dir.join("runner.db")));
    config.runner.max_concurrent = 4;
    for job in ["health_check", "approval_expiry"] {
        config.schedules.insert(job.into(), "off".into());
    }
    let handles = atlas_actors::start(config, Arc::new(SystemClock)).await?;
    let (agent, approver) = (Actor::new("bench-agent"), Actor::new("bench-approver"));
    let submit = |command: Command, actor: &Actor| {
        let (writer, actor) = (handles.writer.clone(), actor.clone());
        async move { writer.submit(command, actor).await.map_err(|e| e.to_string()) }
    };
    let project = ProjectId::generate();
    submit(Command::CreateProject(NewProject { id: project.clone(), name: "bench".into(), description: None }), &agent)
        .await?;
    let task = TaskId::generate();
    let new_task = NewTask {
        command: Some(vec!["true".into()]),
        timeout_s: Some(30),
        ..NewTask::titled(task.clone(), project, "true")
    };
    submit(Command::CreateTask(new_task), &agent).await?;
    let mut spawned = handles.runner.spawned();
    let mut latencies = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let run = NewRun {
            id: RunId::generate(),
            task_id: task.clone(),
            command: vec!["true".into()],
            cwd: None,
            timeout_s: Some(30),
            env: Default::default(),
            executor: None,
        };
        let run_id = run.id.clone();
        let approval = ApprovalId::generate();
        submit(Command::RequestApproval { id: approval.clone(), change: Box::new(Command::QueueRun(run)) }, &agent)
            .await?;
        let review = Command::ReviewApproval {
            id: approval,
            decision: Decision::Approve,
            notes: None,
            allow_self_approval: false,
            via: None,
        };
        // Measured from before the approval is submitted: an upper bound that includes its own COMMIT.
        let requested = Instant::now();
        let outcome = submit(review, &approver).await?;
        if !matches!(outcome.applied, Applied::Approval(_)) {
            return Err("the approval was not applied".into());
        }
        let started = loop {
            let (id, at) = tokio::time::timeout(Duration::from_secs(10), spawned.recv())
                .await
                .map_err(|_| "no process started within 10 s".to_owned())?
                .map_err(|e| e.to_string())?;
            if id == run_id {
                break at;
            }
        };
        latencies.push(started.saturating_duration_since(requested));
    }
    handles.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(latencies)
}

pub fn run() -> Result<(), String> {
    let mut latencies = actix::System::new().block_on(measure())?;
    latencies.sort_unstable();
    println!("approve (incl. its commit) -> process start, over {RUNS} execute approvals (command: true)");
    println!(
        "p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "runner p99 approval-to-spawn: {:.1} ms (target < 50 ms)",
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}
