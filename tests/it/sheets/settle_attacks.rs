//! Settling receipts across failures (issue 24; attacks from a second hostile review): a put-back whose
//! reply is lost, a receipts tab the owner loosened, a write that made the receipts tab anew, a note that
//! repeats an earlier one. Notes are recorded before the receipts are cleared; a loosened tab's receipts
//! still keep a decision from counting for another record, but put nothing back.

use super::attacks::{approval, request};
use super::lost_receipts::{alice_approves_b_as_p_is_deleted, p_and_b};
use super::{cycle_with, reviewers, row_of, start};

const APPROVALS: &str = "Pending_Approvals";
const RECEIPTS: &str = "Atlas_Receipts";
const ALICE: usize = 8;

fn bodies(v: &serde_json::Value) -> Vec<String> {
    v["notes"].as_array().unwrap().iter().filter_map(|n| n["body"].as_str().map(str::to_owned)).collect()
}

sheet_test! {
    async fn note_typed_during_a_write_survives_a_lost_reply_of_the_put_back() {
        let (team, fake, sheets) = start().await;
        let id = request(&team, "rotate keys").await;
        cycle_with(&team, &sheets, &mut None, &reviewers()).await.unwrap();
        let row = row_of(&fake, APPROVALS, &id).0;
        fake.set_cell(APPROVALS, row, 6, "waiting for the vendor");
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("bob@example.com", APPROVALS, row, 6, "waiting for the vendor; they answered").unwrap();
        });
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        assert!(cycle_with(&team, &sheets, &mut None, &reviewers()).await.is_err());
        // The next cycle's first batchUpdate is the put-back of the left-over receipts.
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        assert!(cycle_with(&team, &sheets, &mut None, &reviewers()).await.is_err(), "the put-back's reply was lost");
        let mut structure = None;
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        }
        let b = bodies(&approval(&team, &id).await);
        let shown = row_of(&fake, APPROVALS, &id).1[6].clone();
        assert!(b.iter().any(|n| n.contains("they answered")) || shown.contains("they answered"),
            "the note typed during the write is lost: notes {b:?}, cell {shown:?}");
    }
}

// A1b: same, the put-back applies and the reply is OK, but the cycle's main write reply was OK too:
// baseline (control): the note is taken.
// A2: after a lost reply, the owner adds an editor to the receipts tab's protection (or it is otherwise
// untrusted): the receipts are dropped; alice's decision on B must not count for P.
sheet_test! {
    async fn receipts_in_a_loosened_tab_still_keep_a_decision_from_moving() {
        let (team, fake, sheets, p, b) = p_and_b().await;
        alice_approves_b_as_p_is_deleted(&fake, &p, &b);
        fake.lose_next_reply_of("spreadsheets.batchUpdate");
        assert!(cycle_with(&team, &sheets, &mut None, &reviewers()).await.is_err());
        fake.change_protection(RECEIPTS, |g| g.users.push("carol@example.com".into()));
        let mut structure = None;
        for _ in 0..3 {
            cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        }
        assert_eq!(approval(&team, &p).await["status"], "pending", "alice's decision on B never counts for P");
        // Nothing is put back from a tab that was not Atlas's alone: B's lost decision is named instead.
        let (_, critical) = team.call("GET", "/api/v1/errors?severity=critical", &team.viewer, None).await;
        assert!(critical.to_string().contains(&b), "the row not put back is named: {critical}");
    }
}

// A3: the receipts tab is untrusted, so the write makes it anew; the same write hits a moved row: the
// put-back must go to the new tab (not the deleted one's id) and the cycle succeed.
sheet_test! {
    async fn rows_are_put_back_into_the_tabs_of_a_write_that_made_the_receipts_tab_anew() {
        let (team, fake, sheets) = start().await;
        let ids = [request(&team, "rotate keys").await, request(&team, "resize volume").await];
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        fake.insert_blank_row(APPROVALS, 1);
        fake.set_cell(APPROVALS, 1, 0, "junk-1");
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        assert!(fake.tab(RECEIPTS).is_some());
        fake.change_protection(RECEIPTS, |g| g.users.push("carol@example.com".into()));
        fake.insert_blank_row(APPROVALS, 1);
        fake.set_cell(APPROVALS, 1, 0, "junk-2");
        let first = row_of(&fake, APPROVALS, &ids[0]).0;
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("alice@example.com", APPROVALS, first, ALICE, "approved").unwrap();
            state.delete_row(APPROVALS, 1);
        });
        let outcome = cycle_with(&team, &sheets, &mut structure, &reviewers()).await;
        let err = outcome.as_ref().err().map(|e| e.to_string());
        let mut later = Vec::new();
        for _ in 0..3 {
            later.push(cycle_with(&team, &sheets, &mut structure, &reviewers()).await.map(|_| ()).map_err(|e| e.to_string()));
        }
        assert_eq!(approval(&team, &ids[0]).await["status"], "approved", "decision lost; err {err:?} {later:?}");
        assert!(err.is_none(), "the cycle that made the receipts tab anew failed its put-back: {err:?}; later {later:?}");
    }
}

// A4: a person types the same note text a second time (a new remark) while Atlas rewrites the cell:
// dropped as a duplicate.
sheet_test! {
    async fn a_note_repeating_an_earlier_note_is_still_taken() {
        let (team, fake, sheets) = start().await;
        let id = request(&team, "rotate keys").await;
        let mut structure = None;
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        let row = row_of(&fake, APPROVALS, &id).0;
        fake.set_cell(APPROVALS, row, 6, "ping");
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        let shown = row_of(&fake, APPROVALS, &id).1[6].clone();
        // Days later: a new "ping" is typed, then more while Atlas rewrites the cell.
        fake.set_cell(APPROVALS, row, 6, &format!("{shown}\nping again"));
        let row2 = row;
        let shown2 = shown.clone();
        fake.before_next("spreadsheets.batchUpdate", move |state| {
            state.edit_as("bob@example.com", APPROVALS, row2, 6, &format!("{shown2}\nping again\nping")).unwrap();
        });
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        cycle_with(&team, &sheets, &mut structure, &reviewers()).await.unwrap();
        let b = bodies(&approval(&team, &id).await);
        assert_eq!(b.iter().filter(|n| n.as_str() == "ping").count(), 2, "second ping dropped: {b:?}");
    }
}
