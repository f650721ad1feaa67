//! Hostile tests of the Sheets mirror's invariants (a decision counts only from a row showing Atlas's
//! export; Atlas's own writes never make a decision; reviewer columns; nothing a human typed is lost
//! silently; quota; the sanitizer). Each test asserts the invariant, so it fails while it is broken.

use super::{client, cycle_with, reviewers, row_of, shared};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::domain::{Actor, ApprovalId, Command, NewProject, ProjectId, SystemClock};
use atlas_actors::sheets::client::{SheetInfo, SheetsClient};
use atlas_actors::sheets::contract::{ApprovalMode, Layout, Reviewer};
use atlas_actors::sheets::cycle::{CycleError, CycleReport, Mirror};
use atlas_actors::sheets::export::MirrorScope;
use atlas_actors::sheets::import::PARTIAL_MARK;
use atlas_actors::sheets::sanitize::{show, MAX_CELL_CHARS};
use serde_json::{json, Value};

const APPROVALS: &str = "Pending_Approvals";

pub(super) async fn request(team: &Team, title: &str) -> String {
    let project = team.project(&format!("p-{title}")).await;
    let body = json!({ "project_id": project, "title": title });
    let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "{approval}");
    approval["id"].as_str().unwrap().to_owned()
}

/// An approval as an approver reads it (a viewer's copy has its payload redacted).
pub(super) async fn approval(team: &Team, id: &str) -> Value {
    team.call("GET", &format!("/api/v1/approvals/{id}"), &team.approver, None).await.1
}

fn note_bodies(record: &Value) -> Vec<String> {
    record["notes"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap_or("").to_owned()).collect()
}

async fn sheet_errors(team: &Team, severity: &str) -> Vec<Value> {
    let (_, errors) = team.call("GET", &format!("/api/v1/errors?severity={severity}"), &team.viewer, None).await;
    errors["items"].as_array().unwrap().iter().filter(|e| e["source"] == "sheets").cloned().collect()
}

/// A cycle with a chosen scope (how much of the database the mirror shows).
async fn cycle_scoped(
    team: &Team,
    sheets: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
    layout: &Layout,
    scope: &MirrorScope,
) -> Result<CycleReport, CycleError> {
    let mirror = Mirror {
        client: sheets,
        readers: &team.app.handles.readers,
        writer: &team.app.handles.writer,
        clock: &SystemClock,
        scope,
        layout,
        owner: Some(crate::support::fake_sheets::OWNER),
        allow_self_approval: false,
        allow_partial_payload: false,
        requested_by: &atlas_actors::domain::Actor::new("sheets"),
    };
    mirror.cycle(structure).await
}

sheet_test! {
    /// Invariant 6: the sanitizing path never panics. A payload that is redacted (not cut), between 967 and
    /// 1000 characters, and that mentions " […truncated" early makes `payload_cell` subtract a tail longer
    /// than the room it has (usize underflow): every cycle fails from then on (in release: a cell over the
    /// limit that repeats the text).
    async fn a_redacted_payload_quoting_the_truncation_marker_does_not_break_the_mirror() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let writer = &team.app.handles.writer;
        // The quoted marker comes first in the payload (keys are sorted), the secret last.
        let description = |pad: usize| format!(" […truncated, see the runbook {} password=hunter2", "x".repeat(pad));
        let submit = |pad: usize| {
            let change = Command::CreateProject(NewProject {
                id: ProjectId::generate(),
                name: "p".into(),
                description: Some(description(pad)),
            });
            let id = ApprovalId::generate();
            (id.to_string(), Command::RequestApproval { id, change: Box::new(change) })
        };
        // Calibrate: how long the shown payload is for a short description.
        let (probe, command) = submit(100);
        writer.submit(command, Actor::new("agent-bot")).await.unwrap();
        let payload = approval(&team, &probe).await["payload"].to_string();
        let shown = show(&payload);
        assert!(shown.redacted && !shown.truncated, "{shown:?}");
        let target = 985; // redacted, not cut, longer than the room left after the partial mark
        let pad = 100 + target - shown.text.chars().count();
        let (id, command) = submit(pad);
        writer.submit(command, Actor::new("agent-bot")).await.unwrap();
        let payload = approval(&team, &id).await["payload"].to_string();
        let shown = show(&payload);
        assert!(shown.redacted && !shown.truncated && shown.text.chars().count() == target, "{shown:?}");

        let mut structure = None;
        let outcome = cycle_with(&team, &sheets, &mut structure, &shared()).await;
        assert!(outcome.is_ok(), "one agent request must not stop the mirror: {outcome:?}");
        let (_, cells) = row_of(&fake, APPROVALS, &id);
        assert!(cells[7].starts_with(PARTIAL_MARK), "{}", cells[7]);
        assert!(cells[7].chars().count() <= MAX_CELL_CHARS, "{} characters", cells[7].chars().count());
    }
}

