//! Runs of a task's command. `queued -> running -> success | failed | timed_out | cancelled`, and a queued
//! run may be cancelled before it starts.

use super::ids::{ApprovalId, RunId, TaskId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an executor-profile run (`["@profile", "goal"]`) resolved to when it was requested: the executor
/// chosen, its definition and the exact argv. Approved with the request, so the argv that runs is the
/// argv a person approved, not whatever config and PATH pick at start time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PinnedExecutor {
    pub name: String,
    /// The executor's definition (command template, timeout, parser) as configured then.
    pub definition: serde_json::Value,
    pub argv: Vec<String>,
}

/// SHA-256 over exactly what a run executes: argv, working directory, timeout, environment (secrets by
/// name) and, for a profile run, the executor it was pinned to. Taken when the run is queued and checked
/// again before the process starts. An empty environment adds nothing (runs queued before it existed match).
pub fn fingerprint(
    command: &[String],
    cwd: Option<&str>,
    timeout_s: Option<i64>,
    env: &super::env::RunEnv,
    executor: Option<&PinnedExecutor>,
) -> String {
    let mut canonical = serde_json::json!({ "command": command, "cwd": cwd, "timeout_s": timeout_s });
    if !env.is_empty() {
        canonical["env"] = serde_json::to_value(env).unwrap_or_default();
    }
    if let Some(executor) = executor {
        canonical["executor"] = serde_json::to_value(executor).unwrap_or_default();
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

string_enum!(
    /// Where a run stands.
    RunStatus {
        Queued => "queued",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Cancelled => "cancelled",
        TimedOut => "timed_out",
    }
);

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Cancelled | Self::TimedOut)
    }

    /// Whether a run may move from `self` to `to` by some step.
    pub fn can_become(self, to: Self) -> bool {
        match (self, to) {
            (Self::Queued, Self::Running | Self::Cancelled | Self::Failed) => true,
            (Self::Running, finished) => finished.is_finished(),
            _ => false,
        }
    }

    /// The state `step` leads to from this one, or why it cannot be taken here. Every change of a run's
    /// status in the store goes through this (zincati's shape: each step names the states it leaves).
    pub fn after(self, step: RunStep) -> Result<Self, RunStepError> {
        let to = match (self, step) {
            (Self::Queued, RunStep::Start) => Self::Running,
            (Self::Queued, RunStep::Refuse) => Self::Failed,
            (Self::Queued, RunStep::Cancel) => Self::Cancelled,
            (Self::Queued, RunStep::Finish(end @ (Self::Failed | Self::Cancelled))) => end,
            (Self::Running, RunStep::Finish(end)) if end.is_finished() => end,
            (Self::Running, RunStep::InterruptByCrash) => Self::Failed,
            (Self::Queued | Self::Running, RunStep::InterruptByRestore) => Self::Failed,
            (from, step) => return Err(RunStepError { from, step }),
        };
        debug_assert!(self.can_become(to));
        Ok(to)
    }
}

/// The steps of a run's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStep {
    /// The runner claims a queued run: `queued -> running`.
    Start,
    /// A queued run whose command is not what was approved: `queued -> failed`.
    Refuse,
    /// Cancelled before it started: `queued -> cancelled`.
    Cancel,
    /// Its end as the runner saw it: `running ->` any finished state (`queued -> failed | cancelled` when
    /// it never started).
    Finish(RunStatus),
    /// Found `running` at start-up, left by a crash: `running -> failed`.
    InterruptByCrash,
    /// Queued or running in a restored database: `-> failed`.
    InterruptByRestore,
}

/// A step refused in the state the run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStepError {
    pub from: RunStatus,
    pub step: RunStep,
}

