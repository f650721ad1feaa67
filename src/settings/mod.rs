//! Settings: code defaults < config file < `ATLAS_<SECTION>__<KEY>` environment variables < CLI flags.
//! Every section denies unknown keys; an error names the key and where its value came from.

mod alertmanager;
mod browser;
mod console;
mod google_account;
mod load;
pub mod notify;
mod operations;
mod redact;
mod secrets;
mod sections;
mod sinks;

pub use alertmanager::AlertmanagerSettings;
pub use browser::BrowserSettings;
pub use console::ConsoleSettings;
pub use load::{load, SettingsError, Sources};
pub use operations::*;
pub use redact::redacted_toml;
pub use secrets::SecretsSettings;
pub use sections::*;
pub use sinks::SinkSettings;

use atlas_actors::backup::file::BackupOptions;
use atlas_actors::backup::offsite::OffsiteConfig;
use atlas_actors::backup::BackupConfig;
use atlas_actors::domain::access::validate_new_token_name;
use atlas_actors::domain::ApprovalPolicy;
use atlas_actors::domain::Secret;
use atlas_actors::housekeeper::HousekeepingConfig;
use atlas_actors::runner::executor::Executors;
use atlas_actors::runner::RunnerConfig;
use atlas_actors::sheets::actor::SheetsSyncConfig;
use atlas_actors::sheets::client::SheetsConfig;
use atlas_actors::sheets::contract::{ApprovalMode, Layout, Reviewer, FIRST_REVIEWER_COLUMN, MAX_COLUMNS};
use atlas_actors::sheets::export::MirrorScope;
use atlas_actors::store::StoreConfig;
use atlas_actors::supervisor::validate_schedules;
use atlas_actors::SupervisorConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The config file read when `--config` is not given, relative to the working directory (optional).
pub const DEFAULT_CONFIG_FILE: &str = "config/atlas.toml";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub writer: WriterSettings,
    pub health: HealthSettings,
    pub approvals: ApprovalSettings,
    pub runner: RunnerSettings,
    pub schedules: BTreeMap<String, String>,
    pub executors: ExecutorSettings,
    pub profiles: ProfileSettings,
    pub sheets: SheetsSettings,
    pub backup: BackupSettings,
    pub offsite: OffsiteSettings,
    pub pitr: PitrSettings,
    pub sinks: Vec<SinkSettings>,
    pub alerts: AlertSettings,
    pub alertmanager: AlertmanagerSettings,
    pub metrics: MetricsSettings,
    pub browser: BrowserSettings,
    pub console: ConsoleSettings,
    pub links: notify::LinksSettings,
    pub notify: notify::NotifySettings,
    pub secrets: SecretsSettings,
    pub log: LogSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            database: DatabaseSettings::default(),
            writer: WriterSettings::default(),
            health: HealthSettings::default(),
            approvals: ApprovalSettings::default(),
            runner: RunnerSettings::default(),
            schedules: default_schedules(),
            executors: ExecutorSettings::default(),
            profiles: ProfileSettings::default(),
            sheets: SheetsSettings::default(),
            backup: BackupSettings::default(),
            offsite: OffsiteSettings::default(),
            pitr: PitrSettings::default(),
            sinks: Vec::new(),
            alerts: AlertSettings::default(),
            alertmanager: AlertmanagerSettings::default(),
            metrics: MetricsSettings::default(),
            browser: BrowserSettings::default(),
            console: ConsoleSettings::default(),
            links: notify::LinksSettings::default(),
            notify: notify::NotifySettings::default(),
            secrets: SecretsSettings::default(),
            log: LogSettings::default(),
        }
    }
}

