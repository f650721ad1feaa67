//! The command line. `--config` and `--set` work with every subcommand.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "atlas",
    version,
    about = "Keeps a team's operational state honest: one SQLite database, approvals, runs, errors"
)]
pub struct Cli {
    /// Config file (default: config/atlas.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one setting, e.g. --set http.addr=127.0.0.1:9000 (repeatable; beats the file and env).
    #[arg(long = "set", global = true, value_name = "SECTION.KEY=VALUE")]
    pub overrides: Vec<String>,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the service: migrate, start the actors, serve HTTP until SIGTERM/SIGINT.
    Serve {
        /// Listen address (same as --set http.addr=ADDR).
        #[arg(long, value_name = "ADDR")]
        addr: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Create the database from a protected golden copy (only when none exists yet).
    Init {
        #[arg(long, value_name = "PATH")]
        golden: std::path::PathBuf,
    },
    /// Replace the database with the golden copy (a safety backup is taken first). Stop the service first.
    Reset {
        /// Required: what to reset to.
        #[arg(long)]
        to_golden: bool,
        /// The golden copy (default: backup.golden_path).
        #[arg(long, value_name = "PATH")]
        golden: Option<std::path::PathBuf>,
        /// Confirms that the current database is to be replaced.
        #[arg(long)]
        yes: bool,
    },
    /// Backups: make one, list them (local or off-site), verify, upload or restore one.
    Backup {
        #[command(subcommand)]
        action: BackupCommand,
    },
    /// Point-in-time recovery: rebuild the database as it was at a moment from the newest snapshot
    /// before it and the changes shipped after it, check it, and swap it in (a safety backup first).
    /// Stop the service first, or use POST /api/v1/admin/restore while it runs.
    Restore {
        /// An RFC 3339 time (2026-12-01T10:00:00Z) or `latest`.
        #[arg(long, value_name = "TIME|latest")]
        to: String,
        /// Take the snapshot from the bucket even when a local backup would do (a fresh machine does
        /// this anyway).
        #[arg(long)]
        from_remote: bool,
        /// Rebuild into a scratch file and check it; replace nothing.
        #[arg(long)]
        verify_only: bool,
        /// Make the restored database the bucket's owner (disaster recovery on a new machine): without
        /// it, a copy restored onto another machine writes nothing to the bucket.
        #[arg(long)]
        promote: bool,
        /// Confirms that the current database is to be replaced.
        #[arg(long)]
        yes: bool,
    },
    /// Make this database the bucket's owner: its backups and changes go to the bucket, `latest` follows
    /// it, and the previous owner writes nothing there any more. Stop the service first.
    Promote {
        /// Confirms the takeover.
        #[arg(long)]
        yes: bool,
    },
    /// The database: rows per table and file sizes, or a vacuum.
    Db {
        #[command(subcommand)]
        action: DbCommand,
    },
    /// The Google Sheets mirror: run a cycle, only import or export, or show its state.
    Sync {
        #[command(subcommand)]
        action: SyncCommand,
    },
    /// Manage API tokens (works whether or not the service runs).
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Secrets a task's `env` names (`{"secret": "pg"}`), kept outside the database (works whether or
    /// not the service runs).
    Secret {
        #[command(subcommand)]
        action: SecretCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret; its value is read from stdin (`printf %s "$PW" | atlas secret set pg`).
    Set { name: String },
    /// The secrets' names (never their values).
    List,
    /// Remove a secret.
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Rows per table and file sizes.
    Stats,
    /// Rebuild the database file (returns free pages to the disk).
    Vacuum,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Make a backup now (online; the service may keep running), then apply retention.
    Create,
    /// List backups, newest first.
    List {
        /// The off-site copies instead of the local ones.
        #[arg(long)]
        remote: bool,
    },
    /// Verify a backup (checksum, integrity_check, row counts); exits non-zero if it fails.
    Verify { id: String },
    /// Upload a local backup to off-site storage (again).
    Upload { id: String },
    /// Restore a backup (verified first; a safety backup of the current database is taken). Stop the
    /// service first, or use POST /api/v1/admin/backups/{id}/restore while it runs.
    Restore {
        id: String,
        /// Download the backup from off-site storage first.
        #[arg(long)]
        remote: bool,
        /// Make the restored database the bucket's owner (see `atlas promote`).
        #[arg(long)]
        promote: bool,
        /// Confirms that the current database is to be replaced.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Import human edits, then export (one full cycle).
    Run,
    /// The same full cycle: an import is always followed by the export that restores refused cells.
    Import,
    /// Export only.
    Export,
    /// Each direction's last success, failures in a row and last error.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// viewer | agent | approver | admin
        #[arg(long)]
        role: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token at once.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (secrets redacted); exit non-zero if it is invalid.
    Check,
}

impl Cli {
    /// All `section.key=value` overrides in the order given on `argv` (the command line clap parsed), the
    /// subcommand's own flags last. Read from `argv` because clap keeps only the `--set` flags after the
    /// subcommand when there are some on both sides (`atlas --set a=1 serve --set b=2` lost `a=1`).
    pub fn overrides(&self, argv: &[String]) -> Vec<String> {
        let mut all = Vec::new();
        let mut words = argv.iter().skip(1);
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            } else if word == "--set" {
                all.extend(words.next().cloned());
            } else if let Some(value) = word.strip_prefix("--set=") {
                all.push(value.to_owned());
            }
        }
        if all.len() < self.overrides.len() {
            all.clone_from(&self.overrides);
        }
        if let CliCommand::Serve { addr: Some(addr) } = &self.command {
            all.push(format!("http.addr={addr:?}"));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_flag_counts_wherever_it_stands() {
        let argv: Vec<String> =
            ["atlas", "--set", "a.b=1", "serve", "--set=c.d=2", "--set", "e.f=3", "--addr", "127.0.0.1:1"]
                .map(String::from)
                .to_vec();
        let cli = Cli::try_parse_from(&argv).unwrap();
        assert_eq!(cli.overrides(&argv), ["a.b=1", "c.d=2", "e.f=3", "http.addr=\"127.0.0.1:1\""]);
    }
}
