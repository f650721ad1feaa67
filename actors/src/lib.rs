//! Atlas's engine: the domain, the store and the actors. No HTTP lives here (this crate does not depend
//! on actix-web), so the binary's routes are a thin layer over these handles.
//!
//! **The single-writer rule.** Only `store::writer` opens the live database read-write, and only its
//! private `WriterActor`, alone on its own thread, uses it. Every mutation is a `domain::Command` sent
//! through `WriterHandle::submit`, applied in a transaction together with its audit event, and answered
//! after COMMIT. Everything else reads through the read-only `ReaderPool`. Every open goes through
//! `store::open` (a closed list of read-write purposes); clippy refuses any other.

pub mod alerts;
pub mod backup;
pub mod domain;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod guard;
pub mod health;
pub mod housekeeper;
pub mod pitr;
pub mod registry;
pub mod runner;
pub mod scheduler;
pub mod secrets;
pub mod sheets;
pub mod sinks;
pub mod store;
pub mod supervisor;

pub use supervisor::{start, Handles, SupervisorConfig};
