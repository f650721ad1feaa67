//! systemd's notify protocol (`Type=notify`): one datagram per state change to `$NOTIFY_SOCKET`
//! (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`). Without the variable nothing is sent, so the same
//! binary runs under systemd, in a terminal and in tests. Sending never blocks (a non-blocking datagram
//! socket), so Health never waits on the notify socket.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where and how often Health feeds systemd's watchdog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watchdog {
    pub socket: String,
    /// Half of `WatchdogSec`, as systemd recommends.
    pub every: Duration,
}

impl Watchdog {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC` (ignored when `WATCHDOG_PID` names another process).
    pub fn from_env() -> Option<Self> {
        let socket = std::env::var("NOTIFY_SOCKET").ok().filter(|s| !s.is_empty())?;
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.trim() != std::process::id().to_string() {
                return None;
            }
        }
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok().filter(|u| *u > 0)?;
        Some(Self { socket, every: Duration::from_micros(usec / 2) })
    }
}

/// Sends `state` to `socket` (a path, or `@name` for the abstract namespace).
pub fn notify_to(socket: &str, state: &str) -> std::io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    // Never block the caller (Health's thread) on a receiver that is not reading: a full queue is an error.
    datagram.set_nonblocking(true)?;
    if let Some(name) = socket.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            datagram.send_to_addr(state.as_bytes(), &addr)?;
            return Ok(());
        }
        #[cfg(not(target_os = "linux"))]
        return Err(std::io::Error::other(format!("abstract socket {name} needs Linux")));
    }
    datagram.send_to(state.as_bytes(), PathBuf::from(socket))?;
    Ok(())
}

/// Sends `state` to `$NOTIFY_SOCKET` when it is set; returns whether it was sent.
pub fn notify(state: &str) -> bool {
    match std::env::var("NOTIFY_SOCKET") {
        Ok(socket) if !socket.is_empty() => match notify_to(&socket, state) {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, "Could not notify systemd.");
                false
            }
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_arrives_as_one_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        notify_to(path.to_str().unwrap(), "READY=1\nSTATUS=serving").unwrap();
        let mut buffer = [0u8; 128];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=serving");
    }
}
