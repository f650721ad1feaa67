//! Typed input is never erased silently (issue 24): a value Atlas refused and restored is not kept as the
//! cell's baseline, so typing it again, as the refusal note asks, is a new edit: judged again (and
//! refused again with a note) or taken, never wiped without a word; a huge value is refused with a note,
//! not a log line; a deleted header row is inserted again above the first record, not written over it.

use super::attacks::{approval, request};
use super::{client, cycle_with, record_error, reviewers, row_of, shared};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::domain::Severity;

const ALICE: usize = 8;

/// How many of the approval's notes contain `text`, and the notes.
async fn notes_saying(team: &Team, id: &str, text: &str) -> (usize, serde_json::Value) {
    let notes = approval(team, id).await["notes"].clone();
    let count = notes.as_array().unwrap().iter().filter(|n| n["body"].as_str().unwrap_or("").contains(text)).count();
    (count, notes)
}

sheet_test! {
    async fn a_refused_decision_typed_again_is_judged_again() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "resize volume").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        for round in 1..=2 {
            fake.edit_as("alice@example.com", "Pending_Approvals", row, ALICE, "yes").unwrap();
            let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            assert_eq!(report.edits_refused, 1, "round {round}: the retyped value is judged, not wiped: {report:?}");
            assert_eq!(row_of(&fake, "Pending_Approvals", &id).1[ALICE], "", "restored");
        }
        let (refusals, notes) = notes_saying(&team, &id, "\"yes\"").await;
        assert_eq!(refusals, 2, "each typing has its note: {notes}");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, ALICE, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(approval(&team, &id).await["status"], "approved");
    }
}

sheet_test! {
    /// Resolved set before the Resolution is refused and restored; doing it properly then resolves.
    async fn resolved_set_again_after_a_refusal_resolves_with_its_resolution() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = record_error(&team, "queue stuck", Severity::High).await;
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Errors_Hotlist", &id);
        fake.set_cell("Errors_Hotlist", row, 5, "TRUE");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_refused, 1, "{report:?}");
        fake.set_cell("Errors_Hotlist", row, 6, "restarted the consumer");
        fake.set_cell("Errors_Hotlist", row, 5, "TRUE");
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let (_, resolved) = team.call("GET", &format!("/api/v1/errors/{id}"), &team.viewer, None).await;
        assert_eq!(
            (resolved["resolved"].as_bool(), resolved["resolution"].as_str()),
            (Some(true), Some("restarted the consumer")),
            "{resolved}"
        );
    }
}

sheet_test! {
    /// The other side: a cycle retried before the export restored a refused cell refuses it once.
    async fn a_refusal_survives_a_failed_restore_without_a_second_note() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "rotate keys").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        fake.edit_as("alice@example.com", "Pending_Approvals", row, ALICE, "yes").unwrap();
        fake.fail_next_of("spreadsheets.batchUpdate", &[500]);
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_refused, 0, "refused once already: {report:?}");
        assert_eq!(row_of(&fake, "Pending_Approvals", &id).1[ALICE], "", "restored by the retried cycle");
        let (refusals, notes) = notes_saying(&team, &id, "\"yes\"").await;
        assert_eq!(refusals, 1, "{notes}");
    }
}

sheet_test! {
    /// A decision of 10,000 characters is refused with a note that quotes its beginning (the note used
    /// to quote it whole, was refused as too long, and the cell was wiped with only a log line).
    async fn a_huge_decision_is_refused_with_a_note_not_only_a_log_line() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "grow disk").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        let huge = format!("approved{}", " because".repeat(1250));
        fake.edit_as("alice@example.com", "Pending_Approvals", row, ALICE, &huge).unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (refusals, notes) = notes_saying(&team, &id, "a decision must be approved or rejected").await;
        assert_eq!(refusals, 1, "{notes}");
        assert!(notes.to_string().contains("10008 characters"), "the note says how long it was: {notes}");
    }
}

sheet_test! {
    /// The owner deletes the header row: the first request's row (with alice's decision) is not taken
    /// for the header and written over; a header row is inserted above it and the decision counts.
    async fn a_deleted_header_row_never_costs_the_first_request_its_decision() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "first in line").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        assert_eq!(row, 1, "the first request is right below the header");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, ALICE, "approved").unwrap();
        fake.delete_row("Pending_Approvals", 0);
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let tab = fake.tab("Pending_Approvals").unwrap();
        assert_eq!(tab.rows[0][0], "ID", "the header is back in row 1: {:?}", tab.rows[0]);
        assert_eq!(approval(&team, &id).await["status"], "approved", "alice's decision survived the header's deletion");
    }
}
