//! `[console]`: how long a web console sign-in lasts.

use super::Settings;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused this long is signed out.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, used or not.
    pub session_max_hours: u64,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self { session_idle_minutes: 60, session_max_hours: 12 }
    }
}

impl ConsoleSettings {
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes * 60)
    }

    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.session_max_hours * 3600)
    }
}

impl Settings {
    pub(super) fn validate_console(&self) -> Result<(), (&'static str, String)> {
        let console = &self.console;
        if !(1..=24 * 60).contains(&console.session_idle_minutes) {
            let got = console.session_idle_minutes;
            return Err(("console.session_idle_minutes", format!("must be between 1 and 1440, got {got}")));
        }
        if !(1..=24 * 30).contains(&console.session_max_hours) {
            let got = console.session_max_hours;
            return Err(("console.session_max_hours", format!("must be between 1 and 720, got {got}")));
        }
        Ok(())
    }
}
