//! Acting on what receipts showed (`receipts.rs`), in the one order that survives a failure at any step:
//! first record in the database the values a misplaced write left under another record's ID (seen, never
//! taken) and the notes typed while Atlas rewrote their cell (a note this write already added is not
//! added again), then put the rows back and clear the receipts in one request (so they are never put
//! back twice). Receipts whose write's reply was lost, or whose cycle stopped before this, are still in
//! the receipts tab: the next cycle judges and settles them first, before it imports anything.

use super::contract::{Layout, TITLES};
use super::cycle::{CycleError, Mirror};
use super::export::Snapshot;
use super::import::note_target;
use super::receipts::{self, Findings, RECEIPTS_TAB};
use crate::domain::command::NoteTarget;
use crate::domain::Command;
use crate::domain::SheetCommand;
use crate::store::queries::notes::{self, NoteSubject};

impl Mirror<'_> {
    /// Settles what a write's receipts showed, the receipts being in tab `receipts_id` (the snapshot's
    /// when `None`); the rows put back.
    pub(super) async fn settle(
        &self,
        findings: Findings,
        snapshot: &Snapshot,
        receipts_id: Option<i32>,
    ) -> Result<usize, CycleError> {
        if findings.is_empty() {
            return Ok(0);
        }
        self.record_findings(&findings).await?;
        let restored = findings.restore.iter().map(Vec::len).sum();
        let known = snapshot.structure.iter().find(|s| s.title == RECEIPTS_TAB).map(|s| s.sheet_id);
        if let Some(receipts_tab) = receipts_id.or(known) {
            let requests = super::write::put_back(&findings.restore, &snapshot.structure, receipts_tab);
            self.client.update_structure(requests).await?;
        }
        Ok(restored)
    }

    /// The database's part, before the sheet changes: values seen and not taken, then notes.
    async fn record_findings(&self, findings: &Findings) -> Result<(), CycleError> {
        if !findings.unbound.is_empty() {
            let cells = findings.unbound.clone();
            self.submit(Command::Sheet(SheetCommand::RecordCells { cells, removed: Vec::new() }), "sheets")
                .await?
                .map_err(|err| CycleError::Store(err.to_string()))?;
        }
        for (t, id, body, at) in &findings.notes {
            let Some(target) = note_target(*t, id) else { continue };
            if self.noted_since(&target, body, at).await? {
                continue;
            }
            if let Err(err) = self.submit(Command::AddNote { target, body: body.clone() }, "sheets").await? {
                tracing::warn!(error = %err, "Could not record a note typed during the export.");
            }
        }
        Ok(())
    }

    /// Judges and settles receipts the last cycle left in the receipts tab (its write's reply was lost, or
    /// it stopped before settling them). Whether rows were put back (the snapshot is then out of date).
    /// From a tab that is not Atlas's alone (only the spreadsheet's owner can have loosened it) nothing is
    /// put back, but what it names is still held back from counting, and the rows it would have put back
    /// are reported; the next write makes the tab anew.
    pub(super) async fn settle_left_over(&self, snapshot: &Snapshot, layout: &Layout) -> Result<bool, CycleError> {
        let Some((rows, protections)) = &snapshot.receipts else { return Ok(false) };
        let findings = receipts::judge(layout, &TITLES, &receipts::parse(rows));
        if findings.is_empty() {
            return Ok(false);
        }
        if !receipts::guarded(protections, self.client.account(), self.owner) {
            let unbound = Findings { unbound: findings.unbound.clone(), ..Findings::default() };
            self.record_findings(&unbound).await?;
            let named: Vec<String> = findings.restore.iter().flatten().map(|row| row[0].clone()).collect();
            if !named.is_empty() {
                self.report_once(format!(
                    "Google Sheets: {RECEIPTS_TAB} was not Atlas's alone, so {} row(s) a write hit were not put \
                     back (IDs {}); what they held must be typed again",
                    named.len(),
                    named.join(", ")
                ))
                .await?;
            }
            return Ok(false);
        }
        tracing::warn!("A write's receipts were left unsettled (its reply was lost); settling them now.");
        Ok(self.settle(findings, snapshot, None).await? > 0)
    }

    /// Whether the record has a note saying exactly `body` made at or after `at` (this write's own, added
    /// by a settle that did not finish).
    async fn noted_since(&self, target: &NoteTarget, body: &str, at: &str) -> Result<bool, CycleError> {
        let (subject, id) = match target {
            NoteTarget::Approval(id) => (NoteSubject::Approval, id.to_string()),
            NoteTarget::Run(id) => (NoteSubject::Run, id.to_string()),
            NoteTarget::Error(id) => (NoteSubject::Error, id.to_string()),
        };
        let (body, at) = (body.to_owned(), at.to_owned());
        self.readers
            .read(move |conn| {
                Ok(notes::for_subject(conn, subject, &id)?.iter().any(|n| n.body == body && n.created_at >= at))
            })
            .await
            .map_err(|err| CycleError::Store(err.to_string()))
    }
}
