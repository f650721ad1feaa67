//! No window in which a reviewer column is loose and its content can later count (issue 24): a row
//! inserted above the first request opens nothing (protections cover whole columns); a value typed while
//! a column was loose never counts, whatever becomes of the hotlist entry or the protection, until Atlas
//! has repaired the protection and cleared the column in one request.

use super::attacks::{approval, request};
use super::{client, cycle_with, reviewers, row_of};
use crate::api::Team;
use crate::support::fake_sheets::{FakeSheets, SERVICE_ACCOUNT};
use serde_json::json;

const APPROVALS: &str = "Pending_Approvals";
const ALICE: usize = 8;
const BOB: usize = 9;

/// Resolves every unresolved critical Sheets entry, as any approver may (Atlas's own alert asks for it).
async fn resolve_sheet_entries(team: &Team) {
    let (_, errors) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
    for entry in errors["items"].as_array().unwrap().iter().filter(|e| e["source"] == "sheets") {
        if entry["resolved_at"].is_null() {
            let path = format!("/api/v1/errors/{}/resolve", entry["id"].as_str().unwrap());
            let body = json!({ "resolution": "looked at it" });
            let (code, answer) = team.call("POST", &path, &team.approver, Some(body)).await;
            assert_eq!(code, 200, "{answer}");
        }
    }
}

sheet_test! {
    /// The critical attack of issue 24: a plain editor inserts a row above the first request. With
    /// protections that start at row 2, Google moves them down and row 2 of every reviewer column is open
    /// to everyone; whole-column protections take the new row in.
    async fn an_inserted_row_opens_no_reviewer_column() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "rm -rf /srv/data_1").await;
        let layout = reviewers();
        let mut structure = None;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        fake.insert_blank_row(APPROVALS, 1);
        let (row, cells) = row_of(&fake, APPROVALS, &id);
        // Mallory (an editor, no Atlas token) copies the request's row into the new row 2, approved in
        // alice's column, and clears the real row's ID.
        let mut refused = Vec::new();
        for (column, value) in cells.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            let value = if column == ALICE { "approved" } else { value.as_str() };
            if fake.edit_as("mallory@example.com", APPROVALS, 1, column, value).is_err() {
                refused.push(column);
            }
        }
        if fake.edit_as("mallory@example.com", APPROVALS, 1, ALICE, "approved").is_err() {
            refused.push(ALICE);
        }
        assert!(fake.edit_as("mallory@example.com", APPROVALS, row, 0, "").is_err(), "the ID column is Atlas's");
        assert!(refused.contains(&ALICE), "row 2 of alice's column is open to mallory after an inserted row");
        for _ in 0..2 {
            let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            assert!(report.drifted_columns.is_empty(), "an inserted row loosens nothing: {report:?}");
        }
        let approval = approval(&team, &id).await;
        assert_eq!(approval["status"], "pending", "{approval}");
    }
}

sheet_test! {
    /// A value typed in a loose column (and typed again while Atlas repairs it) never counts, even once
    /// an approver has resolved the hotlist entry: Atlas repairs and clears the column in one request.
    async fn a_value_typed_while_a_column_was_loose_never_counts_whatever_becomes_of_the_entry() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "drop table").await;
        let layout = reviewers();
        let mut structure = None;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let (row, _) = row_of(&fake, APPROVALS, &id);
        fake.change_protection("Atlas reviewer column: alice", |p| p.warning_only = true);
        fake.edit_as("mallory@example.com", APPROVALS, row, ALICE, "approved").unwrap();
        // Mallory retypes while Atlas's repair is on its way (the moment the old design left open).
        let retyped = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = retyped.clone();
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            *slot.lock().unwrap() = Some(state.edit_as("mallory@example.com", APPROVALS, row, ALICE, "Approved"));
        });
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.drifted_columns, ["alice"], "{report:?}");
        let typed = retyped.lock().unwrap().take();
        assert!(matches!(typed, Some(Ok(()))), "mallory retyped while the repair was on its way: {typed:?}");
        assert_eq!(row_of(&fake, APPROVALS, &id).1[ALICE], "", "nothing typed while loose survives the repair");
        assert!(fake.edit_as("mallory@example.com", APPROVALS, row, ALICE, "approved").is_err(), "protected again");
        resolve_sheet_entries(&team).await;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let decided = approval(&team, &id).await;
        assert_eq!((decided["status"].as_str(), decided["reviewed_by"].as_str()), (Some("pending"), None), "{decided}");
        fake.edit_as("alice@example.com", APPROVALS, row, ALICE, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(approval(&team, &id).await["status"], "approved", "alice decides once her column is cleared");
    }
}

