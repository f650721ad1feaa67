//! A decision in the sheet is bound to the row a person saw: Atlas's own writes (a retried deletion, a
//! write that lands after a human moved rows) never create a value a later import takes for a human's,
//! and nothing a human typed disappears without a word.

use super::{client, cycle_with, reviewers, row_of, shared};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::domain::command::NewHotlistError;
use atlas_actors::domain::{Actor, Command, ErrorId, Severity};
use serde_json::Value;

/// Two pending requests from the agent: a harmless one and "drop table".
async fn two_requests(team: &Team) -> (String, String) {
    let project = team.project("ops").await;
    let mut ids = Vec::new();
    for title in ["harmless", "drop table"] {
        let body = serde_json::json!({ "project_id": project, "title": title });
        let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
        assert_eq!(status, 202, "an agent's task waits for approval: {approval}");
        ids.push(approval["id"].as_str().unwrap().to_owned());
    }
    (ids[0].clone(), ids[1].clone())
}

async fn approval(team: &Team, id: &str) -> Value {
    team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await.1
}

fn ids_in(fake: &FakeSheets) -> Vec<String> {
    fake.tab("Pending_Approvals").unwrap().rows.iter().skip(1).filter_map(|r| r.first().cloned()).collect()
}

sheet_test! {
    async fn a_row_deletion_whose_reply_was_lost_is_not_repeated_and_approves_nothing() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (harmless, drop_table) = two_requests(&team).await;
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        // A stray row above both, to be deleted; the harmless one is approved over HTTP meanwhile.
        fake.insert_blank_row("Pending_Approvals", 1);
        fake.set_cell("Pending_Approvals", 1, 0, "approval-stray");
        let (status, _) = team.call("POST", &format!("/api/v1/approvals/{harmless}/approve"), &team.approver2, None).await;
        assert_eq!(status, 200);

        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        let err = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        assert!(err.to_string().contains("503"), "{err}");
        assert_eq!(ids_in(&fake), [harmless.clone(), drop_table.clone()], "deleted once, not twice");
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        assert_eq!(approval(&team, &drop_table).await["status"], "pending", "nobody approved drop table");
        let (_, cells) = row_of(&fake, "Pending_Approvals", &drop_table);
        assert_eq!(cells[4], "pending");
        let (_, harmless_row) = row_of(&fake, "Pending_Approvals", &harmless);
        assert_eq!(harmless_row[4], "approved");
    }
}

sheet_test! {
    async fn a_write_that_lands_after_a_human_deleted_a_row_carries_its_id_and_approves_nothing() {
        for layout in [shared(), reviewers()] {
            let team = Team::new().await;
            let fake = FakeSheets::start().await;
            let sheets = client(&fake, team.app.dir.path()).await;
            let (harmless, drop_table) = two_requests(&team).await;
            let mut structure = None;
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            fake.insert_blank_row("Pending_Approvals", 1); // a blank row a human left above both
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            let (status, _) =
                team.call("POST", &format!("/api/v1/approvals/{harmless}/approve"), &team.approver, None).await;
            assert_eq!(status, 200);

            // The cycle writes the harmless row's new Status; while the write is in flight the human deletes
            // the blank row, so the write lands one row lower: on drop table's row.
            fake.before_next("spreadsheets.batchUpdate", |state| state.delete_row("Pending_Approvals", 1));
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            let landed = fake.tab("Pending_Approvals").unwrap().rows[2].clone();
            assert_eq!(landed[0], harmless, "the misplaced write carried its own ID: {landed:?}");

            for _ in 0..3 {
                cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            }
            assert_eq!(approval(&team, &drop_table).await["status"], "pending", "nobody approved drop table");
            let mut ids = ids_in(&fake);
            ids.sort();
            let mut want = vec![harmless.clone(), drop_table.clone()];
            want.sort();
            assert_eq!(ids, want, "each request shows once again");
            let (_, cells) = row_of(&fake, "Pending_Approvals", &drop_table);
            assert_eq!(cells[4], "pending");
        }
    }
}

