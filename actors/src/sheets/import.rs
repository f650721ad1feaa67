//! Import planning (sheet -> database), pure: compares each tab with what the database showed and turns
//! human edits into commands. Only the contract's columns flow back (approvals Status and Notes, runs
//! Notes, errors Resolved, Resolution and Notes); anything else a human changed is refused, explained and
//! restored by the export that follows. One bad row never blocks the valid ones.

use super::contract::{TabContract, TABS};
use super::plan::Row;
use crate::domain::command::{Decision, NoteTarget};
use crate::domain::{ApprovalId, Command, ErrorId, RunId};
use crate::store::queries::sheet_cells::Baseline;
use std::collections::{HashMap, HashSet};

/// A human edit Atlas accepted, as the command that applies it.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub tab: usize,
    pub row: usize,
    pub row_id: String,
    pub column: usize,
    pub command: Command,
}

/// A human edit Atlas refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub tab: usize,
    pub row: usize,
    pub row_id: String,
    pub column: Option<usize>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportPlan {
    pub accepted: Vec<Accepted>,
    pub refused: Vec<Refused>,
    /// Tabs whose structure a human changed: not imported, reported, repaired by the export.
    pub broken_tabs: Vec<(usize, String)>,
    /// Editable cells (per tab: sheet row, column) the export must rewrite from the database.
    pub rewrite: [HashSet<(usize, usize)>; 3],
    /// Of those, cells no human touched whose database value moved on (an export-only run writes these).
    pub db_moved: [HashSet<(usize, usize)>; 3],
}

impl ImportPlan {
    /// Turns an accepted edit whose command the writer refused into a refusal.
    pub fn refuse_accepted(&mut self, accepted: &Accepted, reason: String) {
        self.rewrite[accepted.tab].insert((accepted.row, accepted.column));
        self.refused.push(Refused {
            tab: accepted.tab,
            row: accepted.row,
            row_id: accepted.row_id.clone(),
            column: Some(accepted.column),
            reason,
        });
    }
}

fn cells(row: &[String], width: usize) -> Vec<String> {
    let mut cells: Vec<String> = row.to_vec();
    cells.resize(width.max(cells.len()), String::new());
    cells
}

/// Why a tab cannot be imported, if it cannot.
pub fn structure_problem(tab: &TabContract, sheet: Option<&Vec<Vec<String>>>) -> Option<String> {
    let Some(sheet) = sheet else {
        return Some(format!("tab {} is missing (renamed or deleted?); it will be recreated", tab.title));
    };
    let header = cells(sheet.first().map(Vec::as_slice).unwrap_or(&[]), 8);
    if header.iter().take(8).zip(tab.headers).any(|(have, want)| have.trim() != want) {
        return Some(format!(
            "tab {} has a changed header row ({}); it will be restored",
            tab.title,
            header[..8].join(" | ")
        ));
    }
    if header.iter().skip(8).any(|extra| !extra.trim().is_empty()) {
        return Some(format!("tab {} has columns added after H; they will be cleared", tab.title));
    }
    None
}

/// Where a row's notes live.
fn note_target(tab: usize, id: &str) -> Option<NoteTarget> {
    match tab {
        0 => ApprovalId::parse(id).ok().map(NoteTarget::Approval),
        1 => RunId::parse(id).ok().map(NoteTarget::Run),
        _ => ErrorId::parse(id).ok().map(NoteTarget::Error),
    }
}

/// The new note a human typed into a Notes cell, if any. Notes are append-only: text added after the
/// existing notes is the addition; a cell whose earlier notes were changed keeps the human's whole text as
/// a new note (nothing a human typed is lost) and the cell is rewritten from the history.
fn note_addition(before: &str, now: &str) -> Option<(String, bool)> {
    if now.trim() == before.trim() {
        return None;
    }
    match now.strip_prefix(before) {
        Some(added) if !added.trim().is_empty() => Some((added.trim().to_owned(), false)),
        Some(_) => None,
        None if now.trim().is_empty() => Some((String::new(), true)),
        None => Some((now.trim().to_owned(), true)),
    }
}

