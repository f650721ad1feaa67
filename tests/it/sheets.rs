//! The Sheets export against a fake Google Sheets server, driven by the real google-sheets4 client.
//! Covers the export, the import, the full human loop and the fault cases.

use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use crate::writer::submit_concurrently;
use atlas_actors::domain::command::NewHotlistError;
use atlas_actors::domain::{Actor, ApprovalId, Command, ErrorId, NewProject, ProjectId, Severity, SystemClock};
use atlas_actors::sheets::client::{SheetInfo, SheetsClient, SheetsConfig};
use atlas_actors::sheets::contract::{ApprovalMode, Layout, Reviewer};
use atlas_actors::sheets::cycle::{CycleError, CycleReport, Mirror};
use atlas_actors::sheets::export::{desired_rows, export, MirrorScope};
use std::time::Duration;

mod attacks;
mod binding;
mod connections;
mod limits;
mod loose_columns;
mod lost_receipts;
mod moved_rows;
mod resolve_role;
mod retyped;
mod reviewers;
mod service;
mod settle_attacks;

/// The seed contract's shared Status column, decisions recorded as `alice` (an approver's token).
pub fn shared() -> Layout {
    Layout::new(ApprovalMode::Shared { reviewer: "alice".into() })
}

/// Reviewer columns for alice and bob (both approvers in `Team`).
pub fn reviewers() -> Layout {
    Layout::new(ApprovalMode::Reviewers(vec![
        Reviewer { token: "alice".into(), email: "alice@example.com".into() },
        Reviewer { token: "bob".into(), email: "bob@example.com".into() },
    ]))
}

/// Records a hotlist entry of `severity` (as Health would) and answers its id.
pub async fn record_error(team: &Team, text: &str, severity: Severity) -> String {
    let error = NewHotlistError {
        id: ErrorId::generate(),
        task_id: None,
        error: text.into(),
        severity,
        source: "health".into(),
    };
    let id = error.id.to_string();
    team.app.handles.writer.submit(Command::RecordError(error), Actor::system()).await.unwrap();
    id
}

/// What the mirror should show now, laid out as `layout` says.
pub async fn desired(team: &Team, layout: &Layout) -> [Vec<atlas_actors::sheets::plan::Row>; 3] {
    desired_rows(&team.app.handles.readers, layout, &MirrorScope::default(), chrono::Utc::now()).await.unwrap()
}

/// Settings for a service whose Sheets mirror is the fake, in a fresh temp dir.
pub fn service_settings(fake: &FakeSheets) -> (tempfile::TempDir, atlas::settings::Settings) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings.sheets.enabled = true;
    settings.sheets.spreadsheet_id = "sheet-1".into();
    settings.sheets.credentials_file = fake.credentials(dir.path());
    settings.sheets.api_base_url = fake.url.clone();
    (dir, settings)
}

/// A team, a fake Sheets server and a client for it.
pub async fn start() -> (Team, FakeSheets, SheetsClient) {
    let team = Team::new().await;
    let fake = FakeSheets::start().await;
    let sheets = client(&fake, team.app.dir.path()).await;
    (team, fake, sheets)
}

pub async fn client(fake: &FakeSheets, dir: &std::path::Path) -> SheetsClient {
    client_with(fake, dir, Duration::from_secs(5), 3).await
}

async fn client_with(fake: &FakeSheets, dir: &std::path::Path, timeout: Duration, attempts: u32) -> SheetsClient {
    client_limited(fake, dir, timeout, attempts, 20_000).await
}

/// A client whose tabs may have at most `max_rows` rows.
pub async fn client_limited(
    fake: &FakeSheets,
    dir: &std::path::Path,
    timeout: Duration,
    attempts: u32,
    max_rows: usize,
) -> SheetsClient {
    SheetsClient::connect(SheetsConfig {
        spreadsheet_id: "sheet-1".into(),
        credentials_file: fake.credentials(dir),
        api_base_url: fake.url.clone(),
        request_timeout: timeout,
        max_attempts: attempts,
        backoff_base: Duration::from_millis(5),
        max_rows,
    })
    .await
    .unwrap()
}

