//! One integration-test binary (one link step) with a module per area.

pub mod api;
mod attacks_detached;
mod attacks_ops;
mod attacks_restarts_storage;
mod backup;
mod cli;
mod config_file;
mod console;
mod containment;
mod health;
mod invariants;
mod long_work;
mod metrics;
mod offsite;
mod operations;
mod outcomes;
mod panic_drills;
mod pitr;
mod probes;
mod restore_crash;
mod runner;
mod scheduler;
mod sheets;
mod storage_faults;
pub mod supervision;
mod support;
pub mod writer;
