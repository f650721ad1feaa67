//! One run from spawn to its recorded end: resolve what to execute (a plain argv or an executor
//! profile), run it, turn the ending into a `RunCommand::Finish`, and make sure the writer records it.
//!
//! An executor-profile run (`["@profile", …]`) carries the executor, its definition and the argv its
//! profile resolved to when it was requested (`PinnedExecutor`, in the approval and the run's fingerprint).
//! If config or PATH resolve it differently at start, the run is refused with a critical hotlist entry.

use super::capture::LiveLog;
use super::executor;
use super::process::{self, Ending, Spawnable};
use super::{Finished, RunnerConfig};
use crate::domain::command::RunResult;
use crate::domain::RunCommand;
use crate::domain::{Actor, Command, CommandError, EnvValue, Run, RunId, RunStatus};
use crate::store::WriterHandle;
use actix::Recipient;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify};

/// Severities fixed by the runner itself (not configurable).
struct RunnerSeverity;

impl RunnerSeverity {
    /// A run cut short by Atlas stopping, like one interrupted by a crash.
    const INTERRUPTED: crate::domain::Severity = crate::domain::Severity::High;
}

pub(super) struct Job {
    pub run: Run,
    pub config: Arc<RunnerConfig>,
    pub writer: WriterHandle,
    pub log: Arc<LiveLog>,
    pub cancel: Arc<Notify>,
    pub interrupted: Arc<AtomicBool>,
    pub cancelled_by: Arc<std::sync::Mutex<Option<Actor>>>,
    pub spawned: broadcast::Sender<(RunId, Instant)>,
    pub done: Recipient<Finished>,
}

/// What to spawn, and the parser to apply when an executor profile is used.
struct Plan {
    spawnable: Spawnable,
    parser: Option<executor::OutputParser>,
}

impl Job {
    /// The allowlisted variables, then the run's own (a secret read now, by name); the run's win.
    fn environment(&self) -> Result<Vec<(String, String)>, String> {
        let mut env: std::collections::BTreeMap<String, String> = self
            .config
            .env_allowlist
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect();
        for (name, value) in &self.run.env {
            let value = match value {
                EnvValue::Text(text) => text.clone(),
                EnvValue::Secret(named) => {
                    self.config.secrets.get(&named.secret).map_err(|why| format!("{name}: {why}"))?
                }
            };
            env.insert(name.clone(), value);
        }
        Ok(env.into_iter().collect())
    }

    /// What to spawn; `Err((why, refused))`, where `refused` means the run is not what was approved.
    fn plan(&self) -> Result<Plan, (String, bool)> {
        // Every secret is masked in what this run prints, its own or any other it might have got hold of;
        // without knowing them all, it does not start.
        let values = self.config.secrets.mask_values().map_err(|why| (format!("not started: {why}"), false))?;
        self.log.mask(&values);
        let env = self.environment().map_err(|why| (format!("not started: {why}"), false))?;
        let task_timeout = self.run.timeout_s.map(|s| Duration::from_secs(s.unsigned_abs()));
        let cwd = self.run.cwd.clone().map(Into::into);
        let now = self
            .config
            .resolve(&self.run.command, self.run.cwd.as_deref(), self.run.task_id.as_str(), self.run.id.as_str())
            .map_err(|why| (why, false))?;
        let Some(resolved) = now else {
            let timeout = task_timeout.unwrap_or(self.config.default_timeout);
            return Ok(Plan {
                spawnable: Spawnable {
                    argv: self.run.command.clone(),
                    cwd,
                    timeout,
                    env,
                    mark: super::instance::mark(&self.config.instance, self.run.id.as_str()),
                },
                parser: None,
            });
        };
        // The argv that runs must be the argv approved: config or PATH may have changed since.
        match &self.run.executor {
            None => return Err(("this executor-profile run was not pinned to an executor when requested; request it again".into(), true)),
            Some(pinned) if *pinned != resolved => {
                return Err((
                    format!(
                        "refused to start: the profile now resolves to executor {} running {:?}, but executor {} running {:?} was approved; request the run again",
                        resolved.name, resolved.argv, pinned.name, pinned.argv
                    ),
                    true,
                ))
            }
            Some(_) => {}
        }
        let spec: executor::ExecutorSpec =
            serde_json::from_value(resolved.definition.clone()).map_err(|err| (err.to_string(), true))?;
        tracing::info!(run = %self.run.id, executor = %resolved.name, "Run uses its pinned executor.");
        let timeout = task_timeout.or(spec.timeout_s.map(Duration::from_secs)).unwrap_or(self.config.default_timeout);
        let mark = super::instance::mark(&self.config.instance, self.run.id.as_str());
        Ok(Plan { spawnable: Spawnable { argv: resolved.argv, cwd, timeout, env, mark }, parser: Some(spec.parser) })
    }

