//! One sync cycle: read the three tabs once, import human edits through the writer (as actor `sheets`,
//! through exactly the same gate as the API), then export over the same snapshot, restoring refused
//! cells. Within one cycle: one values.batchGet, at most one spreadsheets.batchUpdate and one
//! values.batchUpdate (split past 2 MB), plus one spreadsheets.get while the structure is unknown.

use super::client::{SheetInfo, SheetsClient, SheetsError};
use super::contract::TABS;
use super::export::{desired_rows, read_snapshot, write, ExportReport, MirrorScope, Snapshot};
use super::import::{plan_import, ImportPlan};
use super::plan::Row;
use crate::domain::command::{NewHotlistError, NoteTarget, SyncOutcome};
use crate::domain::{Actor, ApprovalId, Clock, Command, CommandError, ErrorId, RunId, Severity};
use crate::store::queries::hotlist;
use crate::store::queries::sheet_cells::{self, Baseline};
use crate::store::queries::sync_state;
use crate::store::{ReaderPool, WriterHandle};
use std::collections::HashSet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub edits_applied: u64,
    pub edits_refused: u64,
    pub broken_tabs: Vec<String>,
    pub export: ExportReport,
}

/// Why a cycle stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum CycleError {
    Sheets(SheetsError),
    /// The database could not take the sheet's edits; nothing was exported over them.
    Store(String),
}

impl std::fmt::Display for CycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sheets(err) => write!(f, "{err}"),
            Self::Store(err) => write!(f, "the database could not take the sheet's edits: {err}"),
        }
    }
}

impl From<SheetsError> for CycleError {
    fn from(err: SheetsError) -> Self {
        Self::Sheets(err)
    }
}

/// Everything a cycle needs.
pub struct Mirror<'a> {
    pub client: &'a SheetsClient,
    pub readers: &'a ReaderPool,
    pub writer: &'a WriterHandle,
    pub clock: &'a dyn Clock,
    pub scope: &'a MirrorScope,
    pub allow_self_approval: bool,
}

fn note_on(tab: usize, id: &str) -> Option<NoteTarget> {
    match tab {
        0 => ApprovalId::parse(id).ok().map(NoteTarget::Approval),
        1 => RunId::parse(id).ok().map(NoteTarget::Run),
        _ => ErrorId::parse(id).ok().map(NoteTarget::Error),
    }
}

