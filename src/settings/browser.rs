//! `[browser]`: the data browser's limits (the SQL box and the table views).

use super::Settings;
use atlas_actors::store::browse::SqlLimits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserSettings {
    /// A browser query is stopped after this many milliseconds (SQLite's progress handler).
    pub sql_time_limit_ms: u64,
    /// Rows a query answers at most; more are cut off with `truncated`.
    pub max_rows: usize,
    /// Canned queries shown as links: name = SQL (each runs under the same guards).
    pub queries: BTreeMap<String, String>,
    /// The address space a SQL box query's own process may use.
    pub sql_memory_mb: u64,
    /// The program that runs SQL box queries (`atlas __browser-query …`); empty: this very binary.
    pub sql_process: std::path::PathBuf,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        Self {
            sql_time_limit_ms: 1_000,
            max_rows: 1_000,
            queries: default_queries(),
            sql_memory_mb: 512,
            sql_process: std::path::PathBuf::new(),
        }
    }
}

/// The canned queries a fresh install shows (a `[browser.queries]` table in the config replaces them).
fn default_queries() -> BTreeMap<String, String> {
    [
        (
            "pending_approvals_by_age",
            "SELECT id, summary, requested_by, requested_at FROM approvals WHERE status = 'pending' ORDER BY requested_at",
        ),
        (
            "failed_runs_last_7_days",
            "SELECT id, task_id, status, exit_code, completed_at FROM runs WHERE status IN ('failed', 'timed_out') \
             AND completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days') ORDER BY completed_at DESC",
        ),
        (
            "open_errors_by_severity",
            "SELECT severity, count(*) AS open, min(occurred_at) AS oldest FROM errors WHERE resolved = 0 \
             GROUP BY severity ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END",
        ),
    ]
    .into_iter()
    .map(|(name, sql)| (name.to_owned(), sql.to_owned()))
    .collect()
}

impl BrowserSettings {
    pub fn limits(&self) -> SqlLimits {
        // Payloads are hidden per request, for a viewer (`http::browse`).
        SqlLimits {
            time_limit: Duration::from_millis(self.sql_time_limit_ms),
            max_rows: self.max_rows,
            hide_payloads: false,
        }
    }
}

impl BrowserSettings {
    /// Where SQL box queries run and what they may use.
    pub fn isolation(&self) -> crate::browser_query::Isolation {
        let program = if self.sql_process.as_os_str().is_empty() {
            std::env::current_exe().unwrap_or_else(|_| "atlas".into())
        } else {
            self.sql_process.clone()
        };
        crate::browser_query::Isolation { program, memory_mb: self.sql_memory_mb }
    }
}

impl Settings {
    pub(super) fn validate_browser(&self) -> Result<(), (&'static str, String)> {
        let program = &self.browser.sql_process;
        if !program.as_os_str().is_empty() && program.is_relative() && program.components().count() == 1 {
            return Err((
                "browser.sql_process",
                format!(
                    "{} is not in PATH (give the program's path, or \"\" for this atlas binary)",
                    program.display()
                ),
            ));
        }
        let browser = &self.browser;
        if !(10..=60_000).contains(&browser.sql_time_limit_ms) {
            let got = browser.sql_time_limit_ms;
            return Err(("browser.sql_time_limit_ms", format!("must be between 10 and 60000, got {got}")));
        }
        if !(1..=100_000).contains(&browser.max_rows) {
            return Err(("browser.max_rows", format!("must be between 1 and 100000, got {}", browser.max_rows)));
        }
        if !(128..=16_384).contains(&browser.sql_memory_mb) {
            let got = browser.sql_memory_mb;
            return Err(("browser.sql_memory_mb", format!("must be between 128 and 16384, got {got}")));
        }
        if let Some((name, _)) =
            browser.queries.iter().find(|(name, sql)| name.trim().is_empty() || sql.trim().is_empty())
        {
            return Err(("browser.queries", format!("query {name:?} needs a name and its SQL")));
        }
        Ok(())
    }
}
