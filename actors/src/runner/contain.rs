//! Nothing a run starts outlives it. A run's process group is killed when it ends, but a command can leave
//! its group (`setsid`, a double fork). So Atlas is a child subreaper (orphaned descendants become its
//! children, not init's), every run's processes carry `ATLAS_RUN=<run id>` in their environment (inherited
//! by descendants), and when a run ends every process carrying its mark is killed and reaped. Each run's
//! process group, leader start time and instance are recorded (`RunCommand::NoteProcess`), with the pid and
//! start time of the Atlas that spawned it. So after a crash of Atlas recovery kills what an interrupted
//! run left alive, checked against `/proc/<pid>/stat`'s start time so a reused pid is never hit; another
//! instance's run is left alone while the Atlas that spawned it lives.
//! (A command that removes the mark from its environment, or clears it, and leaves its session escapes
//! this, as do programs that overwrite their environment memory; only cgroups can hold such a command, and
//! Atlas does not manage them.)

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// The environment variable marking a run's processes.
pub const RUN_MARKER: &str = "ATLAS_RUN";

/// Makes this process the reaper of orphaned descendants (Linux; elsewhere nothing happens).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    if let Err(err) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(error = %err, "Cannot become a child subreaper: descendants that leave their run's session are not reaped.");
    }
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), if it exists.
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None; // a zombie is dead already
    }
    fields.get(19)?.parse().ok()
}

/// The processes whose environment carries the mark of `run_id`.
pub fn marked(run_id: &str) -> Vec<i32> {
    let needle = format!("{RUN_MARKER}={run_id}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()))
        .filter(|&pid| pid != std::process::id() as i32)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
        })
        .collect()
}

/// Reaps `pid` if it became a child of this process (an orphan re-parented to the subreaper).
fn reap(pid: i32) {
    for _ in 0..50 {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => std::thread::sleep(std::time::Duration::from_millis(2)),
            _ => return, // reaped, or not our child (its own parent reaps it)
        }
    }
}

/// Kills every process still carrying `run_id`'s mark and reaps those that are this process's children.
/// Returns how many it killed.
pub fn kill_marked(run_id: &str) -> usize {
    // A process may fork while the scan runs: scan and kill again until a scan finds none (bounded).
    let mut killed = 0;
    for _ in 0..50 {
        let pids = marked(run_id);
        if pids.is_empty() {
            break;
        }
        for &pid in &pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        for &pid in &pids {
            reap(pid);
        }
        killed += pids.len();
    }
    killed
}

/// After a crash: kills what an interrupted run left alive. The recorded group is killed only while its
/// leader is the same process (same start time); marked processes are the run's wherever they went.
pub fn kill_leftovers(run_id: &str, group: Option<(i64, i64)>) -> usize {
    let mut killed = 0;
    if let Some((pgid, started)) = group {
        if let Ok(pgid) = i32::try_from(pgid) {
            if start_ticks(pgid).is_some_and(|now| now as i64 == started)
                && killpg(Pid::from_raw(pgid), Signal::SIGKILL).is_ok()
            {
                killed += 1;
                reap(pgid);
            }
        }
    }
    killed + kill_marked(run_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_start_time_is_read_and_a_marked_process_is_found_and_killed() {
        let mut child =
            std::process::Command::new("sleep").arg("30").env(RUN_MARKER, "run-contain-test").spawn().unwrap();
        let pid = child.id() as i32;
        let started = start_ticks(pid).expect("a live process has a start time");
        assert!(start_ticks(pid) == Some(started), "stable");
        for _ in 0..100 {
            if marked("run-contain-test").contains(&pid) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(marked("run-contain-test"), [pid]);
        assert_eq!(kill_marked("run-contain-test"), 1);
        let _ = child.wait();
        assert!(start_ticks(pid).is_none(), "killed and reaped");
        assert!(marked("run-contain-test").is_empty());
    }
}