sheet_test! {
    /// Invariant 4: a note typed in a run's row is not lost when the run leaves the mirror's scope (the
    /// newest `runs_shown`) before the next cycle: it must be imported, or refused with a note on the run.
    async fn a_note_on_a_run_that_scrolls_out_of_the_mirror_is_not_lost() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let project = team.project("ops").await;
        let task = team.task(&project, "Report", Some(vec!["echo", "hello"])).await;
        let run_once = || async {
            let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.agent, None).await;
            assert_eq!(status, 202, "{approval}");
            let id = approval["id"].as_str().unwrap().to_owned();
            let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
            assert_eq!(status, 200);
            team.finished_run(&task).await["id"].as_str().unwrap().to_owned()
        };
        let scope = MirrorScope { runs_shown: 1, ..MirrorScope::default() };
        let layout = shared();
        let first = run_once().await;
        let mut structure = None;
        cycle_scoped(&team, &sheets, &mut structure, &layout, &scope).await.unwrap();
        let (row, _) = row_of(&fake, "Runs", &first);
        fake.set_cell("Runs", row, 7, "output checked: the numbers are wrong, see ticket 42");
        let second = run_once().await; // the first run scrolls out of the newest-1 window
        assert_ne!(first, second);
        cycle_scoped(&team, &sheets, &mut structure, &layout, &scope).await.unwrap();
        cycle_scoped(&team, &sheets, &mut structure, &layout, &scope).await.unwrap();

        let (_, run) = team.call("GET", &format!("/api/v1/runs/{first}"), &team.viewer, None).await;
        let notes = note_bodies(&run);
        assert!(
            notes.iter().any(|n| n.contains("the numbers are wrong")),
            "the human's note vanished with the row (no note on the run): {notes:?}"
        );
    }
}

sheet_test! {
    /// Invariant 4: a note typed into a copy of a row (a human duplicated the row, then wrote in the copy)
    /// is removed with the copy; it must be kept on the record (imported, or refused with a note).
    async fn a_note_typed_in_a_duplicated_row_is_kept_on_the_record() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "harmless").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, cells) = row_of(&fake, APPROVALS, &id);
        let copy = fake.tab(APPROVALS).unwrap().rows.len();
        for (column, value) in cells.iter().enumerate() {
            fake.set_cell(APPROVALS, copy, column, value);
        }
        fake.set_cell(APPROVALS, copy, 6, "vendor confirmed the change window");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let notes = note_bodies(&approval(&team, &id).await);
        assert!(
            notes.iter().any(|n| n.contains("vendor confirmed the change window")),
            "the note typed in the copy vanished with it (only an audit event names it): {notes:?}"
        );
    }
}

