//! Connections a server closed while Atlas was busy: a write must not go down one of them.

use super::{one_pending_approval, shared};
use atlas_actors::sheets::export::export;
use serde_json::json;
use std::time::Duration;

sheet_test! {
    /// The fake (actix-web) closes a connection idle for 5 s, as servers do on their own schedule. Atlas
    /// reads, then is busy (here: its thread blocked, as a long 10,000-row plan blocked it under load) past
    /// that, then writes: the write must open a fresh connection rather than die half-written
    /// ("Broken pipe"), because a write is never repeated blindly.
    async fn a_write_after_a_long_pause_does_not_reuse_a_connection_the_server_closed() {
        let (_team, fake, sheets, desired) = one_pending_approval().await;
        let mut structure = None;
        export(&sheets, &mut structure, &shared(), &desired).await.unwrap();

        let tabs = sheets.sheets().await.unwrap();
        let pending = tabs.iter().find(|t| t.title == "Pending_Approvals").unwrap();
        std::thread::sleep(Duration::from_millis(5_500)); // nothing else on this thread runs meanwhile
        let append = json!({"appendDimension": {"sheetId": pending.sheet_id, "dimension": "ROWS", "length": 1}});
        sheets.update_structure(vec![serde_json::from_value(append).unwrap()]).await.expect("a fresh connection");
        assert_eq!(fake.tab("Pending_Approvals").unwrap().row_count, pending.row_count as usize + 1);
    }
}
