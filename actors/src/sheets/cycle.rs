//! One sync cycle: read the three tabs once (cells, sizes and protections in one request), check the
//! reviewer columns' protections, import human edits through the writer (each decision as the reviewer's
//! token, through exactly the same gate as the API), then export over the same snapshot, restoring refused
//! cells. Within one quiet cycle: one spreadsheets.get. A cycle that writes adds one
//! spreadsheets.batchUpdate (split past 2 MB; `write.rs`), one more to put back what its receipts show it
//! hit (`receipts.rs`), one per loose reviewer column to protect and clear it (`loose.rs`), and one
//! structure-only read while the tabs are unknown.

use super::client::{SheetInfo, SheetsClient, SheetsError};
use super::contract::{column_letter, Layout, TABS};
use super::export::{desired_rows, read_snapshot, write, ExportReport, MirrorScope, Snapshot, WriteRules};
use super::import::{note_target, plan_import, ImportPlan, ImportRules};
use super::plan::Row;
use crate::domain::access::is_reserved_actor;
use crate::domain::command::{NewHotlistError, SyncOutcome};
use crate::domain::SheetCommand;
use crate::domain::{Actor, Applied, Clock, Command, CommandError, CommandOutcome, ErrorId, Permission, Severity};
use crate::store::queries::sheet_cells::{self, Baseline};
use crate::store::queries::{hotlist, sync_state, tokens};
use crate::store::{ReaderPool, WriterHandle};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CycleReport {
    pub edits_applied: u64,
    pub edits_refused: u64,
    pub broken_tabs: Vec<String>,
    /// Reviewer columns whose protection had drifted (they decided nothing this cycle).
    pub drifted_columns: Vec<String>,
    pub export: ExportReport,
}

/// Why a cycle stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum CycleError {
    Sheets(SheetsError),
    /// The database could not take the sheet's edits; nothing was exported over them.
    Store(String),
}

impl CycleError {
    /// Google's quota was exhausted: the cycle is put off, with Google's `Retry-After` when it sent one.
    pub fn quota(&self) -> Option<Option<std::time::Duration>> {
        match self {
            Self::Sheets(err) => err.quota(),
            Self::Store(_) => None,
        }
    }
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
    pub layout: &'a Layout,
    /// The spreadsheet's owner (`sheets.owner`): Google keeps it among every protected range's editors.
    pub owner: Option<&'a str>,
    pub allow_self_approval: bool,
    /// Whether a sheet decision counts on a row whose payload is not shown whole.
    pub allow_partial_payload: bool,
    /// Who the cycle runs for: `sheets` on its schedule, the caller's name for "sync now". Its sync
    /// records are theirs (the edits it imports stay their sheet editors').
    pub requested_by: &'a Actor,
}

/// What the protection check found on Pending_Approvals.
#[derive(Default)]
pub(super) struct Protections {
    /// Reviewer columns that decide nothing this cycle, with why: loose now, or loose before and not
    /// cleared by Atlas since (`loose.rs`).
    pub(super) drifted: HashMap<usize, String>,
    /// Of those, the ones whose protection is loose now (one hotlist entry each while unresolved).
    pub(super) loose_now: HashSet<usize>,
    /// Columns Atlas cannot write (a protection without its service account).
    pub(super) blocked: HashSet<usize>,
    /// Requests for columns added now and for Status (go with the cycle's structure request).
    pub(super) create: Vec<google_sheets4::api::Request>,
    /// Per column loose now: the requests repairing its protection (sent with the column's clear).
    pub(super) repair: HashMap<usize, Vec<google_sheets4::api::Request>>,
    /// The approvals tab, as read.
    pub(super) sheet_id: Option<i32>,
}

