//! Bounded memory (issue 24): a read never asks for more than `sheets.max_rows` + 1 rows of a tab, and a
//! tab an editor has grown past the limit is refused aloud (the cycle fails with a sentence naming the
//! tab, nothing is read into the mirror or written) until the rows are deleted. The memory a read costs
//! per row is measured by `atlas-bench sheets-memory` (BENCHMARKS.md).

use super::{client_limited, cycle_with, request_project, reviewers};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::domain::Actor;
use atlas_actors::sheets::client::SheetsError;
use atlas_actors::sheets::cycle::CycleError;
use std::time::Duration;

const APPROVALS: &str = "Pending_Approvals";

sheet_test! {
    async fn a_tab_grown_past_max_rows_is_refused_aloud_and_read_again_once_trimmed() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client_limited(&fake, team.app.dir.path(), Duration::from_secs(5), 3, 500).await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        // An editor pastes junk far below the mirror.
        fake.set_cell(APPROVALS, 800, 0, "junk");
        fake.reset_calls();
        let refused = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        match &refused {
            CycleError::Sheets(SheetsError::Oversized { tab, rows, max }) => {
                assert_eq!((tab.as_str(), *rows, *max), (APPROVALS, 801, 500), "{refused}");
            }
            other => panic!("not refused for its size: {other:?}"),
        }
        assert!(refused.to_string().contains("sheets.max_rows"), "{refused}");
        assert!(
            !fake.calls().iter().any(|c| c.contains("values.batchUpdate")),
            "nothing is written over a tab Atlas did not read whole: {:?}",
            fake.calls()
        );
        for _ in 0..301 {
            fake.delete_row(APPROVALS, 500);
        }
        cycle_with(&team, &sheets, &mut structure, &layout).await.expect("trimmed, the tab is read again");
    }
}

sheet_test! {
    /// Atlas never grows a tab past the limit itself (its grid slack stops at max_rows), and data that
    /// would not fit is refused aloud before anything is written.
    async fn the_mirror_never_outgrows_max_rows_itself() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client_limited(&fake, team.app.dir.path(), Duration::from_secs(5), 3, 260).await;
        let layout = reviewers();
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap();
        for i in 0..210 {
            team.app.handles.writer.submit(request_project(&format!("p{i}")), Actor::new("agent-bot")).await.unwrap();
        }
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &layout).await.expect("211 rows fit in 260");
        }
        assert!(fake.tab(APPROVALS).unwrap().row_count <= 260, "the grid stays within the limit");
        for i in 0..60 {
            team.app.handles.writer.submit(request_project(&format!("q{i}")), Actor::new("agent-bot")).await.unwrap();
        }
        fake.reset_calls();
        let refused = cycle_with(&team, &sheets, &mut structure, &layout).await.unwrap_err();
        assert!(matches!(refused, CycleError::Sheets(SheetsError::Oversized { .. })), "{refused:?}");
        assert!(!fake.calls().iter().any(|c| c.contains("values.batchUpdate")), "{:?}", fake.calls());
    }
}