impl Mirror<'_> {
    async fn submit(&self, command: Command, actor: &str) -> Result<Result<(), CommandError>, CycleError> {
        match self.writer.submit(command, Actor::new(actor)).await {
            Ok(_) => Ok(Ok(())),
            Err(err @ (CommandError::Unavailable(_) | CommandError::Storage(_))) => {
                Err(CycleError::Store(err.to_string()))
            }
            Err(refused) => Ok(Err(refused)),
        }
    }

    /// Applies accepted edits (a refusal by the writer becomes a refused edit) and records refusals.
    async fn apply(&self, plan: &mut ImportPlan) -> Result<u64, CycleError> {
        let mut applied = 0;
        for accepted in plan.accepted.clone() {
            match self.submit(accepted.command.clone(), "sheets").await? {
                Ok(()) => applied += 1,
                Err(refused) => plan.refuse_accepted(&accepted, refused.to_string()),
            }
        }
        for refused in &plan.refused {
            let still_there = !refused.row_id.is_empty();
            let command = Command::RejectSheetEdit {
                tab: TABS[refused.tab].title.to_owned(),
                row_id: if still_there { refused.row_id.clone() } else { format!("row {}", refused.row + 1) },
                column: refused.column.map(|c| TABS[refused.tab].headers[c].to_owned()),
                reason: refused.reason.clone(),
                note_on: if refused.column.is_some() { note_on(refused.tab, &refused.row_id) } else { None },
            };
            if let Err(err) = self.submit(command, "sheets").await? {
                tracing::warn!(error = %err, "Could not record a refused sheet edit.");
            }
        }
        for (_, problem) in &plan.broken_tabs {
            let text = format!("Google Sheets structure changed: {problem}");
            let lookup = text.clone();
            let known = self
                .readers
                .read(move |conn| hotlist::unresolved_exists(conn, "sheets", &lookup))
                .await
                .unwrap_or(false);
            if !known {
                let error = NewHotlistError {
                    id: ErrorId::generate(),
                    task_id: None,
                    error: text,
                    severity: Severity::Critical,
                    source: "sheets".into(),
                };
                self.submit(Command::RecordError(error), "sheets").await?.ok();
            }
        }
        Ok(applied)
    }

    /// The baseline, and whether any sync ever succeeded (a missing tab is then a human's doing).
    async fn baseline(&self) -> Result<(Baseline, bool), CycleError> {
        self.readers
            .read(|conn| {
                let synced = sync_state::all(conn)?.iter().any(|s| s.last_success_at.is_some());
                Ok((sheet_cells::all(conn)?, synced))
            })
            .await
            .map_err(|err| CycleError::Store(err.to_string()))
    }

    /// Records a direction's outcome (best effort: the outcome itself is returned either way).
    async fn record(&self, direction: &str, outcome: Result<(u64, u64), &CycleError>, requests_before: u64) {
        let (ok, error, applied, refused) = match outcome {
            Ok((applied, refused)) => (true, None, applied, refused),
            Err(err) => (false, Some(err.to_string()), 0, 0),
        };
        let record = SyncOutcome {
            direction: direction.to_owned(),
            ok,
            error,
            requests: self.client.requests() - requests_before,
            edits_applied: applied,
            edits_rejected: refused,
        };
        if let Err(err) = self.writer.submit(Command::RecordSync(record), Actor::new("sheets")).await {
            tracing::warn!(error = %err, "Could not record the sync outcome.");
        }
    }

    /// Records what the editable cells hold now, so the next cycle can tell a human's edit from a stale cell.
    async fn remember(
        &self,
        snapshot: &Snapshot,
        desired: &[Vec<Row>; 3],
        rewrite: &[HashSet<(usize, usize)>; 3],
        baseline: &Baseline,
    ) -> Result<(), CycleError> {
        let (cells, removed) = super::baseline::changes(snapshot, desired, rewrite, baseline);
        if cells.is_empty() && removed.is_empty() {
            return Ok(());
        }
        self.submit(Command::RecordSheetCells { cells, removed }, "sheets")
            .await?
            .map_err(|err| CycleError::Store(err.to_string()))
    }

    /// Import then export, with the outcome recorded for both directions. `structure` caches the
    /// spreadsheet's tabs between cycles.
    pub async fn cycle(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<CycleReport, CycleError> {
        let before = self.client.requests();
        let outcome = self.cycle_once(structure).await;
        let counts = outcome.as_ref().map(|r| (r.edits_applied, r.edits_refused));
        self.record("import", counts, before).await;
        self.record("export", counts.map(|_| (0, 0)), before).await;
        if outcome.is_err() {
            *structure = None; // whatever failed, look at the spreadsheet afresh next time
        }
        outcome
    }

    async fn cycle_once(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<CycleReport, CycleError> {
        let shown = desired_rows(self.readers, self.scope, self.clock.now()).await.map_err(CycleError::Store)?;
        let (baseline, synced_before) = self.baseline().await?;
        let snapshot = read_snapshot(self.client, structure).await?;
        let mut plan = plan_import(&snapshot.tabs, &shown, &baseline, synced_before, self.allow_self_approval);
        let edits_applied = self.apply(&mut plan).await?;
        let desired = desired_rows(self.readers, self.scope, self.clock.now()).await.map_err(CycleError::Store)?;
        let export = write(self.client, structure, &snapshot, &desired, &plan.rewrite).await?;
        self.remember(&snapshot, &desired, &plan.rewrite, &baseline).await?;
        Ok(CycleReport {
            edits_applied,
            edits_refused: plan.refused.len() as u64,
            broken_tabs: plan.broken_tabs.into_iter().map(|(_, problem)| problem).collect(),
            export,
        })
    }

    /// Export only (no import): human edits are left for the next cycle; cells no human touched are
    /// brought up to date.
    pub async fn export_only(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<ExportReport, CycleError> {
        let before = self.client.requests();
        let outcome = self.export_once(structure).await;
        self.record("export", outcome.as_ref().map(|_| (0, 0)), before).await;
        if outcome.is_err() {
            *structure = None;
        }
        outcome
    }

    async fn export_once(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<ExportReport, CycleError> {
        let desired = desired_rows(self.readers, self.scope, self.clock.now()).await.map_err(CycleError::Store)?;
        let (baseline, synced_before) = self.baseline().await?;
        let snapshot = read_snapshot(self.client, structure).await?;
        let plan = plan_import(&snapshot.tabs, &desired, &baseline, synced_before, self.allow_self_approval);
        let report = write(self.client, structure, &snapshot, &desired, &plan.db_moved).await?;
        self.remember(&snapshot, &desired, &plan.db_moved, &baseline).await?;
        Ok(report)
    }
}
