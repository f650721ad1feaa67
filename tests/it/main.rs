//! One integration-test binary (one link step) with a module per area.

pub mod api;
mod backup;
mod cli;
mod config_file;
mod invariants;
mod offsite;
mod probes;
mod runner;
mod scheduler;
mod sheets;
mod supervision;
mod support;
pub mod writer;
