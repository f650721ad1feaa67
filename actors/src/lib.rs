//! Atlas's engine: the domain, the store and the actors. No HTTP lives here (this crate does not depend
//! on actix-web), so the binary's routes are a thin layer over these handles.
//!
//! **The single-writer rule.** Only `store::writer` opens the live database read-write, and only its
//! private `WriterActor`, alone on its own thread, writes rows (its checkpointer only folds the WAL). Every
//! mutation is a typed command (`domain::Command`, with its groups `RunCommand`, `SheetCommand` and
//! `Record`; `domain::command`) sent through `WriterHandle::submit`, applied by the writer in a
//! transaction that also writes its audit event(s), and answered after COMMIT. Two kinds of work on the
//! writer's connection are not commands (`store/writer/maintain.rs`): maintenance people ask for (vacuum,
//! checkpoint), audited by the writer in the same turn, and the writer's own bookkeeping (`Bookkeeping`:
//! outbox trim, sink outcomes), which writes no event. Everything else reads through the read-only
//! `ReaderPool`. Every open goes through `store::open` (a closed list of read-write purposes); clippy
//! refuses any other.

pub mod alerts;
pub mod backoff;
pub mod backup;
pub mod domain;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod guard;
pub mod health;
pub mod housekeeper;
pub mod notify;
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
