//! The read side: an r2d2 pool of connections opened read-only (and `query_only` on top), so nothing
//! reached through it can write. Queries run on tokio's blocking threads, never on the async workers.
//! While a restore replaces the file (`release` .. `reopen`) there is no pool: reads answer `Restoring`
//! (HTTP 503 `restoring`, `Retry-After: 1`), never from a stand-in database.

use super::config::StoreConfig;
use super::pragmas;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("no read connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("read query failed: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("read task failed: {0}")]
    Join(String),
    /// Between a restore's release of the pool and its reopening on the restored file.
    #[error("a restore is replacing the database; reads resume when it is done")]
    Restoring,
}

type Pool = r2d2::Pool<SqliteConnectionManager>;

/// Cheap to clone; every clone shares the pool, and sees it reopened after a restore.
#[derive(Clone)]
pub struct ReaderPool {
    /// None while a restore replaces the file (`release` .. `reopen`).
    pool: Arc<RwLock<Option<Pool>>>,
    config: Arc<StoreConfig>,
}

fn build(config: &StoreConfig) -> Result<Pool, String> {
    let init_config = config.clone();
    let manager =
        super::open::read_only_manager(&config.path).with_init(move |conn| pragmas::for_reader(conn, &init_config));
    r2d2::Pool::builder()
        .max_size(config.read_pool_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(config.read_wait.max(Duration::from_millis(1)))
        .test_on_check_out(false)
        .build(manager)
        .map_err(|err| format!("cannot open read connections to {}: {err}", config.path.display()))
}

impl ReaderPool {
    /// Opens the pool on an existing database (the writer must have created it first).
    pub fn open(config: &StoreConfig) -> Result<Self, String> {
        Ok(Self { pool: Arc::new(RwLock::new(Some(build(config)?))), config: Arc::new(config.clone()) })
    }

    /// The database file the pool reads.
    pub fn database(&self) -> &std::path::Path {
        &self.config.path
    }

    fn current(&self) -> Result<Pool, ReadError> {
        self.pool.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone().ok_or(ReadError::Restoring)
    }

    /// Drops every idle connection and opens new ones (after the database file was replaced).
    /// Connections in use finish their query on the old file and are then dropped with the old pool.
    pub fn reopen(&self) -> Result<(), String> {
        let fresh = build(&self.config)?;
        *self.pool.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(fresh);
        Ok(())
    }

    /// Closes the pool's idle connections so the file can be replaced (a restore), without opening new ones.
    /// Until `reopen`, every read is answered `Restoring` (never from a stand-in database).
    pub fn release(&self) {
        *self.pool.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    /// Runs `query` on a pooled read-only connection on a blocking thread.
    pub async fn read<T, F>(&self, query: F) -> Result<T, ReadError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = self.current()?;
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            Ok(query(&conn)?)
        })
        .await
        .map_err(|err| ReadError::Join(err.to_string()))?
    }

    /// The same, for callers already on a blocking thread (CLI, benchmark, backup).
    pub fn read_blocking<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, ReadError> {
        let conn = self.current()?.get()?;
        Ok(query(&conn)?)
    }

    /// Connections open right now and idle among them.
    pub fn state(&self) -> (u32, u32) {
        self.current().map_or((0, 0), |pool| {
            let state = pool.state();
            (state.connections, state.idle_connections)
        })
    }
}