sheet_test! {
    /// Invariant 4 (idempotency): a refused edit of an Atlas-owned cell is noted once, however often the
    /// cycle is retried (here the values write meets Google's quota and the cycle is deferred, then retried).
    async fn a_refused_atlas_cell_edit_is_noted_once_when_the_cycle_is_retried() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "harmless").await;
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, APPROVALS, &id);
        fake.set_cell(APPROVALS, row, 2, "delete");
        fake.fail_next_of("spreadsheets.batchUpdate", &[429]);
        let err = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        assert!(err.quota().is_some(), "{err}");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let notes = note_bodies(&approval(&team, &id).await);
        let refusals = notes.iter().filter(|n| n.contains("Sheet edit refused column Action")).count();
        let summaries = sheet_errors(&team, "medium").await.len();
        assert_eq!(
            refusals, 1,
            "one refusal note however often the cycle is retried ({summaries} hotlist summaries): {notes:?}"
        );
    }
}

sheet_test! {
    /// Invariant 3: a decision typed in a reviewer column while its protection had drifted must never count.
    /// Here bob writes in alice's (warning-only) column after the cycle read the sheet and before Atlas's
    /// repair request lands; the next cycle finds the protection intact and records bob's cell as alice's.
    async fn a_decision_typed_while_the_column_was_loose_does_not_count_after_the_repair() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "drop table").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, APPROVALS, &id);
        fake.change_protection("Atlas reviewer column: alice", |p| p.warning_only = true);

        // The repair reaches Google; just before it is applied (the column still loose), bob types.
        let typed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let outcome = typed.clone();
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            *outcome.lock().unwrap() = Some(state.edit_as("bob@example.com", APPROVALS, row, 8, "approved"));
        });
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.drifted_columns, ["alice"], "{report:?}");
        typed
            .lock()
            .unwrap()
            .take()
            .expect("the repair request was sent")
            .expect("bob could write in alice's loose column");
        let repaired =
            fake.protections().into_iter().find(|p| p.description.starts_with("Atlas reviewer column: alice")).unwrap();
        assert!(!repaired.warning_only, "Atlas repaired the protection: {repaired:?}");

        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let approval = approval(&team, &id).await;
        assert_eq!(
            (approval["status"].as_str(), approval["reviewed_by"].as_str()),
            (Some("pending"), None),
            "bob's cell, typed while alice's column was warning-only, was recorded as alice's decision: {approval}"
        );
    }
}

sheet_test! {
    /// Invariant 3: a drifted reviewer column yields one critical entry while unresolved, also when its
    /// header cell was changed in the same cycle (the column is then taken for a new one and its drift
    /// is repaired without a word).
    async fn a_drifted_column_whose_header_was_also_changed_is_still_reported() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        request(&team, "p").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        fake.change_protection("Atlas reviewer column: alice", |p| p.warning_only = true);
        fake.set_cell(APPROVALS, 0, 8, "alice (reviewer)");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let critical = sheet_errors(&team, "critical").await;
        let drift_entries =
            critical.iter().filter(|e| e["error"].as_str().unwrap_or("").contains("reviewer column")).count();
        assert!(
            report.drifted_columns == ["alice"] && drift_entries == 1,
            "the loosened column was not reported: {report:?} {critical:?}"
        );
    }
}

sheet_test! {
    /// Invariant 5 (a broken structure is repaired, the mirror keeps working): the owner removes Atlas's
    /// service account from a reviewer column's protection and edits its header. The cycle then puts the
    /// deletion of that protection (which Google refuses to Atlas) into the export's one structure request,
    /// so every cycle fails and nothing is ever repaired or exported again.
    async fn a_protection_atlas_cannot_delete_does_not_stop_every_cycle() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        request(&team, "p").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        fake.change_protection("Atlas reviewer column: alice", |p| p.users = vec!["alice@example.com".into()]);
        fake.set_cell(APPROVALS, 0, 8, "Alice");
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.push(cycle_with(&team, &sheets, &mut structure, &layout).await.map(|_| ()));
        }
        let later = request(&team, "later").await;
        let last = cycle_with(&team, &sheets, &mut structure, &layout).await;
        outcomes.push(last.clone().map(|_| ()));
        assert!(outcomes.iter().skip(1).all(Result::is_ok), "the mirror is stuck: {outcomes:?}");
        row_of(&fake, APPROVALS, &later);
        // Atlas cannot write anywhere in the column (its header included): it stays quarantined, reported.
        assert_eq!(last.unwrap().drifted_columns, ["alice"]);
    }
}

