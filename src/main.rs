//! `atlas`: parse the command line, load settings, run the subcommand, map failures to exit codes.

use atlas::cli::{BackupCommand, Cli, CliCommand, ConfigAction, DbCommand, SecretCommand, SyncCommand, TokenCommand};
use atlas::settings::{self, Settings};
use atlas::sync_cli::SyncAction;
use atlas::token_cli::TokenAction;
use atlas_actors::backup::BackupRequest;
use atlas_actors::domain::SystemClock;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A data-browser query's own process (see browser_query.rs): no settings, no logging, one answer.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(atlas::browser_query::CHILD_ARG) {
        return atlas::browser_query::child_main(&args[1..]);
    }
    let cli = Cli::parse();
    let settings = match settings::load(
        cli.config.as_deref(),
        std::env::vars(),
        &cli.overrides(&std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>()),
    ) {
        Ok((settings, _)) => settings,
        Err(err) => {
            eprintln!("atlas: {err}");
            return ExitCode::from(1);
        }
    };
    atlas_actors::store::lock::announce(&subcommand_words());
    // Every command but these holds the data lock while it runs (the writer would take it anyway): beside
    // a running service it is refused, saying what to do instead. `serve` takes it in `app::start`;
    // tokens are handed to a running service over its admin socket; `config check` opens nothing.
    let instead = match &cli.command {
        CliCommand::Config { .. } | CliCommand::Serve { .. } | CliCommand::Token { .. } | CliCommand::Secret { .. } => {
            None
        }
        command => Some(instead_of(command)),
    };
    let _lock = match instead.map(|instead| atlas::service_lock::for_cli(&settings.database.path, &instead)) {
        Some(Err(sentence)) => {
            eprintln!("atlas: {sentence}");
            return ExitCode::from(1);
        }
        Some(Ok(lock)) => Some(lock),
        None => None,
    };
    match cli.command {
        CliCommand::Config { action: ConfigAction::Check } => config_check(&settings),
        CliCommand::Migrate => migrate(&settings),
        CliCommand::Serve { .. } => serve(settings),
        CliCommand::Token { action } => token(&settings, action),
        CliCommand::Secret { action } => print_or_fail(atlas::secret_cli::run(
            &settings,
            match action {
                SecretCommand::Set { name } => atlas::secret_cli::SecretAction::Set { name },
                SecretCommand::List => atlas::secret_cli::SecretAction::List,
                SecretCommand::Rm { name } => atlas::secret_cli::SecretAction::Remove { name },
            },
        )),
        CliCommand::Sync { action } => sync(&settings, action),
        CliCommand::Backup { action } => backup(&settings, action),
        CliCommand::Init { golden } => print_or_fail(atlas::backup_cli::init_from_golden(&settings, &golden)),
        CliCommand::Reset { to_golden, golden, yes } => reset(&settings, to_golden, golden, yes),
        CliCommand::Restore { to, from_remote, verify_only, promote, yes } => {
            atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
            print_or_fail(atlas::backup_cli::restore_to_point(&settings, &to, from_remote, verify_only, yes, promote))
        }
        CliCommand::Promote { yes } => {
            atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
            print_or_fail(atlas::backup_cli::promote(&settings, yes))
        }
        CliCommand::Db { action } => {
            atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
            print_or_fail(atlas::backup_cli::db(&settings, matches!(action, DbCommand::Vacuum)))
        }
    }
}

fn sync(settings: &Settings, action: SyncCommand) -> ExitCode {
    atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
    let action = match action {
        SyncCommand::Run | SyncCommand::Import => SyncAction::Full,
        SyncCommand::Export => SyncAction::Export,
        SyncCommand::Status => SyncAction::Status,
    };
    print_or_fail(atlas::sync_cli::run(settings, action))
}

fn backup(settings: &Settings, action: BackupCommand) -> ExitCode {
    atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
    let request = match action {
        BackupCommand::Create => BackupRequest::Create,
        BackupCommand::List { remote: false } => BackupRequest::List,
        BackupCommand::List { remote: true } => BackupRequest::ListRemote,
        BackupCommand::Verify { id } => BackupRequest::Verify(id),
        BackupCommand::Upload { id } => BackupRequest::Upload(id),
        BackupCommand::Restore { yes: false, .. } => {
            eprintln!("atlas: a restore replaces the current database; add --yes to confirm");
            return ExitCode::from(1);
        }
        BackupCommand::Restore { id, remote: false, promote, yes: true } => {
            return print_or_fail(atlas::backup_cli::run_then(settings, BackupRequest::Restore(id), promote));
        }
        BackupCommand::Restore { id, remote: true, promote, yes: true } => {
            return print_or_fail(atlas::backup_cli::run_then(settings, BackupRequest::RestoreRemote(id), promote));
        }
    };
    print_or_fail(atlas::backup_cli::run(settings, request))
}

