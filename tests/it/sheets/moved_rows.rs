//! Writes bound to identity, not position (issue 24): a person inserts, deletes or sorts rows while
//! Atlas's write is in flight. Every write into or deletion of an existing row carries a receipt (the row
//! as it was when the request applied); a row that was not what Atlas read there is put back below the
//! tab's last row, a note typed into a cell Atlas replaced is taken as a note, and appended rows never
//! land on a row a person moved. A decision typed in the meantime is never lost, and counts for the record
//! it was typed on.

use super::attacks::{approval, request};
use super::{cycle_with, reviewers, row_of, start};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::sheets::client::SheetsClient;

const APPROVALS: &str = "Pending_Approvals";
const ALICE: usize = 8;

/// One pending request mirrored, and its row.
async fn one_request() -> (Team, FakeSheets, SheetsClient, String, usize) {
    let (team, fake, sheets) = start().await;
    let id = request(&team, "rotate keys").await;
    cycle_with(&team, &sheets, &mut None, &reviewers()).await.unwrap();
    let (row, _) = row_of(&fake, APPROVALS, &id);
    (team, fake, sheets, id, row)
}

/// Two pending requests mirrored, and a junk row (an unknown ID) a person added between the header and them.
async fn with_junk_row() -> (Team, FakeSheets, SheetsClient, [String; 2]) {
    let (team, fake, sheets) = start().await;
    let ids = [request(&team, "rotate keys").await, request(&team, "resize volume").await];
    cycle_with(&team, &sheets, &mut None, &reviewers()).await.unwrap();
    fake.insert_blank_row(APPROVALS, 1);
    fake.set_cell(APPROVALS, 1, 0, "junk-typed-by-someone");
    (team, fake, sheets, ids)
}

sheet_test! {
    async fn a_deletion_that_lands_on_a_just_decided_request_puts_it_back_and_the_decision_counts() {
        let (team, fake, sheets, ids) = with_junk_row().await;
        let layout = reviewers();
        let mut structure = None;
        let first = row_of(&fake, APPROVALS, &ids[0]).0;
        assert_eq!(first, 2, "the junk row is above the requests");
        // While the cycle's write (which deletes row 2, the junk row as read) is in flight, alice approves
        // the first request and someone deletes the junk row: the first request is now where the junk was.
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("alice@example.com", APPROVALS, first, ALICE, "approved").unwrap();
            state.delete_row(APPROVALS, 1);
        });
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.export.rows_restored, 1, "{report:?}");
        let (_, cells) = row_of(&fake, APPROVALS, &ids[0]);
        assert_eq!(cells[ALICE], "approved", "the row Atlas deleted by mistake is back as it was: {cells:?}");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(approval(&team, &ids[0]).await["status"], "approved", "alice's decision counted");
        assert_eq!(approval(&team, &ids[1]).await["status"], "pending");
        let rows = fake.tab(APPROVALS).unwrap().rows;
        assert_eq!(rows.iter().filter(|r| r.iter().any(|c| !c.is_empty())).count(), 3, "header and two requests: {rows:?}");
    }
}

sheet_test! {
    async fn a_sort_during_a_deletion_loses_nothing() {
        let (team, fake, sheets, ids) = with_junk_row().await;
        let layout = reviewers();
        let mut structure = None;
        let second = row_of(&fake, APPROVALS, &ids[1]).0;
        // alice approves the second request, then someone sorts the tab last-first while Atlas's write
        // (deleting the junk row, row 2 as read) is in flight: the second request is now row 2.
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("alice@example.com", APPROVALS, second, ALICE, "approved").unwrap();
            state.reverse_rows(APPROVALS);
        });
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        assert_eq!(approval(&team, &ids[1]).await["status"], "approved", "alice's decision counted");
        assert_eq!(approval(&team, &ids[0]).await["status"], "pending", "and only for the request she decided");
        let ids_shown: Vec<String> =
            fake.tab(APPROVALS).unwrap().rows.iter().skip(1).filter_map(|r| r.first().cloned()).filter(|c| !c.is_empty()).collect();
        assert_eq!(ids_shown.len(), 2, "the junk row is gone, each request shows once: {ids_shown:?}");
    }
}