sheet_test! {
    /// Analogue of invariant 1 within one row: alice approves and bob rejects the same request in the same
    /// cycle. Atlas cannot know who was first; the approval must not go through on column order alone.
    async fn conflicting_reviewers_in_one_cycle_do_not_approve_by_column_order() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "drop table").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, APPROVALS, &id);
        fake.edit_as("alice@example.com", APPROVALS, row, 8, "approved").unwrap();
        fake.edit_as("bob@example.com", APPROVALS, row, 9, "rejected").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let status = approval(&team, &id).await["status"].as_str().unwrap().to_owned();
        assert_ne!(status, "approved", "bob's simultaneous rejection lost to alice's approval by column position");
    }
}

// ---- attacks that held (kept as regression tests) ----

sheet_test! {
    /// Decisions typed with odd case and spaces count; formulas, booleans and other words do not; a
    /// reviewer without an Atlas token decides nothing.
    async fn held_decision_spelling_formulas_booleans_and_missing_tokens() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let ids = [
            request(&team, "a").await,
            request(&team, "b").await,
            request(&team, "c").await,
            request(&team, "d").await,
            request(&team, "e").await,
        ];
        let layout = Layout::new(ApprovalMode::Reviewers(vec![
            Reviewer { token: "alice".into(), email: "alice@example.com".into() },
            Reviewer { token: "dave".into(), email: "dave@example.com".into() },
        ]));
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let typed = [
            (0, 8, "alice@example.com", " APPROVE "),
            (1, 8, "alice@example.com", "=\"approved\""),
            (2, 8, "alice@example.com", "TRUE"),
            (3, 8, "alice@example.com", "approved\u{200B}"),
            (4, 9, "dave@example.com", "approved"),
        ];
        for (i, column, who, value) in typed {
            let (row, _) = row_of(&fake, APPROVALS, &ids[i]);
            fake.edit_as(who, APPROVALS, row, column, value).unwrap();
        }
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let mut statuses = Vec::new();
        for id in &ids {
            statuses.push(approval(&team, id).await["status"].as_str().unwrap().to_owned());
        }
        assert_eq!(statuses, ["approved", "pending", "pending", "pending", "pending"]);
        let (_, refusals) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        assert!(refusals.to_string().contains("no Atlas token named dave"), "{refusals}");
    }
}

sheet_test! {
    /// Lookalike IDs (trailing space, zero-width space, another approval's ID typed over a row) decide
    /// nothing, and a Resolution typed on a row whose ID was swapped resolves nothing.
    async fn held_lookalike_ids_and_swapped_error_rows_decide_nothing() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (one, two) = (request(&team, "one").await, request(&team, "two").await);
        let mut errors = Vec::new();
        for text in ["disk full", "cert expired"] {
            let error = atlas_actors::domain::command::NewHotlistError {
                id: atlas_actors::domain::ErrorId::generate(),
                task_id: None,
                error: text.into(),
                severity: atlas_actors::domain::Severity::High,
                source: "health".into(),
            };
            errors.push(error.id.to_string());
            team.app.handles.writer.submit(Command::RecordError(error), Actor::system()).await.unwrap();
        }
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (r1, _) = row_of(&fake, APPROVALS, &one);
        let (r2, _) = row_of(&fake, APPROVALS, &two);
        fake.set_cell(APPROVALS, r1, 0, &format!("{one} "));
        fake.set_cell(APPROVALS, r1, 4, "approved");
        fake.set_cell(APPROVALS, r2, 0, &format!("{two}\u{200B}"));
        fake.set_cell(APPROVALS, r2, 4, "approved");
        let (e1, _) = row_of(&fake, "Errors_Hotlist", &errors[0]);
        let (e2, _) = row_of(&fake, "Errors_Hotlist", &errors[1]);
        fake.set_cell("Errors_Hotlist", e1, 0, &errors[1]);
        fake.set_cell("Errors_Hotlist", e2, 0, &errors[0]);
        fake.set_cell("Errors_Hotlist", e1, 5, "TRUE");
        fake.set_cell("Errors_Hotlist", e1, 6, "renewed the cert");
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        assert_eq!(approval(&team, &one).await["status"], "pending");
        assert_eq!(approval(&team, &two).await["status"], "pending");
        for id in &errors {
            let (_, error) = team.call("GET", &format!("/api/v1/errors/{id}"), &team.viewer, None).await;
            assert_eq!(error["resolved"], false, "{error}");
        }
    }
}

