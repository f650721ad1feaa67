//! Orphans leave no zombies. Atlas is a child subreaper (`contain`), so every process a run leaves behind
//! becomes Atlas's child when its parent dies; one that then exits on its own (`(sleep 1 &)`, a double
//! fork, a `setsid` helper) is a zombie until Atlas waits for it, and each holds a pid for Atlas's life.
//!
//! Reaping must not steal an exit status someone else waits for: tokio waits for each run's leader by
//! pid, the SQL box waits for its child, and a test process hosting Atlas waits for its own children. So
//! no `waitpid(-1)`: each zombie child is reaped by pid, and only when it cannot be one of those, i.e.
//! when it is none of the waited-for leaders and it is
//! - in a session other than Atlas's (it or an ancestor called `setsid`; Atlas never spawns that way), or
//! - in a process group other than Atlas's that it does not lead (a descendant inside a run's group; the
//!   processes Atlas spawns either stay in Atlas's group or lead their own).
//!
//! That rule is for a process that also has children of its own (a test hosting Atlas). `atlas serve`
//! spawns every child through [`spawn_held`] and says so ([`claim_every_child`]): there, every zombie child
//! that is not held is an orphan, including a descendant that made itself a group leader (`set -m`,
//! `setpgid`) or joined Atlas's own group. The spawn gate makes "spawned but not yet held" impossible to
//! observe: spawning holds it shared, a scan holds it exclusively.

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpgrp, getsid, Pid};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

/// The run leaders tokio waits for: never reaped here, whatever group or session they moved to.
fn waited() -> &'static Mutex<HashSet<i32>> {
    static WAITED: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    WAITED.get_or_init(Default::default)
}

/// Set by `atlas serve`: every child this process has was spawned through [`spawn_held`].
static CLAIM_ALL: AtomicBool = AtomicBool::new(false);

/// Declares that this process spawns its children only through [`spawn_held`], so any other zombie
/// child is an orphan to reap (whatever group or session it put itself in).
pub fn claim_every_child() {
    CLAIM_ALL.store(true, Ordering::SeqCst);
}

/// Shared while spawning and holding, exclusive while scanning.
fn gate() -> &'static RwLock<()> {
    static GATE: RwLock<()> = RwLock::new(());
    &GATE
}

/// A held pid, released when dropped (after its spawner has the exit status, or gave up on it).
pub struct Held(i32);

impl Drop for Held {
    fn drop(&mut self) {
        release(self.0);
    }
}

/// Spawns a child that its spawner will wait for, and holds its pid until the `Held` is dropped; no scan
/// can run between the spawn and the hold.
pub fn spawn_held<C>(
    spawn: impl FnOnce() -> std::io::Result<C>,
    pid_of: impl FnOnce(&C) -> Option<u32>,
) -> std::io::Result<(C, Held)> {
    let _spawning = gate().read().unwrap_or_else(|p| p.into_inner());
    let child = spawn()?;
    let pid = pid_of(&child).and_then(|pid| i32::try_from(pid).ok()).unwrap_or(0);
    hold(pid);
    Ok((child, Held(pid)))
}

/// Marks `pid` as waited for by its spawner until [`release`].
fn hold(pid: i32) {
    waited().lock().unwrap_or_else(|p| p.into_inner()).insert(pid);
}

/// Ends [`hold`], once the spawner has the exit status.
fn release(pid: i32) {
    waited().lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
}

/// What `/proc/<pid>/stat` says of a process: state, process group, session.
struct Stat {
    state: char,
    pgrp: i32,
    session: i32,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
    })
}

/// This process's children, from each thread's `children` list (a child belongs to the thread that made
/// it; an adopted orphan to the main thread).
pub fn children_of(pid: u32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out: Vec<i32> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The zombie children of `pid` (a test reads Atlas's from outside with this).
pub fn zombie_children(pid: u32) -> Vec<i32> {
    children_of(pid).into_iter().filter(|&child| stat(child).is_some_and(|s| s.state == 'Z')).collect()
}

/// Reaps every zombie child that is an orphan (see the module doc); answers how many.
pub fn reap_orphans() -> usize {
    let (own_group, own_session) = (getpgrp().as_raw(), getsid(None).map(Pid::as_raw).unwrap_or(-1));
    let claim_all = CLAIM_ALL.load(Ordering::SeqCst);
    let _scanning = gate().write().unwrap_or_else(|p| p.into_inner());
    let mut reaped = 0;
    for pid in children_of(std::process::id()) {
        let Some(stat) = stat(pid) else { continue };
        let adopted = claim_all || stat.session != own_session || (stat.pgrp != own_group && stat.pgrp != pid);
        if stat.state != 'Z' || !adopted || waited().lock().unwrap_or_else(|p| p.into_inner()).contains(&pid) {
            continue;
        }
        if matches!(waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)), Ok(s) if s != WaitStatus::StillAlive) {
            reaped += 1;
        }
    }
    reaped
}

/// Reaps orphans whenever a child changes state (SIGCHLD), and every `every` in case a signal was
/// missed. Runs on the caller's runtime for as long as it does.
pub fn spawn_reaper(every: Duration) {
    let mut signals = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
        Ok(signals) => Some(signals),
        Err(err) => {
            tracing::warn!(error = %err, "Cannot watch SIGCHLD: orphaned run processes are reaped on a timer only.");
            None
        }
    };
    tokio::spawn(async move {
        loop {
            match signals.as_mut() {
                Some(signals) => {
                    let _ = tokio::time::timeout(every, signals.recv()).await;
                }
                None => tokio::time::sleep(every).await,
            }
            let reaped = tokio::task::spawn_blocking(reap_orphans).await.unwrap_or(0);
            if reaped > 0 {
                tracing::debug!(reaped, "Reaped orphaned run processes.");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// The children a process spawns itself (in its group, or leading their own like a run) keep their exit
    /// status for whoever waits for them.
    #[test]
    fn a_spawned_child_s_exit_status_is_never_taken() {
        let plain = std::process::Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let leader = std::process::Command::new("sh").args(["-c", "exit 4"]).process_group(0).spawn().unwrap();
        for mut child in [plain, leader] {
            let pid = child.id() as i32;
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while stat(pid).is_some_and(|s| s.state != 'Z') && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(zombie_children(std::process::id()).contains(&pid), "the child exited and waits to be reaped");
            reap_orphans();
            let status = child.wait().expect("the exit status is still there");
            assert!(matches!(status.code(), Some(3 | 4)), "{status:?}");
        }
    }
}