/// A team, a fake spreadsheet, a client, and one pending approval with the rows the mirror should show.
async fn one_pending_approval() -> (Team, FakeSheets, SheetsClient, [Vec<atlas_actors::sheets::plan::Row>; 3]) {
    let team = Team::new().await;
    let fake = FakeSheets::start().await;
    let sheets = client(&fake, team.app.dir.path()).await;
    team.app.handles.writer.submit(request_project("p"), Actor::new("agent-bot")).await.unwrap();
    let desired = desired(&team, &shared()).await;
    (team, fake, sheets, desired)
}

pub fn request_project(name: &str) -> Command {
    let change = Command::CreateProject(NewProject { id: ProjectId::generate(), name: name.into(), description: None });
    Command::RequestApproval { id: ApprovalId::generate(), change: Box::new(change) }
}

sheet_test! {
    async fn the_first_export_builds_the_tabs_and_a_no_change_export_writes_nothing() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let writer = &team.app.handles.writer;
        writer.submit(request_project("Platform"), Actor::new("agent-bot")).await.unwrap();
        let secret = NewHotlistError {
            id: ErrorId::generate(),
            task_id: None,
            error: "deploy failed: password=hunter2 rejected".into(),
            severity: Severity::High,
            source: "runner".into(),
        };
        writer.submit(Command::RecordError(secret), Actor::system()).await.unwrap();

        let mut structure = None;
        let now = chrono::Utc::now();
        let layout = Layout::default();
        let desired = desired_rows(&team.app.handles.readers, &layout, &MirrorScope::default(), now).await.unwrap();
        let report = export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        assert_eq!(report.tabs_created, 3);
        assert_eq!(fake.calls(), ["spreadsheets.get", "spreadsheets.batchUpdate"], "tabs, guard rails and rows in one request");
        assert_eq!(fake.guard_rails(), 8, "a dropdown, ID and Status protected strictly, five warning-only ranges");
        assert!(fake.protections().iter().any(|p| p.description.starts_with("Atlas outcome column: Status")
            && !p.warning_only
            && p.users == [crate::support::fake_sheets::SERVICE_ACCOUNT]));
        let approvals = fake.tab("Pending_Approvals").unwrap();
        assert_eq!(approvals.rows[0], ["ID", "Type", "Action", "Item", "Status", "Requested", "Notes", "Payload"]);
        assert_eq!((approvals.rows[1][1].as_str(), approvals.rows[1][4].as_str()), ("project", "pending"));
        let errors = fake.tab("Errors_Hotlist").unwrap();
        assert_eq!(errors.rows[1][2], "deploy failed: password=[REDACTED] rejected");
        assert_eq!(errors.rows[1][5], "false");
        assert_eq!(fake.tab("Runs").unwrap().rows.len(), 1, "header only");

        for expected in [vec!["spreadsheets.get", "spreadsheets.get"], vec!["spreadsheets.get"]] {
            fake.reset_calls();
            let report = export(&sheets, &mut structure, &layout, &desired).await.unwrap();
            assert_eq!(report.cells_written + report.rows_deleted, 0);
            assert_eq!(fake.calls(), expected, "a no-change cycle only reads, once");
        }
    }
}

