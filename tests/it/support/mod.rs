//! A small test app: the real Atlas (actors, SQLite file, HTTP on 127.0.0.1:0) started in-process, plus a
//! client that returns `(status, json)`.

use atlas::settings::Settings;
use atlas_actors::Handles;
use serde_json::Value;
use std::path::PathBuf;
use tokio::sync::oneshot;

pub struct TestApp {
    pub url: String,
    pub handles: Handles,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<Result<(), atlas::AppError>>>,
}

/// Settings for a test: data in a fresh temp dir, an ephemeral port, quick health checks.
pub fn test_settings(dir: &tempfile::TempDir) -> Settings {
    let mut settings = Settings::default();
    settings.database.path = dir.path().join("data/atlas.db");
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.http.workers = 1;
    settings.http.shutdown_timeout_s = 1;
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = test_settings(&dir);
        Self::spawn_with(dir, settings).await
    }

    pub async fn spawn_with(dir: tempfile::TempDir, settings: Settings) -> Self {
        let listener = atlas::bind(&settings).expect("bind 127.0.0.1:0");
        let app = atlas::start(&settings, listener).await.expect("atlas starts");
        let url = format!("http://{}", app.addr);
        let handles = app.handles.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let running = actix_rt::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self { url, handles, dir, stop: Some(stop), running: Some(running) }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/atlas.db")
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let mut response =
            awc::Client::default().get(format!("{}{path}", self.url)).send().await.expect("request sent");
        let body = response.body().await.expect("body read");
        (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Stops like SIGTERM does and returns how the run ended.
    pub async fn stop(self) -> Result<(), atlas::AppError> {
        self.stop_keeping_files().await.0
    }

    /// Stops, handing back the data directory so the test can inspect the files afterwards.
    pub async fn stop_keeping_files(mut self) -> (Result<(), atlas::AppError>, tempfile::TempDir) {
        let _ = self.stop.take().unwrap().send(());
        let result = self.running.take().unwrap().await.expect("run task joined");
        (result, self.dir)
    }

    /// Waits for the run to end by itself (a fatal actor failure).
    pub async fn ended(mut self) -> Result<(), atlas::AppError> {
        let running = self.running.take().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), running)
            .await
            .expect("the app ended by itself within 10 s")
            .expect("run task joined")
    }
}

/// Opens the test's database file read-only, to check what was committed from outside the app.
pub fn open_read_only(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

pub fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}