sheet_test! {
    /// A sort between the read and the write: every misplaced write carries its ID, nothing is approved,
    /// and the sheet converges.
    async fn held_a_sort_while_the_write_is_in_flight_approves_nothing() {
        for layout in [shared(), reviewers()] {
            let team = Team::new().await;
            let fake = FakeSheets::start().await;
            let sheets = client(&fake, team.app.dir.path()).await;
            let ids = [request(&team, "a").await, request(&team, "b").await, request(&team, "c").await];
            let mut structure = None;
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            let (status, _) =
                team.call("POST", &format!("/api/v1/approvals/{}/approve", ids[0]), &team.approver, None).await;
            assert_eq!(status, 200);
            // The human reverses the rows while Atlas's write is in flight (a sort, done with deletions only).
            fake.before_next("spreadsheets.batchUpdate", |state| {
                state.delete_row(APPROVALS, 1);
            });
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            for _ in 0..3 {
                cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            }
            for id in &ids[1..] {
                assert_eq!(approval(&team, id).await["status"], "pending");
            }
            let rows = fake.tab(APPROVALS).unwrap().rows;
            assert_eq!(rows.len(), 4, "{rows:?}");
        }
    }
}

sheet_test! {
    /// Invariant 4: an edit that waits (a Resolution typed before Resolved) is kept for the next cycle. Here a
    /// human deletes a stray row while Atlas's row deletion (by position) is in flight, so Atlas deletes the
    /// error's row instead, and the waiting Resolution disappears without a note or an event.
    async fn a_waiting_resolution_survives_a_row_deletion_that_lands_on_a_moved_row() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let error = atlas_actors::domain::command::NewHotlistError {
            id: atlas_actors::domain::ErrorId::generate(),
            task_id: None,
            error: "cert expired".into(),
            severity: atlas_actors::domain::Severity::High,
            source: "health".into(),
        };
        let id = error.id.to_string();
        team.app.handles.writer.submit(Command::RecordError(error), Actor::system()).await.unwrap();
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        fake.insert_blank_row("Errors_Hotlist", 1);
        fake.set_cell("Errors_Hotlist", 1, 0, "err-stray");
        let (row, _) = row_of(&fake, "Errors_Hotlist", &id);
        fake.set_cell("Errors_Hotlist", row, 6, "renewed the cert, Resolved to follow");
        // The human removes the stray row too, just as Atlas's deletion of it arrives.
        fake.before_next("spreadsheets.batchUpdate", |state| state.delete_row("Errors_Hotlist", 1));
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let (_, cells) = row_of(&fake, "Errors_Hotlist", &id);
        let (_, record) = team.call("GET", &format!("/api/v1/errors/{id}"), &team.viewer, None).await;
        let kept = cells.get(6).is_some_and(|c| c.contains("renewed the cert"))
            || note_bodies(&record).iter().any(|n| n.contains("renewed the cert"));
        assert!(kept, "the waiting Resolution vanished: sheet row {cells:?}, record {record}");
    }
}
