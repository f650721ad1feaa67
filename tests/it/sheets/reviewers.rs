//! Who decided: each reviewer decides in their own column, strictly protected to them and Atlas's
//! service account; the decision is that token's review (role, self-approval and audit as over HTTP).
//! A column whose protection drifted decides nothing and raises one critical entry; quota defers.

use super::{client, cycle_with, reviewers, row_of};
use crate::api::Team;
use crate::support::fake_sheets::{FakeSheets, SERVICE_ACCOUNT};
use atlas_actors::sheets::contract::{ApprovalMode, Layout, Reviewer};
use serde_json::{json, Value};

async fn request(team: &Team, title: &str) -> String {
    let project = team.project("ops").await;
    let body = json!({ "project_id": project, "title": title });
    let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "{approval}");
    approval["id"].as_str().unwrap().to_owned()
}

async fn status(team: &Team, id: &str) -> String {
    let (_, approval) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    approval["status"].as_str().unwrap().to_owned()
}

async fn critical_sheet_errors(team: &Team) -> Vec<Value> {
    let (_, errors) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
    errors["items"].as_array().unwrap().iter().filter(|e| e["source"] == "sheets").cloned().collect()
}

sheet_test! {
    async fn a_reviewer_cannot_write_in_another_reviewer_s_column_and_the_columns_are_strict() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "p").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let alice_column =
            fake.protections().into_iter().find(|p| p.description.starts_with("Atlas reviewer column: alice")).unwrap();
        assert_eq!(
            (alice_column.start_column, alice_column.end_column, alice_column.warning_only),
            (Some(8), Some(9), false)
        );
        assert_eq!(alice_column.users, ["alice@example.com", SERVICE_ACCOUNT]);

        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        let refused = fake.edit_as("bob@example.com", "Pending_Approvals", row, 8, "approved");
        assert!(refused.unwrap_err().contains("protected"), "Google refuses bob in alice's column");
        let refused = fake.edit_as("bob@example.com", "Pending_Approvals", row, 4, "approved");
        assert!(refused.is_err(), "Status is Atlas's alone");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(status(&team, &id).await, "pending");
        fake.edit_as("bob@example.com", "Pending_Approvals", row, 9, "rejected").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, approval) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
        assert_eq!((approval["status"].as_str(), approval["reviewed_by"].as_str()), (Some("rejected"), Some("bob")));
    }
}

sheet_test! {
    async fn a_drifted_protection_decides_nothing_and_raises_one_critical_entry() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "p").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        for (drift, attempt) in [(0, "approved"), (1, "approved")] {
            // The owner loosens alice's column (warning-only, or another editor); then bob decides "for" alice.
            fake.change_protection("Atlas reviewer column: alice", |p| {
                if drift == 0 {
                    p.warning_only = true;
                } else {
                    p.users.push("bob@example.com".into());
                }
            });
            fake.edit_as("bob@example.com", "Pending_Approvals", row, 8, attempt).expect("the loosened column lets bob in");
            let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
            assert_eq!(report.drifted_columns, ["alice"], "{report:?}");
            assert_eq!((report.edits_applied, status(&team, &id).await.as_str()), (0, "pending"));
            assert_eq!(critical_sheet_errors(&team).await.len(), 1, "one entry while the drift lasts, not one per cycle");
            let (_, cells) = row_of(&fake, "Pending_Approvals", &id);
            assert_eq!(cells[8], "", "the refused decision is removed from the sheet");
            let repaired =
                fake.protections().into_iter().find(|p| p.description.starts_with("Atlas reviewer column: alice")).unwrap();
            assert!(!repaired.warning_only && repaired.users == ["alice@example.com", SERVICE_ACCOUNT], "{repaired:?}");
        }
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert!(report.drifted_columns.is_empty(), "repaired: {report:?}");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(status(&team, &id).await, "approved", "alice decides again once her column is intact");
    }
}

