//! A run's life after it was queued: the runner's steps and recovery's. Each status change these make
//! goes through `RunStatus::after` (`domain/run.rs`).

use super::RunResult;
use crate::domain::error::CommandError;
use crate::domain::ids::RunId;
use crate::domain::run::RunStatus;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RunCommand {
    /// The runner claims a queued run: `queued -> running` after re-checking the command against what was
    /// approved; a mismatch fails the run (and records why) instead.
    #[serde(rename = "start_run")]
    Start { id: RunId },
    /// A run's process started: its group, the leader's start time and the Atlas instance that started
    /// it, for recovery after a crash (which touches only its own instance's processes).
    #[serde(rename = "note_run_process")]
    NoteProcess {
        id: RunId,
        pgid: i64,
        start_ticks: i64,
        #[serde(default)]
        instance: String,
        /// The Atlas process that spawned it: (pid, start time in clock ticks).
        #[serde(default)]
        spawner: Option<(i64, i64)>,
    },
    /// A run ended (or a queued one was cancelled). Failures and timeouts add a hotlist entry.
    #[serde(rename = "finish_run")]
    Finish(RunResult),
    /// Cancels a run that has not started; a running one is cancelled by the runner killing it.
    #[serde(rename = "cancel_queued_run")]
    CancelQueued { id: RunId },
    /// At start-up: runs left `running` by a crash become `failed`, each with a hotlist entry.
    #[serde(rename = "recover_interrupted_runs")]
    RecoverInterrupted,
    /// Right after a restore: runs the restored database holds as queued or running belong to the past
    /// (they may have run since the backup); they become `failed` and never run without a new approval.
    #[serde(rename = "interrupt_restored_runs")]
    InterruptRestored,
}

impl RunCommand {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Start { .. } => "run.started",
            Self::NoteProcess { .. } => "run.process_started",
            Self::Finish(result) => match result.status {
                RunStatus::Success => "run.succeeded",
                RunStatus::Cancelled => "run.cancelled",
                RunStatus::TimedOut => "run.timed_out",
                _ => "run.failed",
            },
            Self::RecoverInterrupted | Self::InterruptRestored => "run.recovered",
            Self::CancelQueued { .. } => "run.cancelled",
        }
    }

    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Self::Finish(result) if !result.status.is_finished() => {
                Err(CommandError::invalid("status", format!("{} is not a final state", result.status)))
            }
            _ => Ok(()),
        }
    }
}
