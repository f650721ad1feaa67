//! Receipts outlive a lost reply (issue 24): when the reply of the write that carries them is lost, or
//! the request that puts rows back fails, the receipts stay in the protected `Atlas_Receipts` tab and the
//! next cycle settles them before it imports anything. A decision typed on one request never counts for
//! another, and none is lost. The receipts tab itself is Atlas's alone: what a person types there is
//! never acted on. (Attacks found by a hostile review of the first version, which judged receipts only
//! from the write's reply.)

use super::attacks::{approval, request};
use super::{client, cycle_with, reviewers, row_of};
use crate::api::Team;
use crate::support::fake_sheets::FakeSheets;
use atlas_actors::sheets::client::SheetsClient;

const APPROVALS: &str = "Pending_Approvals";
const RECEIPTS: &str = "Atlas_Receipts";
const ALICE: usize = 8;

/// P and B pending; carol (an editor, not a reviewer) changes every Atlas cell of P's row, so the next
/// write rewrites all of them: written over another row, they would make that row pass for P's export.
pub(super) async fn p_and_b() -> (Team, FakeSheets, SheetsClient, String, String) {
    let team = Team::new().await;
    let fake = FakeSheets::start().await;
    let sheets = client(&fake, team.app.dir.path()).await;
    let p = request(&team, "rotate keys").await;
    let b = request(&team, "resize volume").await;
    cycle_with(&team, &sheets, &mut None, &reviewers()).await.unwrap();
    let (row, _) = row_of(&fake, APPROVALS, &p);
    for column in [1, 2, 3, 5, 7] {
        fake.edit_as("carol@example.com", APPROVALS, row, column, "x").expect("warning-only columns");
    }
    (team, fake, sheets, p, b)
}

/// While the write is in flight, alice approves B and someone deletes P's row: the write lands on B's.
pub(super) fn alice_approves_b_as_p_is_deleted(fake: &FakeSheets, p: &str, b: &str) {
    let prow = row_of(fake, APPROVALS, p).0;
    let brow = row_of(fake, APPROVALS, b).0;
    fake.before_next("spreadsheets.batchUpdate", move |state| {
        state.edit_as("alice@example.com", APPROVALS, brow, ALICE, "approved").unwrap();
        state.delete_row(APPROVALS, prow);
    });
}

async fn settles_to_b_approved_only(team: &Team, fake: &FakeSheets, sheets: &SheetsClient, p: &str, b: &str) {
    let mut structure = None;
    for _ in 0..3 {
        cycle_with(team, sheets, &mut structure, &reviewers()).await.unwrap();
    }
    assert_eq!(approval(team, p).await["status"], "pending", "alice's decision on B never counts for P");
    assert_eq!(approval(team, b).await["status"], "approved", "and it is not lost");
    for id in [p, b] {
        let shown =
            fake.tab(APPROVALS).unwrap().rows.iter().filter(|r| r.first().map(String::as_str) == Some(id)).count();
        assert_eq!(shown, 1, "{id} shows once");
    }
}

sheet_test! {
    async fn a_lost_reply_leaves_the_receipts_for_the_next_cycle() {
        let (team, fake, sheets, p, b) = p_and_b().await;
        alice_approves_b_as_p_is_deleted(&fake, &p, &b);
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        assert!(cycle_with(&team, &sheets, &mut None, &reviewers()).await.is_err(), "the reply was lost");
        settles_to_b_approved_only(&team, &fake, &sheets, &p, &b).await;
    }
}

sheet_test! {
    async fn a_failed_put_back_leaves_the_receipts_for_the_next_cycle() {
        for (lose, codes) in [(false, vec![429]), (true, vec![])] {
            let (team, fake, sheets, p, b) = p_and_b().await;
            alice_approves_b_as_p_is_deleted(&fake, &p, &b);
            // The second batchUpdate of the cycle is the put-back: it fails, or applies and its reply is lost.
            let armed = fake.clone();
            let cycle = async {
                let outcome = cycle_with(&team, &sheets, &mut None, &reviewers()).await;
                assert!(outcome.is_err(), "the put-back failed");
            };
            let arm = async {
                while armed.calls().iter().filter(|c| *c == "spreadsheets.batchUpdate").count() < 1 {
                    tokio::task::yield_now().await;
                }
                if lose {
                    armed.lose_next_reply_of("spreadsheets.batchUpdate");
                } else {
                    armed.fail_next_of("spreadsheets.batchUpdate", &codes);
                }
            };
            tokio::join!(cycle, arm);
            settles_to_b_approved_only(&team, &fake, &sheets, &p, &b).await;
        }
    }
}

sheet_test! {
    async fn a_lost_reply_on_a_deletion_that_hit_a_decided_row_loses_nothing() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let ids = [request(&team, "rotate keys").await, request(&team, "resize volume").await];
        cycle_with(&team, &sheets, &mut None, &reviewers()).await.unwrap();
        fake.insert_blank_row(APPROVALS, 1);
        fake.set_cell(APPROVALS, 1, 0, "junk-typed-by-someone");
        let first = row_of(&fake, APPROVALS, &ids[0]).0;
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("alice@example.com", APPROVALS, first, ALICE, "approved").unwrap();
            state.delete_row(APPROVALS, 1);
        });
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        assert!(cycle_with(&team, &sheets, &mut None, &reviewers()).await.is_err());
        let mut structure = None;
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        }
        assert_eq!(approval(&team, &ids[0]).await["status"], "approved", "alice's decision came back and counted");
        assert_eq!(approval(&team, &ids[1]).await["status"], "pending");
    }
}

sheet_test! {
    async fn the_receipts_tab_is_atlas_alone() {
        let team = Team::new().await;
        let fake = FakeSheets::start().await;
        let sheets = client(&fake, team.app.dir.path()).await;
        let p = request(&team, "rotate keys").await;
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        fake.insert_blank_row(APPROVALS, 1);
        fake.set_cell(APPROVALS, 1, 0, "junk-typed-by-someone");
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        assert!(fake.tab(RECEIPTS).is_some(), "deleting the junk row made a receipt");
        // carol tries to plant a receipt that would have Atlas put back P's row with alice's decision in it.
        let (_, mut planted) = row_of(&fake, APPROVALS, &p);
        planted.resize(10, String::new());
        planted[ALICE] = "approved".into();
        let mut cells = vec!["atlas-receipt t=0 w=10 written=".to_owned()];
        cells.extend(planted);
        cells.extend(std::iter::repeat_n("junk".to_owned(), 10));
        let forged = fake.edit_as("carol@example.com", RECEIPTS, 0, 0, &cells[0]);
        assert!(forged.is_err(), "only Atlas writes the receipts tab");
        // The owner lets carol in; she plants it and deletes P's row, so the row put back would be P's only one.
        fake.change_protection(RECEIPTS, |p| p.users.push("carol@example.com".into()));
        for (column, value) in cells.iter().enumerate() {
            fake.edit_as("carol@example.com", RECEIPTS, 0, column, value).unwrap();
        }
        fake.delete_row(APPROVALS, row_of(&fake, APPROVALS, &p).0);
        for _ in 0..2 {
            cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        }
        assert_eq!(approval(&team, &p).await["status"], "pending", "a planted receipt is never acted on");
        let rows = fake.tab(APPROVALS).unwrap().rows;
        assert_eq!(rows.iter().filter(|r| r.first() == Some(&p)).count(), 1, "{rows:?}");
        let guards = fake.protections().into_iter().filter(|g| g.description.starts_with(RECEIPTS)).count();
        assert_eq!(guards, 1, "the receipts tab was made anew, Atlas's alone");
    }
}