sheet_test! {
    async fn rows_are_matched_by_id_and_human_damage_to_system_cells_is_repaired() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        for name in ["a", "b", "c"] {
            team.app.handles.writer.submit(request_project(name), Actor::new("agent-bot")).await.unwrap();
        }
        let mut structure = None;
        let layout = shared();
        let desired = desired(&team, &layout).await;
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();

        // A human sorts the rows, damages a system cell, types a status and adds a stray row.
        let before = fake.tab("Pending_Approvals").unwrap().rows;
        let first_id = before[1][0].clone();
        fake.set_cell("Pending_Approvals", 1, 0, &before[3][0]);
        fake.set_cell("Pending_Approvals", 3, 0, &first_id);
        for (column, value) in before[3].iter().enumerate().skip(1) {
            fake.set_cell("Pending_Approvals", 1, column, value);
        }
        for (column, value) in before[1].iter().enumerate().skip(1) {
            fake.set_cell("Pending_Approvals", 3, column, value);
        }
        fake.set_cell("Pending_Approvals", 2, 7, "=IMPORTXML(\"http://evil\")");
        fake.set_cell("Pending_Approvals", 2, 4, "approved");
        fake.set_cell("Pending_Approvals", 4, 0, "approval-made-up");

        let report = export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        assert_eq!(report.rows_deleted, 1, "the unknown row is removed");
        let after = fake.tab("Pending_Approvals").unwrap().rows;
        assert_eq!(after.len(), 4);
        assert_eq!(after[1][0], before[3][0], "the human's sort order is kept");
        assert_eq!(after[2][7], before[2][7], "the payload is restored from the database");
        assert_eq!(after[2][4], "approved", "an editable cell is left for the import to judge");

        // A human deletes a row and inserts a blank one: the row comes back, the blank row is left alone.
        let deleted = after[3][0].clone();
        fake.delete_row("Pending_Approvals", 3);
        fake.insert_blank_row("Pending_Approvals", 1);
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        let rows = fake.tab("Pending_Approvals").unwrap().rows;
        assert_eq!(rows.len(), 5, "{rows:?}");
        assert!(rows[1].is_empty() && rows[4][0] == deleted, "{rows:?}");
    }
}

sheet_test! {
    async fn ten_thousand_rows_go_out_within_the_request_budget() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let commands = (0..10_000).map(|i| request_project(&format!("project {i}"))).collect();
        let results = submit_concurrently(&team.app.handles, commands).await;
        assert!(results.iter().all(Result::is_ok));

        let started = std::time::Instant::now();
        let mut structure = None;
        let layout = Layout::default();
        let desired = desired(&team, &layout).await;
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        let calls = fake.calls();
        println!("10,000-row first export: {:?}, {} requests: {calls:?}", started.elapsed(), calls.len());
        // Split only by the 2 MB request size: about 1.2 MB of cells per 1,000 rows here.
        assert!(calls.iter().all(|c| c == "spreadsheets.get" || c == "spreadsheets.batchUpdate"), "{calls:?}");
        assert!(calls.len() <= 6, "{calls:?}");
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows.len(), 10_001);

        fake.reset_calls();
        let started = std::time::Instant::now();
        let report = export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        println!("10,000-row no-change export: {:?}, {} requests", started.elapsed(), fake.calls().len());
        assert_eq!(report.cells_written, 0);
        assert_eq!(fake.calls(), ["spreadsheets.get", "spreadsheets.get"]);
    }
}

sheet_test! {
    async fn quota_and_server_errors_are_retried_and_a_lost_reply_duplicates_nothing() {
        let (team, fake, sheets, desired) = one_pending_approval().await;

        let mut structure = None;
        let layout = shared();
        fake.fail_next(&[503, 500]);
        export(&sheets, &mut structure, &layout, &desired).await.expect("two server errors on a read are retried");
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows.len(), 2);

        fake.fail_next(&[500, 500, 500]);
        let err = export(&sheets, &mut structure, &layout, &desired).await.unwrap_err();
        assert!(err.is_transient() && err.to_string().contains("500"), "{err}");

        fake.reset_calls();
        fake.fail_next(&[429]);
        let err = export(&sheets, &mut None, &layout, &desired).await.unwrap_err();
        assert!(err.quota().is_some(), "{err}");
        assert_eq!(fake.calls().len(), 1, "quota is never retried within a call: the cycle is deferred instead");

        team.app.handles.writer.submit(request_project("q"), Actor::new("agent-bot")).await.unwrap();
        let mut structure = None;
        fake.reset_calls();
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        // A write is applied but its reply is lost: the next export finds the rows there and adds none.
        let again = crate::sheets::desired(&team, &layout).await;
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        export(&sheets, &mut structure, &layout, &again).await.ok();
        export(&sheets, &mut structure, &layout, &again).await.unwrap();
        let rows = fake.tab("Pending_Approvals").unwrap().rows;
        let ids: std::collections::HashSet<&String> = rows.iter().skip(1).map(|r| &r[0]).collect();
        assert_eq!((rows.len(), ids.len()), (3, 2), "no duplicated rows: {rows:?}");
    }
}