impl Mirror<'_> {
    pub(super) async fn submit(&self, command: Command, actor: &str) -> Result<Result<(), CommandError>, CycleError> {
        match self.writer.submit(command, Actor::new(actor)).await {
            // The approval was closed as superseded (committed): for the sheet, a refused decision.
            Ok(CommandOutcome { applied: Applied::Superseded { reason, .. }, .. }) => Ok(Err(CommandError::Conflict(
                format!("the approval can never apply and was closed as superseded: {reason}"),
            ))),
            Ok(_) => Ok(Ok(())),
            // The store could not take it (nothing was judged): the cycle stops, the sheet keeps the edit.
            Err(
                err @ (CommandError::Unavailable(_)
                | CommandError::Restoring(_)
                | CommandError::Storage(_)
                | CommandError::StorageFull(_)
                | CommandError::StorageFault(_)),
            ) => Err(CycleError::Store(err.to_string())),
            Err(refused) => Ok(Err(refused)),
        }
    }

    /// Why `token` may not decide approvals from the sheet now, if it may not (over HTTP the token's role
    /// is checked the same way, by the request's `Auth`).
    async fn reviewer_refusal(&self, token: &str) -> Result<Option<String>, CycleError> {
        if is_reserved_actor(token) {
            return Ok(Some(format!("{token:?} is one of Atlas's own names and cannot review")));
        }
        let name = token.to_owned();
        let found = self
            .readers
            .read(move |conn| tokens::get(conn, &name))
            .await
            .map_err(|err| CycleError::Store(err.to_string()))?;
        Ok(match found {
            None => Some(format!("there is no Atlas token named {token}; its decisions cannot count")),
            Some(t) if t.revoked_at.is_some() => Some(format!("token {token} is revoked; its decisions do not count")),
            Some(t) if !t.role.allows(Permission::Review) => {
                Some(format!("token {token} has role {}, which may not review approvals", t.role))
            }
            Some(_) => None,
        })
    }

    /// Records one critical hotlist entry with `text` unless an unresolved one already says it.
    pub(super) async fn report_once(&self, text: String) -> Result<(), CycleError> {
        let lookup = text.clone();
        let known =
            self.readers.read(move |conn| hotlist::unresolved_exists(conn, "sheets", &lookup)).await.unwrap_or(false);
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
        Ok(())
    }

    /// Applies accepted edits (a refusal by the writer becomes a refused edit) and records refusals.
    async fn apply(&self, plan: &mut ImportPlan, protections: &Protections) -> Result<u64, CycleError> {
        let mut applied = 0;
        for accepted in plan.accepted.clone() {
            if accepted.actor != "sheets" {
                if let Some(reason) = self.reviewer_refusal(&accepted.actor).await? {
                    plan.refuse_accepted(&accepted, reason);
                    continue;
                }
            }
            let command = Command::Sheet(SheetCommand::Import {
                cell: accepted.cell.clone(),
                edit: Box::new(accepted.command.clone()),
            });
            match self.submit(command, &accepted.actor).await? {
                Ok(()) => applied += 1,
                Err(refused) => plan.refuse_accepted(&accepted, refused.to_string()),
            }
        }
        let mut per_tab: [Vec<String>; 3] = Default::default();
        for refused in &plan.refused {
            let still_there = !refused.row_id.is_empty();
            let column = refused.column.map(|c| self.layout.header(refused.tab, c));
            let row_id = if still_there { refused.row_id.clone() } else { format!("row {}", refused.row + 1) };
            let cell = column.as_ref().map_or(String::new(), |c| format!(" column {c}"));
            per_tab[refused.tab].push(format!("{row_id}{cell}: {}", refused.reason));
            let command = Command::Sheet(SheetCommand::RejectEdit {
                tab: TABS[refused.tab].title.to_owned(),
                row_id,
                column,
                // Never so long that the note carrying it is refused (the refusal would then be a log line).
                reason: refused.reason.chars().take(1000).collect(),
                note_on: if refused.on_record { note_target(refused.tab, &refused.row_id) } else { None },
                cell: refused.cell.clone(),
            });
            if let Err(err) = self.submit(command, "sheets").await? {
                tracing::warn!(error = %err, "Could not record a refused sheet edit.");
            }
        }
        for (t, refusals) in per_tab.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
            // One hotlist entry per tab per cycle, not one per refusal (which would bury real errors).
            let mut text = format!("{} sheet edit(s) refused in {} this cycle: ", refusals.len(), TABS[t].title);
            text.push_str(&refusals.iter().take(3).cloned().collect::<Vec<_>>().join("; "));
            if refusals.len() > 3 {
                text.push_str(&format!("; and {} more (audit type sheets.edit_rejected)", refusals.len() - 3));
            }
            let error = NewHotlistError {
                id: ErrorId::generate(),
                task_id: None,
                error: text,
                severity: Severity::Medium,
                source: "sheets".into(),
            };
            self.submit(Command::RecordError(error), "sheets").await?.ok();
        }
        for (_, problem) in &plan.broken_tabs {
            self.report_once(format!("Google Sheets structure changed: {problem}")).await?;
        }
        let mut loose: Vec<&usize> = protections.loose_now.iter().collect();
        loose.sort();
        for &column in loose {
            self.report_once(self.drift_text(column)).await?;
        }
        Ok(applied)
    }

    /// The one hotlist text of a drifted reviewer column (stable, so it is raised once while unresolved).
    pub(super) fn drift_text(&self, column: usize) -> String {
        format!(
            "Google Sheets reviewer column {} ({}) is not protected as it must be; its decisions are not counted \
             until its protection is intact (Atlas tries to repair it)",
            column_letter(column),
            self.layout.header(0, column)
        )
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
        let deferred = outcome.as_ref().err().is_some_and(|err| err.quota().is_some());
        let (ok, error, applied, refused) = match outcome {
            Ok((applied, refused)) => (true, None, applied, refused),
            Err(err) if deferred => (false, Some(format!("deferred: {err}")), 0, 0),
            Err(err) => (false, Some(err.to_string()), 0, 0),
        };
        let record = SyncOutcome {
            direction: direction.to_owned(),
            ok,
            error,
            requests: self.client.requests() - requests_before,
            edits_applied: applied,
            edits_rejected: refused,
            deferred,
        };
        if let Err(err) =
            self.writer.submit(Command::Sheet(SheetCommand::Synced(record)), self.requested_by.clone()).await
        {
            tracing::warn!(error = %err, "Could not record the sync outcome.");
        }
    }

    /// Records what the cells hold now, so the next cycle can tell a human's edit from a stale cell.
    async fn remember(
        &self,
        snapshot: &Snapshot,
        desired: &[Vec<Row>; 3],
        plan: &ImportPlan,
        rewrite: &[HashSet<(usize, usize)>; 3],
        baseline: &Baseline,
    ) -> Result<(), CycleError> {
        let broken: Vec<usize> = plan.broken_tabs.iter().map(|(t, _)| *t).collect();
        let (cells, removed) =
            super::baseline::changes(self.layout, snapshot, desired, rewrite, &plan.waiting, &broken, baseline);
        if cells.is_empty() && removed.is_empty() {
            return Ok(());
        }
        self.submit(Command::Sheet(SheetCommand::RecordCells { cells, removed }), "sheets")
            .await?
            .map_err(|err| CycleError::Store(err.to_string()))
    }

    /// Checks the reviewer columns' protections on the approvals tab as just read; a column found loose
    /// now, or loose before and not cleared since, decides nothing (`loose.rs`).
    async fn protections(&self, snapshot: &Snapshot) -> Result<Protections, CycleError> {
        let Some(info) = snapshot.structure.iter().find(|s| s.title == TABS[0].title) else {
            return Ok(Protections::default()); // a new tab gets its protections when it is created
        };
        // A column is new (protected now, not reported) only while its header is not there yet and no
        // protection of Atlas's names its reviewer; anything else lacking an intact protection drifted.
        let header = snapshot.tabs[0].as_ref().and_then(|rows| rows.first()).cloned().unwrap_or_default();
        let new_columns: Vec<usize> = self
            .layout
            .deciders()
            .iter()
            .filter(|d| header.get(d.column).map(|h| h.trim()) != Some(d.token.as_str()))
            .filter(|d| !super::structure::ever_protected(&snapshot.protections, &d.token))
            .map(|d| d.column)
            .collect();
        let checked = super::structure::check(
            self.layout,
            info.sheet_id,
            &snapshot.protections,
            &new_columns,
            super::structure::StandingEditors { account: self.client.account(), owner: self.owner },
        );
        let blocked = super::structure::blocked_columns(self.layout, &snapshot.protections, self.client.account());
        let mut drifted = checked.drifted.clone();
        drifted.extend(checked.new.clone());
        let mut protections = Protections {
            loose_now: checked.drifted.keys().copied().collect(),
            drifted,
            create: checked.create,
            repair: checked.repairs,
            blocked,
            sheet_id: Some(info.sheet_id),
        };
        self.quarantine(&mut protections).await?;
        Ok(protections)
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

    fn rules<'a>(
        &'a self,
        baseline: &'a Baseline,
        synced: bool,
        drifted: &'a HashMap<usize, String>,
    ) -> ImportRules<'a> {
        ImportRules {
            layout: self.layout,
            baseline,
            synced_before: synced,
            allow_self_approval: self.allow_self_approval,
            allow_partial_payload: self.allow_partial_payload,
            drifted,
        }
    }

    async fn desired(&self) -> Result<[Vec<Row>; 3], CycleError> {
        desired_rows(self.readers, self.layout, self.scope, self.clock.now()).await.map_err(CycleError::Store)
    }

    /// The sheet as it is, once receipts an earlier cycle left unsettled have been settled.
    async fn snapshot(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<Snapshot, CycleError> {
        let snapshot = read_snapshot(self.client, structure).await?;
        if !self.settle_left_over(&snapshot, self.layout).await? {
            return Ok(snapshot);
        }
        *structure = None;
        Ok(read_snapshot(self.client, structure).await?)
    }

    /// The write's rules besides the import's: the receipts tab made anew when it is not Atlas's alone.
    fn receipts_unguarded(&self, snapshot: &Snapshot) -> bool {
        snapshot
            .receipts
            .as_ref()
            .is_some_and(|(_, protections)| !super::receipts::guarded(protections, self.client.account(), self.owner))
    }

    async fn cycle_once(&self, structure: &mut Option<Vec<SheetInfo>>) -> Result<CycleReport, CycleError> {
        let shown = self.desired().await?;
        let snapshot = self.snapshot(structure).await?;
        let (baseline, synced_before) = self.baseline().await?;
        let protections = self.protections(&snapshot).await?;
        let mut plan = plan_import(&snapshot.tabs, &shown, &self.rules(&baseline, synced_before, &protections.drifted));
        let edits_applied = self.apply(&mut plan, &protections).await?;
        let desired = self.desired().await?;
        let rules = WriteRules {
            rewrite: plan.rewrite.clone(),
            protect: protections.create.clone(),
            blocked_columns: [protections.blocked.clone(), Default::default(), Default::default()],
            receipts_unguarded: self.receipts_unguarded(&snapshot),
            receipt_time: crate::domain::format_timestamp(self.clock.now()),
            ..Default::default()
        };
        let mut export = write(self.client, structure, self.layout, &snapshot, &desired, &rules).await?;
        // What the export did not write (a column Atlas cannot write) still shows what the sheet held.
        let mut written = plan.rewrite.clone();
        written[0].retain(|(_, column)| !protections.blocked.contains(column));
        self.remember(&snapshot, &desired, &plan, &written, &baseline).await?;
        // After the baseline: the values a misplaced write left are recorded as seen last, so they stay.
        export.rows_restored = self.settle(std::mem::take(&mut export.findings), &snapshot, export.receipts_id).await?;
        self.clear_loose(&protections).await?;
        let mut drifted_columns: Vec<String> = protections.drifted.keys().map(|&c| self.layout.header(0, c)).collect();
        drifted_columns.sort();
        Ok(CycleReport {
            edits_applied,
            edits_refused: plan.refused.len() as u64,
            broken_tabs: plan.broken_tabs.into_iter().map(|(_, problem)| problem).collect(),
            drifted_columns,
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
        let desired = self.desired().await?;
        let snapshot = self.snapshot(structure).await?;
        let (baseline, synced_before) = self.baseline().await?;
        let protections = self.protections(&snapshot).await?;
        let mut plan =
            plan_import(&snapshot.tabs, &desired, &self.rules(&baseline, synced_before, &protections.drifted));
        // Nothing is imported here: every human edit waits for the next full cycle.
        plan.waiting = std::array::from_fn(|t| {
            plan.refused
                .iter()
                .filter(|r| r.tab == t)
                .filter_map(|r| r.column.map(|c| (r.row, c)))
                .chain(plan.accepted.iter().filter(|a| a.tab == t).map(|a| (a.row, a.column)))
                .chain(plan.waiting[t].iter().copied())
                .collect()
        });
        // A retired row holding a human's edit stays for the next full cycle to import or refuse.
        let keep_rows = std::array::from_fn(|t| {
            let accepted = plan.accepted.iter().filter(|a| a.tab == t).map(|a| a.row);
            accepted.chain(plan.refused.iter().filter(|r| r.tab == t && r.column.is_some()).map(|r| r.row)).collect()
        });
        let rules = WriteRules {
            rewrite: plan.db_moved.clone(),
            keep_rows,
            protect: protections.create.clone(),
            blocked_columns: [protections.blocked.clone(), Default::default(), Default::default()],
            receipts_unguarded: self.receipts_unguarded(&snapshot),
            receipt_time: crate::domain::format_timestamp(self.clock.now()),
        };
        let mut report = write(self.client, structure, self.layout, &snapshot, &desired, &rules).await?;
        self.remember(&snapshot, &desired, &plan, &plan.db_moved, &baseline).await?;
        report.rows_restored = self.settle(std::mem::take(&mut report.findings), &snapshot, report.receipts_id).await?;
        Ok(report)
    }
}