impl std::fmt::Display for RunStepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = match self.step {
            RunStep::Start => "start".to_owned(),
            RunStep::Refuse => "be refused".to_owned(),
            RunStep::Cancel => "be cancelled before it starts".to_owned(),
            RunStep::Finish(end) => format!("become {end}"),
            RunStep::InterruptByCrash | RunStep::InterruptByRestore => "be interrupted".to_owned(),
        };
        write!(f, "a {} run cannot {step}", self.from)
    }
}

/// One execution of a task's command.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    pub task_id: TaskId,
    pub approval_id: Option<ApprovalId>,
    /// argv, exactly as approved.
    pub command: Vec<String>,
    pub cwd: Option<String>,
    pub timeout_s: Option<i64>,
    /// The environment approved with it: secrets by name, read when it starts.
    pub env: super::env::RunEnv,
    /// For a profile run: the executor and argv pinned when it was requested.
    pub executor: Option<PinnedExecutor>,
    pub status: RunStatus,
    pub exit_code: Option<i64>,
    pub output: Option<String>,
    pub error_log: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub notes: Vec<super::approval::Note>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_change_with_any_part_of_the_command() {
        let argv = vec!["echo".to_owned(), "hi".to_owned()];
        let none = crate::domain::RunEnv::new();
        let base = fingerprint(&argv, None, Some(5), &none, None);
        assert_eq!(base, fingerprint(&argv, None, Some(5), &none, None));
        assert_ne!(base, fingerprint(&argv, Some("/tmp"), Some(5), &none, None));
        assert_ne!(base, fingerprint(&argv, None, Some(6), &none, None));
        assert_ne!(base, fingerprint(&["echo".to_owned(), "hi!".to_owned()], None, Some(5), &none, None));
        let pinned = PinnedExecutor { name: "x".into(), definition: serde_json::json!({}), argv: vec!["x".into()] };
        assert_ne!(base, fingerprint(&argv, None, Some(5), &none, Some(&pinned)));
        let secret = crate::domain::env::SecretRef { secret: "pg".into() };
        let env = crate::domain::RunEnv::from([("PGPASSWORD".into(), crate::domain::EnvValue::Secret(secret))]);
        assert_ne!(base, fingerprint(&argv, None, Some(5), &env, None));
    }

    #[test]
    fn test_fsm_each_step_names_the_states_it_leaves() {
        use RunStatus::*;
        assert_eq!(Queued.after(RunStep::Start), Ok(Running));
        assert_eq!(Queued.after(RunStep::Cancel), Ok(Cancelled));
        assert_eq!(Running.after(RunStep::Finish(TimedOut)), Ok(TimedOut));
        assert_eq!(Running.after(RunStep::InterruptByCrash), Ok(Failed));
        assert_eq!(Queued.after(RunStep::InterruptByRestore), Ok(Failed));
        for refused in [
            (Running, RunStep::Start),
            (Running, RunStep::Cancel),
            (Running, RunStep::Refuse),
            (Queued, RunStep::Finish(Success)),
            (Queued, RunStep::InterruptByCrash),
            (Running, RunStep::Finish(Running)),
        ] {
            assert_eq!(refused.0.after(refused.1), Err(RunStepError { from: refused.0, step: refused.1 }));
        }
        for finished in [Success, Failed, Cancelled, TimedOut] {
            for step in [RunStep::Start, RunStep::Cancel, RunStep::Finish(Failed), RunStep::InterruptByRestore] {
                assert!(finished.after(step).is_err(), "a {finished} run never moves ({step:?})");
            }
        }
    }

    #[test]
    fn test_fsm_runs_move_forward_only() {
        assert!(RunStatus::Queued.can_become(RunStatus::Running));
        assert!(RunStatus::Queued.can_become(RunStatus::Cancelled));
        assert!(RunStatus::Running.can_become(RunStatus::TimedOut));
        assert!(!RunStatus::Running.can_become(RunStatus::Queued));
        assert!(!RunStatus::Success.can_become(RunStatus::Failed));
        assert!(!RunStatus::Queued.can_become(RunStatus::Success), "a run cannot succeed without running");
    }
}