    fn result(&self, ending: Ending, parser: Option<&executor::OutputParser>) -> RunResult {
        self.log.finish();
        let (stdout, stderr) = self.log.rendered();
        let none_if_empty = |text: String| (!text.is_empty()).then_some(text);
        let mut result = RunResult {
            id: self.run.id.clone(),
            status: RunStatus::Failed,
            exit_code: None,
            output: none_if_empty(stdout.clone()),
            error_log: none_if_empty(stderr.clone()),
            severity: Some(self.config.failed_severity),
        };
        match ending {
            Ending::Exited { code, signal } => {
                result.exit_code = code.map(i64::from);
                let parsed = parser.map(|p| executor::parse(p, &stdout, code));
                match (code, parsed) {
                    (Some(0), None) => (result.status, result.severity) = (RunStatus::Success, None),
                    (Some(0), Some(Ok(parsed))) => {
                        (result.status, result.severity, result.output) = (RunStatus::Success, None, Some(parsed));
                    }
                    (_, Some(Err(why))) => {
                        result.error_log = Some(format!("{stderr}\noutput parser: {why}").trim().to_owned())
                    }
                    (None, _) => {
                        result.error_log =
                            Some(format!("{stderr}\nkilled by signal {}", signal.unwrap_or(0)).trim().to_owned());
                    }
                    _ => {}
                }
            }
            Ending::TimedOut => {
                result.status = RunStatus::TimedOut;
                result.severity = Some(self.config.timed_out_severity);
                let limit = self.run.timeout_s.map_or(self.config.default_timeout.as_secs(), |s| s.unsigned_abs());
                result.error_log = Some(
                    format!("{stderr}\ntimed out after {limit} s; the process group was killed").trim().to_owned(),
                );
            }
            Ending::Cancelled if self.interrupted.load(Ordering::SeqCst) => {
                result.severity = Some(RunnerSeverity::INTERRUPTED);
                result.error_log =
                    Some(format!("{stderr}\ninterrupted by shutdown; the process group was killed").trim().to_owned());
            }
            Ending::Cancelled => {
                (result.status, result.severity) = (RunStatus::Cancelled, None);
                result.error_log = Some(format!("{stderr}\ncancelled; the process group was killed").trim().to_owned());
            }
            Ending::CouldNotStart(why) => result.error_log = Some(why),
        }
        result
    }

    /// Records the ending, retrying while the writer restarts or a restore holds writes (for as long as
    /// it lasts); a crash meanwhile is caught by recovery.
    async fn record(&self, result: RunResult) {
        // A cancel is recorded in the name of whoever asked for it; any other end is the runner's.
        let asked = (result.status == RunStatus::Cancelled).then(|| self.cancelled_by.lock().ok()?.clone()).flatten();
        let by = asked.unwrap_or_else(|| Actor::new("runner"));
        let mut attempt = 0;
        while attempt < 50 {
            attempt += 1;
            match self.writer.submit(Command::Run(RunCommand::Finish(result.clone())), by.clone()).await {
                Ok(_) => return,
                Err(CommandError::Restoring(_)) => {
                    attempt -= 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(CommandError::Unavailable(why)) => {
                    tracing::warn!(run = %result.id, attempt, %why, "Writer unavailable; retrying the run's result.");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => {
                    tracing::error!(run = %result.id, error = %err, "The run's result was refused.");
                    return;
                }
            }
        }
    }

    pub async fn execute(self) {
        let mut refused = false;
        let ending_and_parser = match self.plan() {
            Ok(plan) => {
                let id = self.run.id.clone();
                let spawned = self.spawned.clone();
                let writer = self.writer.clone();
                let instance = self.config.instance.clone();
                let me = std::process::id() as i32;
                let spawner = super::contain::start_ticks(me).map(|started| (i64::from(me), started as i64));
                let ending = process::run(&plan.spawnable, self.log.clone(), self.cancel.clone(), move |pid| {
                    let _ = spawned.send((id.clone(), Instant::now()));
                    // The group and its leader's start time, so recovery after a crash can kill what is left.
                    if let Some(started) = i32::try_from(pid).ok().and_then(super::contain::start_ticks) {
                        let note = Command::Run(RunCommand::NoteProcess {
                            id,
                            pgid: pid.into(),
                            start_ticks: started as i64,
                            instance,
                            spawner,
                        });
                        actix::spawn(async move {
                            match writer.submit(note, Actor::new("runner")).await {
                                // A run that ended first needs no record of its group: nothing is left to kill.
                                Ok(_) | Err(CommandError::Conflict(_)) => {}
                                Err(err) => tracing::warn!(error = %err, "Could not record a run's process group."),
                            }
                        });
                    }
                })
                .await;
                (ending, plan.parser)
            }
            Err((why, not_approved)) => {
                refused = not_approved;
                (Ending::CouldNotStart(why), None)
            }
        };
        let mut result = self.result(ending_and_parser.0, ending_and_parser.1.as_ref());
        // Once more over what is stored, with the values as they are now: a secret rotated while the run
        // went on, or one an output parser decoded from an escaped form (`json_field`).
        if let Ok(values) = self.config.secrets.mask_values() {
            result.output = result.output.map(|text| super::mask::mask_text(&values, &text));
            result.error_log = result.error_log.map(|text| super::mask::mask_text(&values, &text));
        }
        if refused {
            // Not what a person approved: as loud as a fingerprint mismatch.
            tracing::error!(run = %result.id, reason = ?result.error_log, "Run refused.");
            result.severity = Some(crate::domain::Severity::Critical);
        }
        tracing::info!(run = %result.id, status = %result.status, exit_code = ?result.exit_code, "Run ended.");
        self.record(result).await;
        self.log.close();
        let _ = self.done.try_send(Finished(self.run.id.clone()));
    }
}
