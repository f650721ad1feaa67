//! A small test app: the real Atlas (actors, SQLite file, HTTP on 127.0.0.1:0) started in-process, plus a
//! client that returns `(status, json)`.

pub mod daemon;
pub mod damage;
pub mod fake_receivers;
pub mod fake_sheets;
pub mod moto;
pub mod small_disk;

use atlas::settings::Settings;
use atlas_actors::domain::{Actor, Role};
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
    settings.backup.dir = dir.path().join("backups");
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.http.workers = 1;
    settings.http.shutdown_timeout_s = 1;
    // SQL box queries run in a child process of the atlas binary (the test binary is another program).
    settings.browser.sql_process = env!("CARGO_BIN_EXE_atlas").into();
    // Background jobs would interleave with what a test measures; scheduler tests turn them on.
    for schedule in settings.schedules.values_mut() {
        *schedule = "off".into();
    }
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = test_settings(&dir);
        Self::spawn_with(dir, settings).await
    }

    pub async fn spawn_with(dir: tempfile::TempDir, settings: Settings) -> Self {
        Self::spawn_with_clock(dir, settings, std::sync::Arc::new(atlas_actors::domain::SystemClock)).await
    }

    /// The real app on `clock` (a `ManualClock` moves time for every actor that decides by it).
    pub async fn spawn_with_clock(
        dir: tempfile::TempDir,
        settings: Settings,
        clock: std::sync::Arc<dyn atlas_actors::domain::Clock>,
    ) -> Self {
        let listener = atlas::bind(&settings).expect("bind 127.0.0.1:0");
        let app = atlas::start_with_clock(&settings, listener, clock).await.expect("atlas starts");
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
        self.call("GET", path, None, None).await
    }

    /// `/readyz` with the admin token: the whole report (without a token it says only ready or not, and
    /// what fails).
    pub async fn ready(&self) -> (u16, Value) {
        self.call("GET", "/readyz", Some(&self.admin_token()), None).await
    }

    /// The admin token Atlas wrote on its first start.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/admin.token")).expect("admin.token exists").trim().to_owned()
    }

    /// Creates a token with `role` through the writer (as `atlas token create` does) and returns it.
    pub async fn token(&self, name: &str, role: Role) -> String {
        let (token, command) = atlas::tokens::new_token_command(name, role);
        self.handles.writer.submit(command, Actor::new("test")).await.expect("token created");
        token
    }

    /// One request with an optional bearer token and JSON body; returns the status and the parsed body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string().into_bytes());
        let (status, bytes) = self.raw(method, path, token, body, Some("application/json")).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// `POST /api/v1/admin/backups/{id}/restore` with `{"confirm": true}`, as `token`.
    pub async fn restore(&self, token: &str, id: &str) -> (u16, Value) {
        let confirm = Some(serde_json::json!({ "confirm": true }));
        self.call("POST", &format!("/api/v1/admin/backups/{id}/restore"), Some(token), confirm).await
    }

    /// A request with raw bytes, for malformed-input tests.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = awc::Client::default().request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        if let Some(kind) = content_type {
            request = request.insert_header(("Content-Type", kind));
        }
        let sent = match body {
            Some(bytes) => request.send_body(bytes).await,
            None => request.send().await,
        };
        let mut response = sent.expect("request sent");
        let bytes = response.body().limit(16 * 1024 * 1024).await.expect("body read");
        (response.status().as_u16(), bytes.to_vec())
    }

    /// Stops like SIGTERM does and returns how the run ended.
    pub async fn stop(self) -> Result<(), atlas::AppError> {
        self.stop_keeping_files().await.0
    }

    /// Stops, handing back the data directory so the test can inspect the files afterwards.
    pub async fn stop_keeping_files(mut self) -> (Result<(), atlas::AppError>, tempfile::TempDir) {
        if self.stop.take().unwrap().send(()).is_err() {
            // The app ended by itself and dropped its end of the channel; the result below says how.
            eprintln!("the app had already ended before it was asked to stop");
        }
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

/// Who a test asks the actors as (the audit trail names it).
pub fn tester() -> atlas_actors::domain::Actor {
    atlas_actors::domain::Actor::new("tester")
}