/// Plans the import of all three tabs. `sheets[i]` is tab `TABS[i]` as read (or `None` when missing);
/// `shown[i]` is what the database says the tab holds (the export's rows).
pub fn plan_import(
    sheets: &[Option<Vec<Vec<String>>>; 3],
    shown: &[Vec<Row>; 3],
    baseline: &Baseline,
    synced_before: bool,
    allow_self_approval: bool,
) -> ImportPlan {
    let mut plan = ImportPlan::default();
    for (t, tab) in TABS.iter().enumerate() {
        if sheets[t].is_none() && !synced_before {
            continue; // never synced yet: creating the tab is the first sync, not a repair
        }
        if let Some(problem) = structure_problem(tab, sheets[t].as_ref()) {
            plan.broken_tabs.push((t, problem));
            continue;
        }
        let by_id: HashMap<&str, &Row> = shown[t].iter().map(|row| (row[0].as_str(), row)).collect();
        let mut seen = HashSet::new();
        for (r, raw) in sheets[t].as_ref().into_iter().flatten().enumerate().skip(1) {
            let row = cells(raw, 8);
            let id = row[0].trim().to_owned();
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let Some(db) = by_id.get(id.as_str()) else {
                let reason = if id.is_empty() {
                    "a row without an ID".to_owned()
                } else {
                    format!("unknown ID {id:?}; the row is removed")
                };
                plan.refused.push(Refused { tab: t, row: r, row_id: id, column: None, reason });
                continue;
            };
            if !seen.insert(id.clone()) {
                plan.refused.push(Refused {
                    tab: t,
                    row: r,
                    row_id: id,
                    column: None,
                    reason: "duplicate ID; the copy is removed".into(),
                });
                continue;
            }
            import_row(&mut plan, t, tab, r, &row, db, baseline, allow_self_approval);
        }
    }
    plan
}

