//! Acting on what receipts showed (`receipts.rs`), in the one order that survives a failure at any step:
//! first record in the database the values a misplaced write left under another record's ID (seen, never
//! taken: recording them twice is harmless), then put the rows back and clear the receipts in one
//! request (so they are never put back twice), then add the notes typed while Atlas rewrote their cell
//! (a note already there is not added again). Receipts whose write's reply was lost, or whose cycle
//! stopped before this, are still in the receipts tab: the next cycle judges and settles them first,
//! before it imports anything.

use super::contract::{Layout, TABS};
use super::cycle::{CycleError, Mirror};
use super::export::Snapshot;
use super::import::note_target;
use super::receipts::{self, Findings, RECEIPTS_TAB};
use crate::domain::command::NoteTarget;
use crate::domain::Command;
use crate::store::queries::notes::{self, NoteSubject};

impl Mirror<'_> {
    /// Settles what a write's receipts showed; the rows put back.
    pub(super) async fn settle(&self, findings: Findings, snapshot: &Snapshot) -> Result<usize, CycleError> {
        if findings.is_empty() {
            return Ok(0);
        }
        if !findings.unbound.is_empty() {
            let cells = findings.unbound.clone();
            self.submit(Command::RecordSheetCells { cells, removed: Vec::new() }, "sheets")
                .await?
                .map_err(|err| CycleError::Store(err.to_string()))?;
        }
        let restored = findings.restore.iter().map(Vec::len).sum();
        // The receipts tab as the write left it (a new one has an id this snapshot does not know yet:
        // looked up again).
        let tabs = match snapshot.structure.iter().any(|s| s.title == RECEIPTS_TAB) {
            true => snapshot.structure.clone(),
            false => self.client.sheets().await?,
        };
        if let Some(receipts_tab) = tabs.iter().find(|s| s.title == RECEIPTS_TAB) {
            let requests = super::write::put_back(&findings.restore, &tabs, receipts_tab.sheet_id);
            self.client.update_structure(requests).await?;
        }
        for (t, id, body) in &findings.notes {
            let Some(target) = note_target(*t, id) else { continue };
            if self.has_note(&target, body).await? {
                continue;
            }
            if let Err(err) = self.submit(Command::AddNote { target, body: body.clone() }, "sheets").await? {
                tracing::warn!(error = %err, "Could not record a note typed during the export.");
            }
        }
        Ok(restored)
    }

    /// Judges and settles receipts the last cycle left in the receipts tab (its write's reply was lost, or
    /// it stopped before settling them); only from a tab that is Atlas's alone. Whether rows were put back
    /// (the snapshot no longer shows the sheet then). An unguarded tab's content is not trusted: the next
    /// write makes the tab anew.
    pub(super) async fn settle_left_over(&self, snapshot: &Snapshot, layout: &Layout) -> Result<bool, CycleError> {
        let Some((rows, protections)) = &snapshot.receipts else { return Ok(false) };
        if rows.is_empty() || !receipts::guarded(protections, self.client.account(), self.owner) {
            return Ok(false);
        }
        let titles = [TABS[0].title, TABS[1].title, TABS[2].title];
        let findings = receipts::judge(layout, &titles, &receipts::parse(rows));
        if findings.is_empty() {
            return Ok(false);
        }
        tracing::warn!("A write's receipts were left unsettled (its reply was lost); settling them now.");
        Ok(self.settle(findings, snapshot).await? > 0)
    }

    /// Whether the record already has a note saying exactly `body` (a settle retried after its put-back).
    async fn has_note(&self, target: &NoteTarget, body: &str) -> Result<bool, CycleError> {
        let (subject, id) = match target {
            NoteTarget::Approval(id) => (NoteSubject::Approval, id.to_string()),
            NoteTarget::Run(id) => (NoteSubject::Run, id.to_string()),
            NoteTarget::Error(id) => (NoteSubject::Error, id.to_string()),
        };
        let body = body.to_owned();
        self.readers
            .read(move |conn| Ok(notes::for_subject(conn, subject, &id)?.iter().any(|n| n.body == body)))
            .await
            .map_err(|err| CycleError::Store(err.to_string()))
    }
}