sheet_test! {
    async fn a_renamed_tab_is_renamed_back_within_the_cycle_that_finds_it_and_a_silent_server_times_out() {
        let (team, fake, sheets, desired) = one_pending_approval().await;
        let layout = shared();
        let mut structure = None;
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        export(&sheets, &mut structure, &layout, &desired).await.unwrap();

        fake.rename_tab("Pending_Approvals", "Approvals (old)");
        fake.reset_calls();
        let report = export(&sheets, &mut structure, &layout, &desired).await.unwrap();
        assert_eq!(
            &fake.calls()[..4],
            ["spreadsheets.get", "spreadsheets.get", "spreadsheets.batchUpdate", "spreadsheets.get"],
            "the cached structure failed, was read again, the tab renamed back, then the tabs read"
        );
        assert_eq!(report.tabs_created, 0);
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows.len(), 2, "the contract's tab is back with its row");
        assert!(fake.tab("Approvals (old)").is_none(), "found by its guard rail and renamed back");
        // A tab of the name made again by a person: the renamed one is left alone, the new one taken over.
        fake.rename_tab("Pending_Approvals", "Approvals (old)");
        fake.add_tab("Pending_Approvals");
        export(&sheets, &mut None, &layout, &desired).await.unwrap();
        assert!(fake.tab("Approvals (old)").is_some());
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows.len(), 2);

        let slow = client_with(&fake, team.app.dir.path(), Duration::from_millis(100), 2).await;
        fake.set_delay(Some(Duration::from_millis(400)));
        let err = export(&slow, &mut None, &layout, &desired).await.unwrap_err();
        assert!(err.to_string().contains("did not answer within"), "{err}");
        assert_eq!(slow.requests(), 2, "each attempt counted, at most max_attempts");
    }
}

/// One import-then-export cycle as the SheetsSync actor runs it, in shared mode.
async fn cycle(
    team: &Team,
    sheets: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
) -> Result<CycleReport, CycleError> {
    cycle_with(team, sheets, structure, &shared()).await
}

/// One cycle with the given layout.
pub async fn cycle_with(
    team: &Team,
    sheets: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
    layout: &Layout,
) -> Result<CycleReport, CycleError> {
    let scope = MirrorScope::default();
    let mirror = Mirror {
        client: sheets,
        readers: &team.app.handles.readers,
        writer: &team.app.handles.writer,
        clock: &SystemClock,
        scope: &scope,
        layout,
        owner: Some(crate::support::fake_sheets::OWNER),
        allow_self_approval: false,
        allow_partial_payload: false,
        requested_by: &atlas_actors::domain::Actor::new("sheets"),
    };
    mirror.cycle(structure).await
}

pub fn row_of(fake: &FakeSheets, tab: &str, id: &str) -> (usize, Vec<String>) {
    let rows = fake.tab(tab).unwrap().rows;
    let index = rows
        .iter()
        .position(|r| r.first().map(String::as_str) == Some(id))
        .unwrap_or_else(|| panic!("{id} not in {tab}: {rows:?}"));
    (index, rows[index].clone())
}