#[allow(clippy::too_many_arguments)]
fn import_row(
    plan: &mut ImportPlan,
    t: usize,
    tab: &TabContract,
    r: usize,
    row: &[String],
    db: &Row,
    baseline: &Baseline,
    allow_self_approval: bool,
) {
    let id = db[0].clone();
    let refuse = |plan: &mut ImportPlan, column: usize, reason: String| {
        plan.rewrite[t].insert((r, column));
        plan.refused.push(Refused { tab: t, row: r, row_id: id.clone(), column: Some(column), reason });
    };
    for column in 1..8 {
        let (have, want) = (row[column].as_str(), db[column].as_str());
        if have == want {
            continue;
        }
        let header = tab.headers[column];
        let base = baseline.get(&(tab.title.to_owned(), id.clone(), column as u8)).map(String::as_str);
        if tab.is_editable(column) && base == Some(have) {
            // No human touched it since Atlas last saw it: the database moved on; show the new value.
            plan.rewrite[t].insert((r, column));
            plan.db_moved[t].insert((r, column));
            continue;
        }
        let want = if header == "Notes" { base.unwrap_or(want) } else { want };
        if !tab.is_editable(column) {
            refuse(plan, column, format!("{header} is maintained by Atlas and cannot be edited"));
            continue;
        }
        if have.trim_start().starts_with('=') {
            refuse(plan, column, format!("formulas are not accepted in {header}"));
            continue;
        }
        let accept = |plan: &mut ImportPlan, command: Command| {
            plan.rewrite[t].insert((r, column));
            plan.accepted.push(Accepted { tab: t, row: r, row_id: id.clone(), column, command });
        };
        match (t, header) {
            (_, "Notes") => match note_addition(want, have) {
                None => {}
                Some((_, true)) if have.trim().is_empty() => refuse(plan, column, "notes cannot be deleted".into()),
                Some((body, replaced)) => {
                    if replaced {
                        plan.refused.push(Refused {
                            tab: t,
                            row: r,
                            row_id: id.clone(),
                            column: Some(column),
                            reason: "earlier notes cannot be changed; the text was kept as a new note".into(),
                        });
                    }
                    if let Some(target) = note_target(t, &id) {
                        accept(plan, Command::AddNote { target, body });
                    }
                }
            },
            (0, "Status") => {
                let decision = match have.trim().to_lowercase().as_str() {
                    "approved" => Some(Decision::Approve),
                    "rejected" => Some(Decision::Reject),
                    _ => None,
                };
                match (want, decision, ApprovalId::parse(&id)) {
                    ("pending", Some(decision), Ok(approval)) => accept(
                        plan,
                        Command::ReviewApproval { id: approval, decision, notes: None, allow_self_approval },
                    ),
                    ("pending", _, _) => {
                        refuse(plan, column, format!("Status must be approved or rejected, got {have:?}"))
                    }
                    (decided, _, _) => {
                        refuse(plan, column, format!("the approval is already {decided}; a decision cannot be changed"))
                    }
                }
            }
            (2, "Resolved") => match (want, have.trim().to_lowercase().as_str()) {
                ("false", "true") => {
                    let resolution = row[6].trim();
                    match ErrorId::parse(&id) {
                        Ok(error) if !resolution.is_empty() && !resolution.starts_with('=') => accept(
                            plan,
                            Command::ResolveError { id: error, resolution: resolution.to_owned(), notes: None },
                        ),
                        _ => refuse(plan, column, "write a Resolution before setting Resolved to true".into()),
                    }
                }
                ("true", _) => refuse(plan, column, "a resolved error cannot be reopened; record a new one".into()),
                _ => refuse(plan, column, format!("Resolved must be true or false, got {have:?}")),
            },
            (2, "Resolution") => {
                // Read together with Resolved; on its own it waits in the sheet. After resolving it is fixed.
                if db[5] == "true" {
                    refuse(plan, column, "the resolution of a resolved error cannot be changed; add a note".into());
                }
            }
            _ => refuse(plan, column, format!("{header} cannot be edited")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::contract::{APPROVALS, ERRORS, RUNS};

    fn header(tab: &TabContract) -> Vec<String> {
        tab.headers.iter().map(|h| (*h).to_owned()).collect()
    }

    fn approval(id: &str, status: &str, notes: &str) -> Row {
        [id, "task", "create", "item", status, "2026-01-01", notes, "{}"].map(String::from)
    }

    fn sheets(approvals: Vec<Row>) -> [Option<Vec<Vec<String>>>; 3] {
        let mut tab = vec![header(&APPROVALS)];
        tab.extend(approvals.into_iter().map(|r| r.to_vec()));
        [Some(tab), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS)])]
    }

    fn shown(approvals: Vec<Row>) -> [Vec<Row>; 3] {
        [approvals, Vec::new(), Vec::new()]
    }

    #[test]
    fn a_human_approval_with_a_note_becomes_two_commands() {
        let db = approval("approval-1", "pending", "");
        let edited = approval("approval-1", "Approved", "ship it");
        let plan = plan_import(&sheets(vec![edited]), &shown(vec![db]), &Baseline::new(), true, false);
        assert!(plan.refused.is_empty(), "{:?}", plan.refused);
        assert!(matches!(plan.accepted[0].command, Command::ReviewApproval { decision: Decision::Approve, .. }));
        assert!(matches!(&plan.accepted[1].command, Command::AddNote { body, .. } if body == "ship it"));
        assert_eq!(plan.rewrite[0], [(1, 4), (1, 6)].into());
    }

    #[test]
    fn forbidden_edits_are_refused_and_restored() {
        let db = approval("approval-1", "approved", "alice (t): ok");
        let mut edited = approval("approval-1", "pending", "alice (t): changed");
        edited[1] = "project".into();
        edited[7] = "=HYPERLINK(\"x\")".into();
        let plan = plan_import(
            &sheets(vec![edited, approval("approval-9", "pending", "")]),
            &shown(vec![db]),
            &Baseline::new(),
            true,
            false,
        );
        let reasons: Vec<&str> = plan.refused.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons.iter().any(|r| r.contains("Type is maintained by Atlas")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("already approved")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("earlier notes cannot be changed")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("Payload is maintained by Atlas")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("unknown ID")), "{reasons:?}");
        assert!(matches!(&plan.accepted[0].command, Command::AddNote { body, .. } if body == "alice (t): changed"));
    }

    #[test]
    fn a_cell_matching_the_baseline_is_stale_not_edited() {
        let db = approval("approval-1", "rejected", "");
        let sheet_row = approval("approval-1", "pending", "");
        let baseline: Baseline =
            [(("Pending_Approvals".to_owned(), "approval-1".to_owned(), 4u8), "pending".to_owned())]
                .into_iter()
                .collect();
        let plan = plan_import(&sheets(vec![sheet_row.clone()]), &shown(vec![db.clone()]), &baseline, true, false);
        assert!(plan.accepted.is_empty() && plan.refused.is_empty(), "{plan:?}");
        assert_eq!(plan.db_moved[0], [(1, 4)].into());
        let plan = plan_import(&sheets(vec![sheet_row]), &shown(vec![db]), &Baseline::new(), true, false);
        assert!(plan.refused[0].reason.contains("already rejected"), "without a baseline it reads as an edit");
    }

    #[test]
    fn an_unknown_status_and_a_duplicate_id_are_refused() {
        let db = approval("approval-1", "pending", "");
        let plan = plan_import(
            &sheets(vec![approval("approval-1", "maybe", ""), approval("approval-1", "approved", "")]),
            &shown(vec![db]),
            &Baseline::new(),
            true,
            false,
        );
        assert!(plan.accepted.is_empty(), "the duplicate's approval is not applied: {:?}", plan.accepted);
        assert!(plan.refused[0].reason.contains("Status must be approved or rejected, got \"maybe\""));
        assert!(plan.refused[1].reason.contains("duplicate ID"));
    }

    #[test]
    fn a_formula_in_an_editable_cell_is_refused() {
        let plan = plan_import(
            &sheets(vec![approval("approval-1", "pending", "=IMPORTXML(\"http://x\")")]),
            &shown(vec![approval("approval-1", "pending", "")]),
            &Baseline::new(),
            true,
            false,
        );
        assert!(plan.accepted.is_empty());
        assert!(plan.refused[0].reason.contains("formulas are not accepted in Notes"));
    }

    #[test]
    fn a_changed_header_skips_the_tab() {
        let mut tabs = sheets(vec![approval("approval-1", "approved", "")]);
        tabs[0].as_mut().unwrap()[0][4] = "State".into();
        tabs[1] = None;
        let plan =
            plan_import(&tabs, &shown(vec![approval("approval-1", "pending", "")]), &Baseline::new(), true, false);
        assert!(plan.accepted.is_empty(), "nothing is imported from a tab whose structure changed");
        assert_eq!(plan.broken_tabs.len(), 2);
        assert!(plan.broken_tabs[1].1.contains("Runs is missing"));
    }

    #[test]
    fn resolving_needs_a_resolution_and_cannot_be_undone() {
        let error_row = |resolved: &str, resolution: &str| -> Row {
            ["err-1", "task", "boom", "t", "high", resolved, resolution, ""].map(String::from)
        };
        let tabs = |row: Row| {
            [Some(vec![header(&APPROVALS)]), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS), row.to_vec()])]
        };
        let db = [Vec::new(), Vec::new(), vec![error_row("false", "")]];
        let plan = plan_import(&tabs(error_row("TRUE", "disk cleaned")), &db, &Baseline::new(), true, false);
        assert!(
            matches!(&plan.accepted[0].command, Command::ResolveError { resolution, .. } if resolution == "disk cleaned")
        );
        let plan = plan_import(&tabs(error_row("true", "")), &db, &Baseline::new(), true, false);
        assert!(plan.refused[0].reason.contains("write a Resolution"));
        let resolved_db = [Vec::new(), Vec::new(), vec![error_row("true", "done")]];
        let plan = plan_import(&tabs(error_row("false", "done")), &resolved_db, &Baseline::new(), true, false);
        assert!(plan.refused[0].reason.contains("cannot be reopened"));
    }
}