/// Where `program` (a bare name) is in this process's PATH, as an executable file.
fn in_path(program: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.as_os_str().is_empty() {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

impl Settings {
    /// Makes every relative path absolute against `base` (the working directory at load), once, so that
    /// every part of Atlas, and every process it starts in another directory (the SQL box's child starts
    /// in `/`), reads the same files. Empty paths mean "none" and stay empty; a bare program name
    /// (`browser.sql_process` without a `/`) is looked up in PATH now, since the query's process starts
    /// with an empty environment (left as it is when not found: validation names it).
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        let absolute = |path: &mut std::path::PathBuf| {
            if !path.as_os_str().is_empty() && path.is_relative() {
                *path = base.join(&*path);
            }
        };
        absolute(&mut self.database.path);
        absolute(&mut self.backup.dir);
        absolute(&mut self.backup.golden_path);
        absolute(&mut self.secrets.dir);
        absolute(&mut self.sheets.credentials_file);
        if self.browser.sql_process.components().count() > 1 {
            absolute(&mut self.browser.sql_process);
        } else if let Some(found) = in_path(&self.browser.sql_process) {
            self.browser.sql_process = found;
        }
    }

    /// Range checks serde cannot express. Returns the dotted key and what is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        fn within(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), (&'static str, String)> {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err((key, format!("must be between {min} and {max}, got {value}")))
            }
        }
        within("http.workers", self.http.workers as u64, 1, 64)?;
        within("http.shutdown_timeout_s", self.http.shutdown_timeout_s, 1, 300)?;
        within("http.max_body_bytes", self.http.max_body_bytes as u64, 1_024, 64 * 1024 * 1024)?;
        within("http.body_timeout_s", self.http.body_timeout_s, 1, 3600)?;
        within("http.max_connections", self.http.max_connections as u64, 1, 100_000)?;
        within("database.busy_timeout_ms", self.database.busy_timeout_ms.into(), 0, 600_000)?;
        within("database.cache_size_kib", self.database.cache_size_kib.into(), 64, 4 * 1024 * 1024)?;
        within("database.read_pool_size", self.database.read_pool_size.into(), 1, 64)?;
        within("database.start_check_s", self.database.start_check_s, 1, 3600)?;
        within("database.read_wait_ms", self.database.read_wait_ms, 1, 60_000)?;
        if self.writer.checkpoint_every_ms != 0 {
            within("writer.checkpoint_every_ms", self.writer.checkpoint_every_ms, 10, 60_000)?;
        }
        within("writer.mailbox_capacity", self.writer.mailbox_capacity as u64, 16, 1_000_000)?;
        within("writer.max_batch", self.writer.max_batch as u64, 1, 100_000)?;
        within("health.probe_timeout_ms", self.health.probe_timeout_ms, 10, 60_000)?;
        within("health.heartbeat_stale_s", self.health.heartbeat_stale_s, 15, 3600)?;
        within("health.backup_max_age_h", self.health.backup_max_age_h, 1, 24 * 90)?;
        within("health.sync_stale_after_m", self.health.sync_stale_after_m, 1, 24 * 60 * 30)?;
        within("health.restart_window_m", self.health.restart_window_m, 1, 24 * 60)?;
        within("health.restart_alert_threshold", self.health.restart_alert_threshold, 1, 1000)?;
        within("health.alert_check_s", self.health.alert_check_s, 5, 3600)?;
        let h = &self.health;
        for (key, value, max) in [
            ("health.validation_failure_pct", h.validation_failure_pct, 100.0),
            ("health.outcome_sync_completion_min_pct", h.outcome_sync_completion_min_pct, 100.0),
            ("health.outcome_validation_pass_min_pct", h.outcome_validation_pass_min_pct, 100.0),
            ("health.outcome_decision_mean_max_h", h.outcome_decision_mean_max_h, 24.0 * 365.0),
            ("health.outcome_critical_resolution_max_h", h.outcome_critical_resolution_max_h, 24.0 * 365.0),
            ("approvals.remind_after_h", self.approvals.remind_after_h, 24.0 * 365.0),
        ] {
            if !(0.0..=max).contains(&value) {
                return Err((key, format!("must be 0..{max}, got {value}")));
            }
        }
        self.validate_alerts()?;
        self.validate_browser()?;
        self.validate_console()?;
        self.validate_notify()?;
        self.validate_alertmanager()?;
        within("approvals.expire_after_h", self.approvals.expire_after_h, 0, 24 * 365)?;
        within("runner.max_concurrent", self.runner.max_concurrent as u64, 1, 256)?;
        within("runner.default_timeout_s", self.runner.default_timeout_s, 1, 7 * 24 * 3600)?;
        within("runner.output_limit_bytes", self.runner.output_limit_bytes as u64, 256, 16 * 1024 * 1024)?;
        within("runner.poll_interval_s", self.runner.poll_interval_s, 1, 3600)?;
        within("sheets.request_timeout_s", self.sheets.request_timeout_s, 1, 600)?;
        within("sheets.max_attempts", self.sheets.max_attempts.into(), 1, 10)?;
        within("sheets.runs_shown", self.sheets.runs_shown.into(), 1, 10_000)?;
        within("sheets.max_rows", self.sheets.max_rows.into(), 1_000, 1_000_000)?;
        self.validate_reviewers()?;
        if self.sheets.enabled {
            if self.sheets.spreadsheet_id.trim().is_empty() {
                return Err(("sheets.spreadsheet_id", "must be set when sheets.enabled = true".into()));
            }
            if !self.sheets.api_base_url.ends_with('/') {
                return Err(("sheets.api_base_url", format!("must end with '/', got {:?}", self.sheets.api_base_url)));
            }
            if !self.sheets.credentials_file.is_file() {
                let file = self.sheets.credentials_file.display();
                return Err(("sheets.credentials_file", format!("{file} does not exist or is not a file")));
            }
        }
        within("backup.keep", self.backup.keep as u64, 1, 1000)?;
        within("backup.pages_per_step", self.backup.pages_per_step.max(0) as u64, 1, 1_000_000)?;
        within("backup.step_pause_ms", self.backup.step_pause_ms, 0, 10_000)?;
        self.validate_offsite()?;
        self.validate_pitr()?;
        self.validate_sinks()?;
        atlas_actors::domain::Quorum::parse(&self.approvals.quorum).map_err(|why| ("approvals.quorum", why))?;
        if self.database.path.as_os_str().is_empty() {
            return Err(("database.path", "must not be empty".into()));
        }
        ApprovalPolicy::parse(&self.approvals.policy).map_err(|err| ("approvals.policy", err))?;
        validate_schedules(&self.schedules).map_err(|err| ("schedules", err))?;
        self.executors().validate().map_err(|err| ("executors", err))?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|err| ("log.level", format!("is not a valid log filter: {err}")))?;
        Ok(())
    }

    /// The approval gate's rules (validated at load time).
    pub fn approval_policy(&self) -> ApprovalPolicy {
        ApprovalPolicy::parse(&self.approvals.policy).unwrap_or_else(|_| ApprovalPolicy::default_policy())
    }

    fn executors(&self) -> Executors {
        Executors { executors: self.executors.clone(), profiles: self.profiles.clone() }
    }

    /// The engine's view of these settings.
    pub fn supervisor_config(&self) -> SupervisorConfig {
        let runner = RunnerConfig {
            max_concurrent: self.runner.max_concurrent,
            default_timeout: Duration::from_secs(self.runner.default_timeout_s),
            output_limit_bytes: self.runner.output_limit_bytes,
            env_allowlist: self.runner.env_allowlist.clone(),
            poll_interval: Duration::from_secs(self.runner.poll_interval_s),
            failed_severity: self.runner.failed_severity,
            timed_out_severity: self.runner.timed_out_severity,
            executors: self.executors(),
            // Taken from the data directory when the supervisor starts (runner::instance).
            instance: String::new(),
            secrets: self.secret_store(),
        };
        let expire = self.approvals.expire_after_h;
        SupervisorConfig {
            store: self.store_config(),
            health: self.health_config(),
            alerts: self.alerts_config(),
            runner,
            housekeeping: HousekeepingConfig {
                approval_expire_after: (expire > 0).then(|| chrono::Duration::hours(expire as i64)),
            },
            schedules: self.schedules.clone(),
            scheduler_tick: Duration::from_secs(1),
            sheets: self.sheets.enabled.then(|| self.sheets_config()),
            backup: self.backup_config(),
            sinks: self.sink_configs(),
        }
    }

    /// The Sheets mirror's options (used whether or not the scheduled sync is enabled, e.g. by the CLI).
    pub fn sheets_config(&self) -> SheetsSyncConfig {
        let days = |n: u32| chrono::Duration::days(n.into());
        SheetsSyncConfig {
            client: SheetsConfig {
                spreadsheet_id: self.sheets.spreadsheet_id.clone(),
                credentials_file: self.sheets.credentials_file.clone(),
                api_base_url: self.sheets.api_base_url.clone(),
                request_timeout: Duration::from_secs(self.sheets.request_timeout_s),
                max_attempts: self.sheets.max_attempts,
                backoff_base: Duration::from_millis(500),
                max_rows: self.sheets.max_rows as usize,
            },
            scope: MirrorScope {
                decided_approvals_for: days(self.sheets.decided_approvals_days),
                runs_shown: self.sheets.runs_shown,
                resolved_errors_for: days(self.sheets.resolved_errors_days),
            },
            layout: Layout::new(match self.sheets.approval_mode {
                ApprovalModeSetting::Shared => ApprovalMode::Shared { reviewer: self.sheets.shared_reviewer.clone() },
                ApprovalModeSetting::Reviewers => ApprovalMode::Reviewers(
                    self.sheets
                        .reviewers
                        .iter()
                        .map(|(token, email)| Reviewer {
                            token: token.clone(),
                            email: google_account::parse(email).unwrap_or_else(|_| email.trim().to_owned()),
                        })
                        .collect(),
                ),
            }),
            owner: google_account::parse(&self.sheets.owner).ok(),
            allow_self_approval: self.approvals.allow_self_approval,
            allow_partial_payload: self.sheets.allow_partial_payload_approval,
        }
    }

    /// Who decides in the sheet must be a person Atlas can name: reviewer names are token names (never
    /// Atlas's own), each with one e-mail; shared mode needs its named identity.
    fn validate_reviewers(&self) -> Result<(), (&'static str, String)> {
        let sheets = &self.sheets;
        match sheets.approval_mode {
            ApprovalModeSetting::Shared => {
                if let Err(message) = validate_new_token_name(sheets.shared_reviewer.trim()) {
                    return Err((
                        "sheets.shared_reviewer",
                        format!("approval_mode = \"shared\" needs a shared_reviewer token name: {message}"),
                    ));
                }
                if !sheets.reviewers.is_empty() {
                    return Err((
                        "sheets.reviewers",
                        "reviewer columns are not used with approval_mode = \"shared\"; remove them or use \"reviewers\"".into(),
                    ));
                }
            }
            ApprovalModeSetting::Reviewers => {
                if !sheets.shared_reviewer.is_empty() {
                    return Err(("sheets.shared_reviewer", "is only used with approval_mode = \"shared\"".into()));
                }
            }
        }
        let max = MAX_COLUMNS - FIRST_REVIEWER_COLUMN;
        if sheets.reviewers.len() > max {
            return Err(("sheets.reviewers", format!("at most {max} reviewers fit before column Z")));
        }
        let mut emails = std::collections::BTreeSet::new();
        for (token, email) in &sheets.reviewers {
            validate_new_token_name(token)
                .map_err(|message| ("sheets.reviewers", format!("reviewer {token:?}: {message}")))?;
            let email = google_account::parse(email)
                .map_err(|message| ("sheets.reviewers", format!("reviewer {token:?}: {message}")))?;
            if !emails.insert(google_account::identity(&email)) {
                return Err((
                    "sheets.reviewers",
                    format!(
                        "{email} is given to two reviewers (as Google counts accounts); each person has one column"
                    ),
                ));
            }
        }
        self.validate_owner(&emails)
    }

    /// Google keeps the spreadsheet's owner among every protected range's editors, so a reviewer column
    /// is intact only if Atlas knows who the owner is, and an owner who also reviewed would have a
    /// column another account can edit.
    fn validate_owner(
        &self,
        reviewer_emails: &std::collections::BTreeSet<String>,
    ) -> Result<(), (&'static str, String)> {
        if self.sheets.owner.trim().is_empty() {
            let needed = self.sheets.enabled
                && self.sheets.approval_mode == ApprovalModeSetting::Reviewers
                && !reviewer_emails.is_empty();
            return match needed {
                true => Err((
                    "sheets.owner",
                    "reviewer columns need the spreadsheet owner's Google account (Google keeps the owner among \
                     every protected range's editors, so Atlas must know who it is); set sheets.owner"
                        .into(),
                )),
                false => Ok(()),
            };
        }
        let owner = google_account::parse(&self.sheets.owner).map_err(|message| ("sheets.owner", message))?;
        if reviewer_emails.contains(&google_account::identity(&owner)) {
            return Err((
                "sheets.owner",
                format!(
                    "{owner} owns the spreadsheet and is also a reviewer: the owner can edit every column, so \
                         their column would not be theirs alone; let another account own the spreadsheet"
                ),
            ));
        }
        Ok(())
    }

    pub fn backup_config(&self) -> BackupConfig {
        BackupConfig {
            database: self.database.path.clone(),
            dir: self.backup.dir.clone(),
            keep: self.backup.keep,
            offsite: self.offsite.enabled.then(|| OffsiteConfig {
                endpoint: self.offsite.endpoint.clone(),
                region: self.offsite.region.clone(),
                bucket: self.offsite.bucket.clone(),
                prefix: self.offsite.prefix.clone(),
                access_key_id: self.offsite.access_key_id.clone(),
                secret_access_key: Secret(self.offsite.secret_access_key.clone()),
                allow_http: self.offsite.allow_http,
                keep: self.offsite.keep,
                request_timeout: Duration::from_secs(self.offsite.request_timeout_s),
                max_retries: self.offsite.max_retries,
            }),
            pitr: self.pitr_config(),
            options: BackupOptions {
                compress: self.backup.compress,
                pages_per_step: self.backup.pages_per_step,
                pause_between_steps: Duration::from_millis(self.backup.step_pause_ms),
            },
        }
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            path: self.database.path.clone(),
            busy_timeout_ms: self.database.busy_timeout_ms,
            synchronous: self.database.synchronous,
            cache_size_kib: self.database.cache_size_kib,
            journal_size_limit_bytes: self.database.journal_size_limit_bytes,
            read_pool_size: self.database.read_pool_size,
            writer_mailbox_capacity: self.writer.mailbox_capacity,
            writer_max_batch: self.writer.max_batch,
            checkpoint_every: Duration::from_millis(self.writer.checkpoint_every_ms),
            start_check_budget: Duration::from_secs(self.database.start_check_s),
            read_wait: Duration::from_millis(self.database.read_wait_ms),
            // Capture is built, shipping is not yet: no setting turns it on until the outbox is shipped
            // and trimmed (issue 15), or it would only grow.
            capture_changes: self.pitr.enabled,
            sink_routes: self.sink_configs().iter().map(atlas_actors::sinks::SinkConfig::route).collect(),
            // Checked by `validate`; an invalid quorum never gets this far.
            quorum: atlas_actors::domain::Quorum::parse(&self.approvals.quorum).unwrap_or_default(),
            policy: self.approval_policy(),
            allow_self_approval: self.approvals.allow_self_approval,
        }
    }
}
