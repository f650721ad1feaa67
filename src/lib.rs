//! The `atlas` binary's library: CLI, settings, HTTP and the run loop. The engine (domain, store, actors)
//! is the `atlas_actors` crate; this crate only wires it to the outside world.

pub mod admin_socket;
pub mod app;
pub mod backup_cli;
pub mod bootstrap;
pub mod browser_query;
pub mod cli;
pub mod cli_actor;
pub mod console;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod secret_cli;
pub mod service_lock;
pub mod settings;
pub mod sync_cli;
pub mod token_cli;
pub mod tokens;

pub use app::{bind, start, start_with_clock, termination_signal, App, AppError};
pub use settings::Settings;