sheet_test! {
    /// A column Atlas cannot repair stays quarantined in Atlas's own state: a person resolving the entry
    /// and repairing the protection by hand (the typed value still in the cell) does not make it count.
    async fn a_quarantine_outlasts_a_resolved_entry_and_a_hand_repair_until_atlas_clears_the_column() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "truncate").await;
        let layout = reviewers();
        let mut structure = None;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let (row, _) = row_of(&fake, APPROVALS, &id);
        // The owner lets mallory in and drops Atlas: Atlas can neither repair the range nor clear the cell.
        fake.change_protection("Atlas reviewer column: alice", |p| {
            p.users = vec!["alice@example.com".into(), "mallory@example.com".into()]
        });
        fake.edit_as("mallory@example.com", APPROVALS, row, ALICE, "approved").unwrap();
        for _ in 0..2 {
            let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            assert_eq!(report.drifted_columns, ["alice"], "{report:?}");
        }
        resolve_sheet_entries(&team).await;
        fake.change_protection("Atlas reviewer column: alice", |p| {
            p.users = vec!["alice@example.com".into(), SERVICE_ACCOUNT.into()]
        });
        assert_eq!(row_of(&fake, APPROVALS, &id).1[ALICE], "approved", "mallory's value is still there");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.drifted_columns, ["alice"], "still quarantined until Atlas cleared it: {report:?}");
        assert_eq!(row_of(&fake, APPROVALS, &id).1[ALICE], "", "Atlas cleared the column");
        for _ in 0..2 {
            let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            assert!(report.drifted_columns.is_empty(), "{report:?}");
        }
        let decided = approval(&team, &id).await;
        assert_eq!(decided["status"], "pending", "mallory's value never counted as alice's: {decided}");
    }
}

sheet_test! {
    /// A reviewer added later (bob, column J): a value mallory types in J while the cycle that adds the
    /// column is protecting it never counts: a new column is protected and cleared in one request, and
    /// decides nothing until then.
    async fn a_value_typed_while_a_new_reviewer_column_is_being_protected_never_counts() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "drop database").await;
        let alice_only = atlas_actors::sheets::contract::Layout::new(
            atlas_actors::sheets::contract::ApprovalMode::Reviewers(vec![atlas_actors::sheets::contract::Reviewer {
                token: "alice".into(),
                email: "alice@example.com".into(),
            }]),
        );
        let mut structure = None;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &alice_only).await.unwrap();
        }
        let (row, _) = row_of(&fake, APPROVALS, &id);
        fake.set_cell(APPROVALS, row, BOB, ""); // an editor widened the grid
        let typed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = typed.clone();
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            *slot.lock().unwrap() = Some(state.edit_as("mallory@example.com", APPROVALS, row, BOB, "approved"));
        });
        let layout = reviewers();
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let typed = typed.lock().unwrap().take();
        assert!(matches!(typed, Some(Ok(()))), "mallory typed in J while it was being protected: {typed:?}");
        let decided = approval(&team, &id).await;
        assert_eq!(
            (decided["status"].as_str(), decided["reviewed_by"].as_str()),
            (Some("pending"), None),
            "mallory's value counted as bob's: {decided}"
        );
        fake.edit_as("bob@example.com", APPROVALS, row, BOB, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(approval(&team, &id).await["status"], "approved", "bob decides once his column is cleared");
    }
}

sheet_test! {
    /// Found by attack: alice approves X; mallory swaps the IDs and Atlas cells of X's and Y's rows (both
    /// pending, so Status is alike), and the row holding alice's cell shows exactly Y's export. With the ID
    /// column Atlas's alone she cannot move the ID, and the rest of a swapped row no longer shows its
    /// record's export.
    async fn swapping_two_rows_cells_never_moves_a_decision_to_another_record() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let x = request(&team, "harmless").await;
        let y = request(&team, "drop table").await;
        let layout = reviewers();
        let mut structure = None;
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let (rx, cx) = row_of(&fake, APPROVALS, &x);
        let (ry, cy) = row_of(&fake, APPROVALS, &y);
        fake.edit_as("alice@example.com", APPROVALS, rx, ALICE, "approved").unwrap();
        for c in (0..8).filter(|&c| c != 4) {
            let to_x = fake.edit_as("mallory@example.com", APPROVALS, rx, c, cy.get(c).map_or("", String::as_str));
            let to_y = fake.edit_as("mallory@example.com", APPROVALS, ry, c, cx.get(c).map_or("", String::as_str));
            // The ID column is Atlas's alone; the warning-only columns take the swap.
            assert_eq!((to_x.is_ok(), to_y.is_ok()), (c != 0, c != 0), "column {c}: {to_x:?} {to_y:?}");
        }
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        assert_eq!(approval(&team, &y).await["status"], "pending", "alice's decision on X was applied to Y");
        let x = approval(&team, &x).await;
        assert_eq!(x["status"], "pending", "X's row no longer shows X's export: its decision waits, explained");
        assert!(!x["notes"].as_array().unwrap().is_empty(), "{x}");
    }
}