sheet_test! {
    async fn an_id_typed_over_another_row_decides_nothing() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (harmless, drop_table) = two_requests(&team).await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        // A human relabels the harmless row with drop table's ID, then alice approves "it": the row still
        // shows the harmless request's Item and Payload.
        let (row, _) = row_of(&fake, "Pending_Approvals", &harmless);
        fake.set_cell("Pending_Approvals", row, 0, &drop_table);
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").unwrap();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 0, "{report:?}");
        assert_eq!(approval(&team, &drop_table).await["status"], "pending");
        assert_eq!(approval(&team, &harmless).await["status"], "pending");
        let (_, refusals) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        assert!(
            refusals.to_string().contains("the copy is removed (it held alice \\\"approved\\\")"),
            "the forged copy's decision is named, not counted: {refusals}"
        );
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let mut ids = ids_in(&fake);
        ids.sort();
        let mut want = vec![harmless, drop_table];
        want.sort();
        assert_eq!(ids, want, "the sheet is repaired");
    }
}

sheet_test! {
    async fn a_note_is_stored_once_however_often_the_cycle_is_retried() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (harmless, _) = two_requests(&team).await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &harmless);
        fake.set_cell("Pending_Approvals", row, 6, "waiting for the vendor");
        fake.fail_next_of("spreadsheets.batchUpdate", &[500]);
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let notes = approval(&team, &harmless).await["notes"].clone();
        assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
        let (_, cells) = row_of(&fake, "Pending_Approvals", &harmless);
        assert!(cells[6].ends_with("): waiting for the vendor"), "{cells:?}");
    }
}

sheet_test! {
    async fn edits_made_with_a_header_change_wait_or_are_refused_aloud_and_a_resolution_waits_for_resolved() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (harmless, _) = two_requests(&team).await;
        let error = NewHotlistError {
            id: ErrorId::generate(),
            task_id: None,
            error: "disk full".into(),
            severity: Severity::High,
            source: "health".into(),
        };
        let error_id = error.id.to_string();
        team.app.handles.writer.submit(Command::RecordError(error), Actor::system()).await.unwrap();
        let layout = shared();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();

        let (row, _) = row_of(&fake, "Pending_Approvals", &harmless);
        fake.set_cell("Pending_Approvals", 0, 3, "Thing"); // the header changes in the same cycle
        fake.set_cell("Pending_Approvals", row, 6, "typed during the header change");
        fake.set_cell("Pending_Approvals", row, 4, "approved");
        let (error_row, _) = row_of(&fake, "Errors_Hotlist", &error_id);
        fake.set_cell("Errors_Hotlist", error_row, 6, "cleaned /var/log");
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.broken_tabs.len(), 1, "{report:?}");
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        }
        let approval = approval(&team, &harmless).await;
        assert_eq!(approval["status"], "pending", "a decision typed during a header change is not counted");
        let bodies: Vec<&str> = approval["notes"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap()).collect();
        assert!(bodies.contains(&"typed during the header change"), "the note waited and was kept: {bodies:?}");
        assert!(bodies.iter().any(|b| b.contains("header changed")), "the refusal is explained: {bodies:?}");
        let (_, cells) = row_of(&fake, "Errors_Hotlist", &error_id);
        assert_eq!(cells[6], "cleaned /var/log", "a Resolution without Resolved waits in the sheet");
        fake.set_cell("Errors_Hotlist", error_row, 5, "TRUE");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, resolved) = team.call("GET", &format!("/api/v1/errors/{error_id}"), &team.viewer, None).await;
        assert_eq!(
            (resolved["resolved"].as_bool(), resolved["resolution"].as_str()),
            (Some(true), Some("cleaned /var/log"))
        );
    }
}

sheet_test! {
    async fn a_refused_change_to_an_atlas_cell_never_becomes_what_atlas_exported() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let (harmless, _) = two_requests(&team).await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &harmless);
        fake.set_cell("Pending_Approvals", row, 3, "create task \"something else\"");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").unwrap();
        // The refusals are recorded, but the write that would restore the row fails.
        fake.fail_next_of("spreadsheets.batchUpdate", &[500]);
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        // The row still shows the changed Item; alice decides again on it.
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "rejected").unwrap();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 0, "{report:?}");
        assert_eq!(approval(&team, &harmless).await["status"], "pending", "a changed row never passes for the export");
    }
}