sheet_test! {
    async fn the_human_loop_an_approval_made_in_the_sheet_applies_like_one_made_over_http() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let project = team.project("ops").await;
        let (_, approval) = team
            .call(
                "POST",
                "/api/v1/tasks",
                &team.agent,
                Some(serde_json::json!({ "project_id": project, "title": "Rotate keys" })),
            )
            .await;
        let id = approval["id"].as_str().unwrap().to_owned();
        let task = approval["item_id"].as_str().unwrap().to_owned();
        let mut structure = None;
        let layout = reviewers();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, cells) = row_of(&fake, "Pending_Approvals", &id);
        assert_eq!(cells[4], "pending");
        assert_eq!(fake.tab("Pending_Approvals").unwrap().rows[0][8..], ["alice", "bob"], "a column per reviewer");

        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").expect("alice's own column");
        fake.edit_as("carol@example.com", "Pending_Approvals", row, 6, "checked with the team").expect("Notes are open");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, refusals) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        assert_eq!((report.edits_applied, report.edits_refused), (2, 0), "{report:?} {refusals}");
        let (status, created) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
        assert_eq!((status, created["approved_by"].as_str()), (200, Some("alice")), "the person, not `sheets`: {created}");
        let (_, events) = team.call("GET", "/api/v1/audit?type=approval.approved", &team.viewer, None).await;
        let event = &events["items"][0];
        assert_eq!(event["actor"], "alice", "{events}");
        assert!(event.to_string().contains("sheet column I (alice@example.com)"), "{event}");
        let (_, approved) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
        assert_eq!(approved["status"], "approved");
        assert_eq!(
            (approved["notes"][0]["author"].as_str(), approved["notes"][0]["body"].as_str()),
            (Some("sheets"), Some("checked with the team"))
        );
        let (_, cells) = row_of(&fake, "Pending_Approvals", &id);
        assert_eq!((cells[4].as_str(), cells[8].as_str()), ("approved", "approved"));
        assert!(
            cells[6].starts_with("sheets (") && cells[6].ends_with("): checked with the team"),
            "notes re-rendered from history: {}",
            cells[6]
        );

        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        fake.reset_calls();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!((report.edits_applied, report.export.cells_written), (0, 0));
        assert_eq!(fake.calls(), ["spreadsheets.get"], "a quiet cycle reads once and writes nothing");
    }
}

sheet_test! {
    async fn refused_sheet_edits_are_explained_restored_and_audited() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let project = team.project("ops").await;
        let mut ids = Vec::new();
        for title in ["one", "two"] {
            let (_, approval) = team
                .call(
                    "POST",
                    "/api/v1/tasks",
                    &team.agent,
                    Some(serde_json::json!({ "project_id": project, "title": title })),
                )
                .await;
            ids.push(approval["id"].as_str().unwrap().to_owned());
        }
        let mut structure = None;
        cycle(&team, &sheets, &mut structure).await.unwrap();
        team.call("POST", &format!("/api/v1/approvals/{}/reject", ids[1]), &team.approver, None).await;
        cycle(&team, &sheets, &mut structure).await.unwrap();

        let (one, original) = row_of(&fake, "Pending_Approvals", &ids[0]);
        let (two, _) = row_of(&fake, "Pending_Approvals", &ids[1]);
        fake.set_cell("Pending_Approvals", one, 2, "delete"); // a system column
        fake.set_cell("Pending_Approvals", one, 6, "=IMPORTXML(\"http://evil.example\",\"//a\")"); // a formula
        fake.set_cell("Pending_Approvals", two, 4, "approved"); // rejected -> approved
        fake.set_cell("Pending_Approvals", 5, 0, "approval-invented"); // an unknown row
        let report = cycle(&team, &sheets, &mut structure).await.unwrap();
        let (_, refusals) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        assert_eq!((report.edits_applied, report.edits_refused), (0, 4), "{report:?} {refusals}");

        let (_, restored) = row_of(&fake, "Pending_Approvals", &ids[0]);
        assert_eq!(restored[2], original[2], "the system cell is restored");
        assert!(!restored[6].contains("IMPORTXML"), "the formula is gone: {}", restored[6]);
        assert!(restored[6].contains("Sheet edit refused column Action"), "the explanation is in Notes: {}", restored[6]);
        let (_, two_now) = row_of(&fake, "Pending_Approvals", &ids[1]);
        assert_eq!(two_now[4], "rejected");
        assert!(fake
            .tab("Pending_Approvals")
            .unwrap()
            .rows
            .iter()
            .all(|r| r.first().map(String::as_str) != Some("approval-invented")));
        let (_, rejected) = team.call("GET", &format!("/api/v1/approvals/{}", ids[1]), &team.viewer, None).await;
        assert_eq!(rejected["status"], "rejected", "the database kept its state");

        let (_, hotlist) = team.call("GET", "/api/v1/errors?severity=medium", &team.viewer, None).await;
        let entries: Vec<&serde_json::Value> =
            hotlist["items"].as_array().unwrap().iter().filter(|e| e["source"] == "sheets").collect();
        assert_eq!(entries.len(), 1, "one summary per tab per cycle, not one entry per refusal: {hotlist}");
        assert!(entries[0]["error"].as_str().unwrap().starts_with("4 sheet edit(s) refused in Pending_Approvals"));
        let (_, audit) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 4, "each refusal is audited on its own");
    }
}

