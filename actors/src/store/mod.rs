//! Storage: the single writer (the only read-write connection), the read-only pool, migrations and the
//! queries both sides share.

mod apply;
pub mod browse;
pub mod capture;
pub mod config;
pub mod gate;
pub mod lock;
pub mod migrate;
pub mod open;
mod pragmas;
pub mod queries;
pub mod quorum;
pub mod reader;
pub mod search;
pub mod sinks;
pub mod storage;
mod swap;
mod transaction;
pub mod writer;

pub use config::{StoreConfig, Synchronous};
pub use reader::{ReadError, ReaderPool};
pub use storage::{StorageState, StorageWatch};
pub use writer::{migrate_database, Bookkeeping, Maintenance, SafetyBackup, WriterHandle, WriterStats};