sheet_test! {
    async fn a_sheet_decision_checks_the_reviewer_s_role_and_refuses_self_approval() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        // The admin asks to delete a project (gated); the admin is also a reviewer, as is the viewer.
        let project = team.project("doomed").await;
        let (status_code, approval) = team.call("DELETE", &format!("/api/v1/projects/{project}"), &team.admin, None).await;
        assert_eq!(status_code, 202, "{approval}");
        let id = approval["id"].as_str().unwrap().to_owned();
        let admin_name = approval["requested_by"].as_str().unwrap().to_owned();
        let layout = Layout::new(ApprovalMode::Reviewers(vec![
            Reviewer { token: admin_name.clone(), email: "root@example.com".into() },
            Reviewer { token: "viewer".into(), email: "vera@example.com".into() },
        ]));
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, _) = row_of(&fake, "Pending_Approvals", &id);
        let columns = fake.tab("Pending_Approvals").unwrap().rows[0].clone();
        let admin_column = columns.iter().position(|h| *h == admin_name).unwrap();
        let viewer_column = columns.iter().position(|h| h == "viewer").unwrap();
        fake.edit_as("root@example.com", "Pending_Approvals", row, admin_column, "approved").unwrap();
        fake.edit_as("vera@example.com", "Pending_Approvals", row, viewer_column, "approved").unwrap();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 0, "{report:?}");
        assert_eq!(status(&team, &id).await, "pending");
        let (_, refusals) = team.call("GET", "/api/v1/audit?type=sheets.edit_rejected", &team.viewer, None).await;
        let text = refusals.to_string();
        assert!(text.contains("cannot approve it"), "self-approval refused as over HTTP: {text}");
        assert!(text.contains("role viewer, which may not review"), "{text}");
    }
}

sheet_test! {
    async fn atlas_s_own_names_cannot_be_token_names_or_reviewers() {
        let team = Team::new().await;
        for name in ["sheets", "System", "runner", "scheduler", "housekeeper", "backup", "atlas"] {
            let (status, body) = team
                .call("POST", "/api/v1/admin/tokens", &team.admin, Some(json!({ "name": name, "role": "approver" })))
                .await;
            assert_eq!(status, 400, "{name}: {body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("reserved"), "{body}");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut settings = crate::support::test_settings(&dir);
        settings.sheets.reviewers.insert("sheets".into(), "x@example.com".into());
        let err = settings.validate().unwrap_err();
        assert!(err.0 == "sheets.reviewers" && err.1.contains("reserved"), "{err:?}");
        let mut settings = crate::support::test_settings(&dir);
        settings.sheets.approval_mode = atlas::settings::ApprovalModeSetting::Shared;
        let err = settings.validate().unwrap_err();
        assert_eq!(err.0, "sheets.shared_reviewer", "shared mode needs a named identity: {err:?}");
    }
}

sheet_test! {
    async fn google_s_per_minute_quota_defers_the_cycle_instead_of_failing_it() {
        let fake = FakeSheets::start().await;
        let (dir, settings) = crate::sheets::service_settings(&fake);
        let team = Team::with_app(crate::support::TestApp::spawn_with(dir, settings).await).await;
        let (status, summary) = team.call("POST", "/api/v1/admin/sync", &team.admin, None).await;
        assert_eq!((status, summary["deferred"].is_null()), (200, true), "{summary}");
        let (_, synced) = team.call("GET", "/api/v1/audit?type=sheets.synced", &team.admin, None).await;
        let by: Vec<&Value> = synced["items"].as_array().unwrap().iter().map(|e| &e["actor"]).collect();
        assert!(!by.is_empty() && by.iter().all(|a| *a == "admin"), "a sync asked for is the caller's: {synced}");

        fake.set_retry_after(Some(45));
        fake.fail_next_of("spreadsheets.get", &[429]);
        fake.reset_calls();
        let (status, summary) = team.call("POST", "/api/v1/admin/sync", &team.admin, None).await;
        assert_eq!(status, 200, "a quota refusal is not a failure: {summary}");
        assert!(summary["deferred"].as_str().unwrap().contains("next attempt in 45s"), "Retry-After honoured: {summary}");
        assert_eq!(fake.calls(), ["spreadsheets.get"], "no retries against an exhausted quota");
        let (_, summary) = team.call("POST", "/api/v1/admin/sync", &team.admin, None).await;
        assert!(summary["deferred"].is_string(), "{summary}");
        assert_eq!(fake.calls().len(), 1, "while deferred, Google is not called at all");
        let (_, state) = team.call("GET", "/api/v1/admin/sync", &team.admin, None).await;
        assert!(state["directions"].as_array().unwrap().iter().all(|d| d["consecutive_failures"] == 0), "{state}");
        let (_, health) = team.call("GET", "/api/v1/admin/health", &team.admin, None).await;
        assert_eq!(health["operations"]["checks"]["sheets_import"]["level"], "ok", "{health}");
    }
}

sheet_test! {
    async fn a_payload_shown_in_part_is_decided_over_http_only() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "rotate db password=hunter2 tonight").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, cells) = row_of(&fake, "Pending_Approvals", &id);
        assert!(cells[7].starts_with("[shown in part: decide over HTTP]"), "the row says so: {}", cells[7]);
        assert!(!cells.iter().any(|c| c.contains("hunter2")), "{cells:?}");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").unwrap();
        let report = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(report.edits_applied, 0, "{report:?}");
        assert_eq!(status(&team, &id).await, "pending");
        let (status, _) = team.call("POST", &format!("/api/v1/approvals/{id}/approve"), &team.approver, None).await;
        assert_eq!(status, 200, "over HTTP the whole payload is seen and decided");
    }
}

