//! The test-facing side of the fake: starting it, the service-account key, reading tabs and protections,
//! and acting as a person (edits, row moves, protection changes, injected failures and lost replies).

use super::{api, token, FakeProtection, State, Tab, OWNER, SERVICE_ACCOUNT};
use actix_web::{web, App, HttpServer};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::FakeSheets;

impl FakeSheets {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State { model: super::current_model(), ..State::default() }));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/token", web::post().to(token))
                .default_service(web::to(api))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server); // stops with the test's System
        Self { state, url }
    }

    /// A service-account key file whose `token_uri` is this fake (any RSA key will do for a fake).
    pub fn credentials(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let key = include_str!("test_rsa_key.pem");
        let file = dir.join("service-account.json");
        let body = json!({
            "type": "service_account",
            "project_id": "atlas-test",
            "private_key_id": "test",
            "private_key": key,
            "client_email": SERVICE_ACCOUNT,
            "client_id": "1",
            "auth_uri": format!("{}auth", self.url),
            "token_uri": format!("{}token", self.url),
        });
        std::fs::write(&file, body.to_string()).unwrap();
        file
    }

    pub fn tab(&self, title: &str) -> Option<Tab> {
        self.state.lock().unwrap().tabs.iter().find(|t| t.title == title).cloned()
    }

    /// The owner edits one cell (0-based row and column), adding columns first when it is past the grid
    /// (as the browser lets an owner do).
    pub fn set_cell(&self, title: &str, row: usize, column: usize, value: &str) {
        let mut state = self.state.lock().unwrap();
        let tab = state.tab_mut(title).unwrap();
        tab.column_count = tab.column_count.max(column + 1);
        tab.row_count = tab.row_count.max(row + 1);
        let range = format!("'{title}'!{}{}", (b'A' + column as u8) as char, row + 1);
        state.write_as(OWNER, &range, &[vec![Value::String(value.into())]]).ok().unwrap();
    }

    /// A person edits one cell in the browser; Google refuses a cell protected from them (as it would).
    pub fn edit_as(&self, user: &str, title: &str, row: usize, column: usize, value: &str) -> Result<(), String> {
        let mut state = self.state.lock().unwrap();
        let range = format!("'{title}'!{}{}", (b'A' + column as u8) as char, row + 1);
        state.write_as(user, &range, &[vec![Value::String(value.into())]]).map_err(|e| e.message)
    }

    /// The protected ranges, as Google holds them.
    pub fn protections(&self) -> Vec<FakeProtection> {
        self.state.lock().unwrap().protections.clone()
    }

    /// The owner changes a protected range (warning-only, other editors, another column…).
    pub fn change_protection(&self, description_starts: &str, change: impl FnOnce(&mut FakeProtection)) {
        let mut state = self.state.lock().unwrap();
        let p =
            state.protections.iter_mut().find(|p| p.description.starts_with(description_starts)).expect("protection");
        change(p);
    }

    /// Runs `action` (a human's edit) when the next request of Google method `call` arrives, before it
    /// is applied: an edit made while Atlas's request is in flight.
    pub fn before_next(&self, call: &str, action: impl FnOnce(&mut State) + Send + 'static) {
        self.state.lock().unwrap().before_next = Some((call.to_owned(), Box::new(action)));
    }

    /// The next requests of Google method `call` fail with these statuses, in order.
    pub fn fail_next_of(&self, call: &str, codes: &[u16]) {
        self.state.lock().unwrap().failures_of.extend(codes.iter().map(|c| (call.to_owned(), *c)));
    }

    /// The next request of Google method `call` is applied, but its reply is lost.
    pub fn lose_next_reply_of(&self, call: &str) {
        self.state.lock().unwrap().lose_reply_of = Some(call.to_owned());
    }

    /// Injected 429s carry `Retry-After: seconds`.
    pub fn set_retry_after(&self, seconds: Option<u64>) {
        self.state.lock().unwrap().retry_after = seconds;
    }

    /// A human deletes a row (0-based) or inserts an empty one before it.
    pub fn delete_row(&self, title: &str, row: usize) {
        self.state.lock().unwrap().delete_row(title, row);
    }

    pub fn insert_blank_row(&self, title: &str, row: usize) {
        self.state.lock().unwrap().insert_blank_row(title, row);
    }

    pub fn rename_tab(&self, from: &str, to: &str) {
        self.state.lock().unwrap().tab_mut(from).unwrap().title = to.into();
    }

    /// A person moves a column of a tab so it ends at index `to`.
    pub fn move_column(&self, title: &str, from: usize, to: usize) {
        let mut state = self.state.lock().unwrap();
        let id = state.tab_mut(title).unwrap().id;
        assert!(state.move_column(id, from, to).is_ok(), "column {from} of {title} moves");
    }

    /// A person adds an empty tab.
    pub fn add_tab(&self, title: &str) {
        self.state.lock().unwrap().add_tab(title, 1000);
    }

    /// A person deletes a tab (its protected ranges go with it).
    pub fn delete_tab(&self, title: &str) {
        let mut state = self.state.lock().unwrap();
        let id = state.tab_mut(title).unwrap().id;
        state.tabs.retain(|t| t.id != id);
        state.protections.retain(|p| p.sheet_id != id);
    }

    /// API calls made so far, by Google method name.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Dropdowns and protected ranges set so far.
    pub fn guard_rails(&self) -> usize {
        self.state.lock().unwrap().guard_rails
    }

    pub fn reset_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// The next requests fail with these statuses, in order.
    pub fn fail_next(&self, codes: &[u16]) {
        self.state.lock().unwrap().failures.extend(codes);
    }

    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.lock().unwrap().delay = delay;
    }
}