fn reset(settings: &Settings, to_golden: bool, golden: Option<std::path::PathBuf>, yes: bool) -> ExitCode {
    atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
    let golden = golden.or_else(|| Some(settings.backup.golden_path.clone()).filter(|p| !p.as_os_str().is_empty()));
    match (to_golden, golden, yes) {
        (false, _, _) => print_or_fail(Err("say what to reset to: --to-golden".into())),
        (_, None, _) => print_or_fail(Err("no golden copy: pass --golden PATH or set backup.golden_path".into())),
        (_, _, false) => print_or_fail(Err("a reset replaces the current database; add --yes to confirm".into())),
        (true, Some(golden), true) => print_or_fail(atlas::backup_cli::reset_to_golden(settings, golden)),
    }
}

fn print_or_fail(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("atlas: {err}");
            ExitCode::from(1)
        }
    }
}

fn token(settings: &Settings, action: TokenCommand) -> ExitCode {
    atlas::logging::init(&atlas::settings::LogSettings { level: "warn".into(), ..settings.log.clone() });
    let action = match action {
        TokenCommand::Create { name, role } => TokenAction::Create { name, role },
        TokenCommand::List => TokenAction::List,
        TokenCommand::Revoke { name } => TokenAction::Revoke { name },
    };
    print_or_fail(atlas::token_cli::run(settings, action))
}

fn config_check(settings: &Settings) -> ExitCode {
    match settings::redacted_toml(settings) {
        Ok(text) => {
            print!("{text}");
            eprintln!("atlas: configuration is valid");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("atlas: cannot print the configuration: {err}");
            ExitCode::from(1)
        }
    }
}

fn migrate(settings: &Settings) -> ExitCode {
    atlas::logging::init(&settings.log);
    match atlas_actors::store::migrate_database(&settings.store_config(), &SystemClock) {
        Ok(status) => {
            println!("database {} is at schema version {}", settings.database.path.display(), status.current);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("atlas: {err}");
            ExitCode::from(1)
        }
    }
}

fn serve(settings: Settings) -> ExitCode {
    atlas::logging::init(&settings.log);
    // This process spawns its children only through reap::spawn_held (runs, SQL box queries): any other
    // zombie child is an orphan a run left, whatever group it made itself.
    atlas_actors::runner::reap::claim_every_child();
    let result = actix_web::rt::System::new().block_on(async move {
        let shutdown = atlas::termination_signal(); // handlers installed now, before anything starts
        let listener = atlas::bind(&settings)?;
        let app = atlas::start(&settings, listener).await?;
        app.run_until(shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "Atlas stopped with an error.");
            eprintln!("atlas: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// The subcommand's words (`serve`, `backup restore`), never its arguments: what `atlas.lock` says this
/// process is.
fn subcommand_words() -> String {
    let matches = <Cli as clap::CommandFactory>::command().ignore_errors(true).get_matches();
    let mut words = Vec::new();
    let mut level = &matches;
    while let Some((name, sub)) = level.subcommand() {
        words.push(name.to_owned());
        level = sub;
    }
    words.join(" ")
}

/// What to do instead of `command` while the service runs (it holds the data lock).
fn instead_of(command: &CliCommand) -> String {
    match command {
        CliCommand::Migrate => "the service migrates when it starts; stop it first to migrate by hand".to_owned(),
        CliCommand::Sync { action: SyncCommand::Status } => "ask the service: GET /api/v1/admin/sync".into(),
        CliCommand::Sync { .. } => "ask the service: POST /api/v1/admin/sync".into(),
        CliCommand::Backup { action: BackupCommand::List { remote: false } } => {
            "ask the service: GET /api/v1/admin/backups".into()
        }
        CliCommand::Backup { action: BackupCommand::List { remote: true } } => {
            "ask the service: GET /api/v1/admin/backups/remote".into()
        }
        CliCommand::Db { action: DbCommand::Stats } => "ask the service: GET /api/v1/admin/db/stats".into(),
        CliCommand::Backup { action: BackupCommand::Create } => "ask the service: POST /api/v1/admin/backups".into(),
        CliCommand::Backup { action: BackupCommand::Verify { id } } => {
            format!("ask the service: POST /api/v1/admin/backups/{id}/verify")
        }
        CliCommand::Backup { action: BackupCommand::Upload { id } } => {
            format!("ask the service: POST /api/v1/admin/backups/{id}/upload")
        }
        CliCommand::Backup { action: BackupCommand::Restore { id, remote, .. } } => format!(
            "ask the service: POST /api/v1/admin/backups/{}{id}/restore with {{\"confirm\": true}}",
            if *remote { "remote/" } else { "" }
        ),
        CliCommand::Restore { verify_only: true, .. } => {
            "ask the service: POST /api/v1/admin/restore with {\"to\": …, \"verify_only\": true}".into()
        }
        CliCommand::Restore { .. } => {
            "ask the service: POST /api/v1/admin/restore with {\"to\": …, \"confirm\": true}".into()
        }
        CliCommand::Db { action: DbCommand::Vacuum } => "ask the service: POST /api/v1/admin/db/vacuum".into(),
        _ => "stop the service first (systemctl stop atlas), then run this again".into(),
    }
}