sheet_test! {
    async fn a_quorum_through_the_reviewer_columns_shows_its_progress_and_applies_with_the_second() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = crate::support::test_settings(&dir);
        settings.approvals.quorum = [("task:create".to_owned(), 2)].into();
        let team = Team::with_app(crate::support::TestApp::spawn_with(dir, settings).await).await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let id = request(&team, "needs two").await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (row, cells) = row_of(&fake, "Pending_Approvals", &id);
        assert_eq!(cells[4], "pending (0 of 2)");
        fake.edit_as("alice@example.com", "Pending_Approvals", row, 8, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(status(&team, &id).await, "pending", "one of two changes nothing");
        let (_, cells) = row_of(&fake, "Pending_Approvals", &id);
        assert_eq!((cells[4].as_str(), cells[8].as_str()), ("pending (1 of 2)", "approved"), "{cells:?}");
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        assert_eq!(row_of(&fake, "Pending_Approvals", &id).1[8], "approved", "alice's decision stays in her column");
        assert_eq!(status(&team, &id).await, "pending");

        fake.edit_as("bob@example.com", "Pending_Approvals", row, 9, "approved").unwrap();
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        let (_, approval) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
        assert_eq!((approval["status"].as_str(), approval["reviews"].as_str()), (Some("approved"), Some("2 of 2")));
        assert_eq!(approval["approved_by"], json!(["alice", "bob"]));
    }
}

/// Google keeps the spreadsheet's owner among every protected range's editors, so reviewer columns need
/// Atlas to know the owner, and an owner who also reviews is refused.
#[test]
fn reviewer_columns_need_the_spreadsheet_s_owner_who_is_not_a_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings.sheets.enabled = true;
    settings.sheets.spreadsheet_id = "sheet-1".into();
    settings.sheets.reviewers.insert("alice".into(), "alice@example.com".into());
    let err = settings.validate().unwrap_err();
    assert!(err.0 == "sheets.owner" && err.1.contains("set sheets.owner"), "{err:?}");
    settings.sheets.owner = " Alice@Example.com ".into();
    let err = settings.validate().unwrap_err();
    assert!(err.0 == "sheets.owner" && err.1.contains("also a reviewer"), "{err:?}");
    for (owner, why) in [
        ("not an address", "is not a Google account"),
        ("alice@example.com\u{200b}", "is not a Google account"),
        ("bob@example.com, alice@example.com", "is not a Google account"),
        ("mailto:alice@example.com", "is not a Google account"),
    ] {
        settings.sheets.owner = owner.into();
        let err = settings.validate().unwrap_err();
        assert!(err.0 == "sheets.owner" && err.1.contains(why), "{owner:?}: {err:?}");
    }
    settings.sheets.reviewers.insert("bob".into(), "bob@googlemail.com".into());
    settings.sheets.owner = "B.o.b+sheets@gmail.com".into();
    let err = settings.validate().unwrap_err();
    assert!(err.1.contains("also a reviewer"), "one Gmail account, another spelling: {err:?}");
    settings.sheets.reviewers.remove("bob");
    settings.sheets.owner = "owner@example.com".into();
    settings.sheets.credentials_file = dir.path().join("key.json");
    std::fs::write(&settings.sheets.credentials_file, "{}").unwrap();
    settings.validate().unwrap();
    assert_eq!(settings.sheets_config().owner.as_deref(), Some("owner@example.com"));
}