sheet_test! {
    async fn a_renamed_tab_is_reported_once_and_failed_cycles_lose_no_approval() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        team.app.handles.writer.submit(request_project("p"), Actor::new("agent-bot")).await.unwrap();
        let mut structure = None;
        cycle(&team, &sheets, &mut structure).await.unwrap();

        fake.rename_tab("Runs", "Runs old");
        fake.set_cell("Errors_Hotlist", 0, 9, "My column");
        let mut structure = None;
        let report = cycle(&team, &sheets, &mut structure).await.unwrap();
        assert_eq!(report.broken_tabs.len(), 1, "the renamed tab was renamed back: {report:?}");
        assert!(fake.tab("Runs").is_some() && fake.tab("Runs old").is_none(), "the tab is back");
        let header = fake.tab("Errors_Hotlist").unwrap().rows[0].clone();
        assert!(header.iter().skip(8).all(String::is_empty), "the added column is cleared: {header:?} {:?}", fake.calls());
        fake.delete_tab("Runs");
        let report = cycle(&team, &sheets, &mut None).await.unwrap();
        assert_eq!(report.broken_tabs.len(), 1, "a deleted tab is recreated and reported: {report:?}");
        fake.delete_tab("Runs");
        let report = cycle(&team, &sheets, &mut None).await.unwrap();
        assert_eq!(report.broken_tabs.len(), 1, "{report:?}");
        let (_, critical) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
        assert_eq!(critical["items"].as_array().unwrap().len(), 2, "each standing problem is reported once: {critical}");

        let id = fake.tab("Pending_Approvals").unwrap().rows[1][0].clone();
        fake.set_cell("Pending_Approvals", 1, 4, "approved");
        for storm in [vec![429], vec![503, 500, 503]] {
            fake.fail_next(&storm);
            let err = cycle(&team, &sheets, &mut structure).await.unwrap_err();
            assert!(err.to_string().contains("Google Sheets answered"), "{err}");
        }
        let (_, pending) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
        assert_eq!(pending["status"], "pending", "nothing applied while the sheet could not be read");
        let report = cycle(&team, &sheets, &mut structure).await.unwrap();
        assert_eq!(report.edits_applied, 1);
        let (_, approved) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
        assert_eq!(approved["status"], "approved", "the human's approval survived the storms");
        let (_, projects) = team.call("GET", "/api/v1/projects", &team.viewer, None).await;
        assert_eq!(projects["items"].as_array().unwrap().len(), 1, "applied exactly once");
    }
}