sheet_test! {
    async fn an_appended_row_never_lands_on_a_row_a_person_moved_there() {
        let (team, fake, sheets) = start().await;
        let layout = reviewers();
        let mut structure = None;
        let ids = [request(&team, "rotate keys").await, request(&team, "resize volume").await];
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let third = request(&team, "grow disk").await;
        // The cycle appends the third request after row 3; meanwhile a person inserts a row at the top (the
        // second request moves to where the append was aimed) and alice approves the second request.
        fake.before_next("spreadsheets.batchUpdate", |state| {
            state.insert_blank_row(APPROVALS, 1);
            state.edit_as("alice@example.com", APPROVALS, 3, ALICE, "approved").unwrap();
        });
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, cells) = row_of(&fake, APPROVALS, &ids[1]);
        assert_eq!(cells[ALICE], "approved", "{cells:?}");
        let rows = fake.tab(APPROVALS).unwrap().rows;
        assert_eq!(rows.iter().filter(|r| r.first().is_some_and(|id| *id == third)).count(), 1, "{rows:?}");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(approval(&team, &ids[1]).await["status"], "approved");
        assert_eq!(approval(&team, &third).await["status"], "pending");
    }
}

sheet_test! {
    async fn a_note_typed_while_atlas_rewrites_its_cell_is_taken() {
        let (team, fake, sheets, id, row) = one_request().await;
        let (layout, mut structure) = (reviewers(), None);
        fake.set_cell(APPROVALS, row, 6, "waiting for the vendor");
        // The cycle imports the note and rewrites the Notes cell; meanwhile the person goes on typing.
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("bob@example.com", APPROVALS, row, 6, "waiting for the vendor; they answered").unwrap();
        });
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let notes = approval(&team, &id).await["notes"].clone();
        let bodies: Vec<&str> = notes.as_array().unwrap().iter().filter_map(|n| n["body"].as_str()).collect();
        assert!(bodies.contains(&"waiting for the vendor"), "{bodies:?}");
        assert!(bodies.contains(&"; they answered"), "the text typed during the write is a note: {bodies:?}");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, cells) = row_of(&fake, APPROVALS, &id);
        assert!(cells[6].contains("they answered"), "and shows in the sheet: {cells:?}");
    }
}

sheet_test! {
    async fn a_write_that_landed_on_another_row_is_not_reported_as_a_persons_edit() {
        let (team, fake, sheets) = start().await;
        let layout = reviewers();
        let mut structure = None;
        let ids = [request(&team, "rotate keys").await, request(&team, "resize volume").await];
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (status, _) = team.call("POST", &format!("/api/v1/approvals/{}/approve", ids[0]), &team.approver, None).await;
        assert_eq!(status, 200);
        // The cycle writes the first request's new Status into its row; meanwhile a person deletes that row,
        // so the write lands on the second request's row.
        let first = row_of(&fake, APPROVALS, &ids[0]).0;
        fake.before_next("spreadsheets.batchUpdate", move |state| state.delete_row(APPROVALS, first));
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.export.rows_restored, 1, "{report:?}");
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let notes = approval(&team, &ids[0]).await["notes"].to_string();
        assert!(!notes.contains("maintained by Atlas"), "Atlas's own misplaced write is not a person's edit: {notes}");
        assert_eq!(approval(&team, &ids[1]).await["status"], "pending");
        for id in &ids {
            let shown = fake.tab(APPROVALS).unwrap().rows.iter().filter(|r| r.first() == Some(id)).count();
            assert_eq!(shown, 1, "{id} shows once");
        }
    }
}

sheet_test! {
    async fn a_decision_typed_in_a_tab_that_is_then_renamed_counts() {
        let (team, fake, sheets, id, row) = one_request().await;
        let (layout, mut structure) = (reviewers(), None);
        fake.edit_as("alice@example.com", APPROVALS, row, ALICE, "approved").unwrap();
        fake.rename_tab(APPROVALS, "Approvals (mine)");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 1, "{report:?}");
        assert_eq!(approval(&team, &id).await["status"], "approved");
        assert!(fake.tab("Approvals (mine)").is_none(), "renamed back, found by its guard rail");
    }
}

sheet_test! {
    async fn columns_a_person_reordered_move_back_cells_and_all() {
        let (team, fake, sheets, id, row) = one_request().await;
        let (layout, mut structure) = (reviewers(), None);
        let payload = row_of(&fake, APPROVALS, &id).1[7].clone();
        fake.move_column(APPROVALS, 7, 6); // Payload moved left of Notes
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.broken_tabs.len(), 1, "the reordered header is reported: {report:?}");
        let (_, cells) = row_of(&fake, APPROVALS, &id);
        assert_eq!((cells[6].as_str(), cells[7].as_str()), ("", payload.as_str()), "the columns are back, cells and all");
        fake.edit_as("alice@example.com", APPROVALS, row, ALICE, "approved").unwrap();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 1, "{report:?}");
        let notes = approval(&team, &id).await["notes"].to_string();
        assert!(!notes.contains("assignee"), "no payload became a note: {notes}");
        assert_eq!(approval(&team, &id).await["status"], "approved");
    }
}
