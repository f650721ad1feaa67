//! One integration-test binary (one link step) with a module per area.

pub mod api;
mod cli;
mod config_file;
mod invariants;
mod probes;
mod runner;
mod scheduler;
mod supervision;
mod support;
mod writer;
