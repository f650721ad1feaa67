//! The real `atlas serve` binary as a child process: started on 127.0.0.1:0 with JSON logs, its address
//! read from the "Atlas is serving." line; killed on drop if a test ends early.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const ATLAS: &str = env!("CARGO_BIN_EXE_atlas");

pub struct Daemon {
    pub child: Child,
    pub url: String,
}

impl Daemon {
    /// `binary serve` in `cwd` with `args` before `serve` (e.g. `--config`), plus `env`.
    pub fn start(binary: &str, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command.current_dir(cwd).args(args).args(["serve", "--addr", "127.0.0.1:0", "--set", "log.format=\"json\""]);
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ATLAS_")) {
            command.env_remove(name);
        }
        let mut child = command
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("atlas starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("atlas logs before it serves").unwrap();
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if event["message"] == "Atlas is serving." {
                break event["addr"].as_str().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url: format!("http://{addr}") }
    }

    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{signal}");
    }

    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "atlas did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
