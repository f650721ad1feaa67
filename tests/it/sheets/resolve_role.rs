//! The Sheet cannot do what a person's role cannot (issue 24): resolving an error from Errors_Hotlist
//! needs the role it needs over HTTP. In shared mode the named token's role is checked (the resolution is
//! that token's); in reviewer mode the sheet cannot tell who set Resolved, so it is refused and explained.

use super::{client, cycle_with, record_error, reviewers, row_of, shared};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::domain::Severity;
use atlas_actors::sheets::contract::{ApprovalMode, Layout};
use serde_json::Value;

const ERRORS: &str = "Errors_Hotlist";

/// Records a critical error, mirrors it, sets its Resolution and Resolved in the sheet as any editor
/// would, and answers the error as the API shows it after two more cycles.
async fn resolved_from_the_sheet(layout: Layout) -> Value {
    let team = Team::new().await;
    let fake = FakeSheets::start().await;
    let sheets = client(&fake, team.app.dir.path()).await;
    let id = record_error(&team, "certificate expires in 2 days", Severity::Critical).await;
    let mut structure = None;
    cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
    let (row, _) = row_of(&fake, ERRORS, &id);
    fake.set_cell(ERRORS, row, 6, "silenced it");
    fake.set_cell(ERRORS, row, 5, "TRUE");
    for _ in 0..2 {
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
    }
    team.call("GET", &format!("/api/v1/errors/{id}"), &team.viewer, None).await.1
}

fn refusals(error: &Value) -> String {
    error["notes"].as_array().map(|notes| format!("{notes:?}")).unwrap_or_default()
}

sheet_test! {
    async fn in_reviewer_mode_any_editor_cannot_resolve_from_the_sheet() {
        let error = resolved_from_the_sheet(reviewers()).await;
        assert_eq!(error["resolved"], false, "anyone with the link silenced a critical entry: {error}");
        assert!(refusals(&error).contains("resolve it in the console"), "the refusal is explained: {error}");
    }
}

sheet_test! {
    async fn in_shared_mode_the_named_token_s_role_decides() {
        let agent = Layout::new(ApprovalMode::Shared { reviewer: "agent-bot".into() });
        let error = resolved_from_the_sheet(agent).await;
        assert_eq!(error["resolved"], false, "an agent token may not resolve over HTTP, nor from the sheet: {error}");
        assert!(refusals(&error).contains("agent"), "{error}");
        let error = resolved_from_the_sheet(shared()).await;
        assert_eq!((error["resolved"].as_bool(), error["resolved_by"].as_str()), (Some(true), Some("alice")), "{error}");
    }
}
