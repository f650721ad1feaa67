//! Running one command: its own process group (so a timeout or cancel kills grandchildren too), a clean
//! environment holding only allowlisted variables, no shell, output captured as it comes.

use super::capture::LiveLog;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Notify;

/// Exactly what to execute.
#[derive(Clone, Debug)]
pub struct Spawnable {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    /// The instance and run these processes belong to (`instance::mark`): their environment carries it
    /// (`contain::RUN_MARKER`).
    pub mark: String,
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited { code: Option<i32>, signal: Option<i32> },
    TimedOut,
    Cancelled,
    CouldNotStart(String),
}

/// Kills every process in the group; a group that is already gone is fine.
fn kill_group(pid: u32) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
    }
}

async fn pump(mut stream: impl AsyncRead + Unpin, log: Arc<LiveLog>, stdout: bool) {
    let mut buffer = vec![0u8; 8192];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        if stdout {
            log.stdout(&buffer[..read]);
        } else {
            log.stderr(&buffer[..read]);
        }
    }
}

/// Runs `spec` to its end. `on_spawn` is called with the process's id right after it started.
pub async fn run(spec: &Spawnable, log: Arc<LiveLog>, cancel: Arc<Notify>, on_spawn: impl FnOnce(u32)) -> Ending {
    let Some((program, args)) = spec.argv.split_first() else {
        return Ending::CouldNotStart("the command is empty".into());
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env(super::contain::RUN_MARKER, &spec.mark)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let (mut child, held) = match super::reap::spawn_held(|| command.spawn(), tokio::process::Child::id) {
        Ok(spawned) => spawned,
        Err(err) => return Ending::CouldNotStart(format!("cannot start {program:?}: {err}")),
    };
    let pid = child.id().unwrap_or(0);
    on_spawn(pid);
    let readers = [
        child.stdout.take().map(|out| tokio::spawn(pump(out, log.clone(), true))),
        child.stderr.take().map(|err| tokio::spawn(pump(err, log.clone(), false))),
    ];
    let ending = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                Ending::Exited { code: status.code(), signal: status.signal() }
            }
            Err(err) => Ending::CouldNotStart(format!("waiting for the process failed: {err}")),
        },
        () = tokio::time::sleep(spec.timeout) => Ending::TimedOut,
        () = cancel.notified() => Ending::Cancelled,
    };
    // Whatever the ending, nothing of the group outlives the run (a background grandchild included), nor
    // anything that left the group but carries the run's mark.
    kill_group(pid);
    let _ = child.wait().await;
    drop(held);
    let mark = spec.mark.clone();
    // Then every process it left behind that already exited (a zombie of Atlas, having been orphaned)
    // is reaped before the run is recorded ended.
    let _ = tokio::task::spawn_blocking(move || {
        super::contain::kill_marked(&mark);
        super::reap::reap_orphans()
    })
    .await;
    for reader in readers.into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
    ending
}
