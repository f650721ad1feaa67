//! Import planning (sheet -> database), pure: compares each tab with what the database showed and turns
//! human edits into commands. Only the layout's editable columns flow back (approvals Notes and the
//! decision columns, runs Notes, errors Resolved, Resolution and Notes); anything else a human changed
//! is refused, explained and restored by the export that follows. One bad row never blocks the valid ones.
//!
//! A decision (a reviewer's cell, shared Status, Resolved) counts only from a row that shows exactly what
//! Atlas last exported for the ID in its first column: a row whose Atlas-owned cells were changed (an ID
//! typed over another, a write that landed on a moved row) decides nothing. Rows sharing an ID whose
//! decisions differ decide nothing either.

use super::contract::{Layout, STATUS, TABS};
use super::plan::{padded, Row};
use crate::domain::command::{NoteTarget, SheetCell};
use crate::domain::{ApprovalId, Command, ErrorId, RunId};
use crate::store::queries::sheet_cells::Baseline;
use std::collections::{HashMap, HashSet};

/// Marks a Payload cell that does not show the whole payload (secrets redacted or text cut).
pub const PARTIAL_MARK: &str = "[shown in part: decide over HTTP] ";

/// A human edit Atlas accepted, as the command that applies it (with the cell it consumes).
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub tab: usize,
    pub row: usize,
    pub row_id: String,
    pub column: usize,
    pub command: Command,
    /// Who the edit is recorded as: a reviewer's token for a decision, `sheets` otherwise.
    pub actor: String,
    /// The cell as the human left it; stored as the baseline in the same transaction, so a cycle that
    /// is retried never imports it twice.
    pub cell: SheetCell,
}

/// A human edit Atlas refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub tab: usize,
    pub row: usize,
    pub row_id: String,
    pub column: Option<usize>,
    pub reason: String,
    /// The refused cell as the human left it (recorded once, restored by the export).
    pub cell: Option<SheetCell>,
    /// Whether the refusal is also noted on the record (always for a cell; for a whole row when it
    /// held text a human typed, so the text stays with the record).
    pub on_record: bool,
}

/// Baseline columns at `column + SEEN` hold a human's value Atlas has seen but not taken: a refused
/// value of an Atlas-owned cell (refused once, however often a cycle is retried) or an edit that waits
/// (so it can be named if its row leaves the sheet before it is imported).
pub const SEEN: usize = 32;

/// What the import needs besides the sheet and the database's rows.
#[derive(Clone, Copy, Debug)]
pub struct ImportRules<'a> {
    pub layout: &'a Layout,
    pub baseline: &'a Baseline,
    /// Whether any sync ever succeeded (a missing tab is then a human's doing).
    pub synced_before: bool,
    pub allow_self_approval: bool,
    /// Whether a decision counts on a row whose payload is not shown whole.
    pub allow_partial_payload: bool,
    /// Decision columns whose protection is not intact, with why: they decide nothing.
    pub drifted: &'a HashMap<usize, String>,
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
    /// Editable cells holding a human's edit that waits (for the next cycle, or a companion cell): their
    /// baseline stays as it was, so the edit is still seen as one next time.
    pub waiting: [HashSet<(usize, usize)>; 3],
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
            cell: Some(accepted.cell.clone()),
            on_record: true,
        });
    }
}

/// Why a tab cannot be imported, if it cannot.
pub fn structure_problem(layout: &Layout, t: usize, sheet: Option<&Vec<Vec<String>>>) -> Option<String> {
    let tab = &TABS[t];
    let Some(sheet) = sheet else {
        return Some(format!("tab {} is missing (renamed or deleted?); it will be recreated", tab.title));
    };
    let width = layout.width(t);
    let header = padded(sheet.first().map(Vec::as_slice).unwrap_or(&[]), width.max(sheet.first().map_or(0, Vec::len)));
    let expected = layout.headers(t);
    if header.iter().zip(&expected).any(|(have, want)| have.trim() != want) {
        return Some(format!(
            "tab {} has a changed header row ({}); it will be restored",
            tab.title,
            header[..width].join(" | ")
        ));
    }
    if header.iter().skip(width).any(|extra| !extra.trim().is_empty()) {
        let last = super::contract::column_letter(width - 1);
        return Some(format!("tab {} has columns added after {last}; they will be cleared", tab.title));
    }
    None
}

/// Where a row's notes live.
pub fn note_target(tab: usize, id: &str) -> Option<NoteTarget> {
    match tab {
        0 => ApprovalId::parse(id).ok().map(NoteTarget::Approval),
        1 => RunId::parse(id).ok().map(NoteTarget::Run),
        _ => ErrorId::parse(id).ok().map(NoteTarget::Error),
    }
}

/// The new note a human typed into a Notes cell, if any. Notes are append-only: text added after the
/// existing notes is the addition; a cell whose earlier notes were changed keeps the human's whole text as
/// a new note (nothing a human typed is lost) and the cell is rewritten from the history.
pub(super) fn note_addition(before: &str, now: &str) -> Option<(String, bool)> {
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

/// Enumerations compare as Sheets users type them: `Approved`, `TRUE`.
pub(super) fn same(column_is_enum: bool, a: &str, b: &str) -> bool {
    if column_is_enum {
        a.trim().eq_ignore_ascii_case(b.trim())
    } else {
        a == b
    }
}

/// Whether column `c` of tab `t` decides something (its edits must come from a row that shows the export).
pub(super) fn decides(layout: &Layout, t: usize, c: usize) -> bool {
    match t {
        0 => layout.decider(c).is_some(),
        2 => c == 5 || c == 6,
        _ => false,
    }
}

pub(super) fn is_enum(layout: &Layout, t: usize, c: usize) -> bool {
    (t == 0 && (c == STATUS || layout.decider(c).is_some())) || (t == 2 && c == 5)
}

/// One tab's rows grouped by ID, in sheet order: (sheet row index, cells).
pub(super) type Rows = Vec<(usize, Vec<String>)>;

/// Plans the import of all three tabs. `sheets[i]` is tab `TABS[i]` as read (or `None` when missing);
/// `shown[i]` is what the database says the tab holds (the export's rows).
pub fn plan_import(sheets: &[Option<Vec<Vec<String>>>; 3], shown: &[Vec<Row>; 3], rules: &ImportRules) -> ImportPlan {
    let mut plan = ImportPlan::default();
    for t in 0..TABS.len() {
        if sheets[t].is_none() && !rules.synced_before {
            continue; // never synced yet: creating the tab is the first sync, not a repair
        }
        if let Some(problem) = structure_problem(rules.layout, t, sheets[t].as_ref()) {
            broken_tab(&mut plan, t, sheets[t].as_ref(), shown, rules);
            plan.broken_tabs.push((t, problem));
            continue;
        }
        let width = rules.layout.width(t);
        let by_id: HashMap<&str, &Row> = shown[t].iter().map(|row| (row[0].as_str(), row)).collect();
        let mut groups: HashMap<String, Rows> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for (r, raw) in sheets[t].as_ref().into_iter().flatten().enumerate().skip(1) {
            let row = padded(raw, width);
            let id = row[0].trim().to_owned();
            if raw.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if !by_id.contains_key(id.as_str()) {
                if rules.baseline.contains_key(&(TABS[t].title.to_owned(), id.clone(), 0)) {
                    retired_row(&mut plan, t, r, &row, rules); // it left the mirror's scope since the last cycle
                    continue;
                }
                let reason = if id.is_empty() {
                    "a row without an ID".to_owned()
                } else {
                    format!("unknown ID {id:?}; the row is removed")
                };
                plan.refused.push(Refused {
                    tab: t,
                    row: r,
                    row_id: id,
                    column: None,
                    reason,
                    cell: None,
                    on_record: false,
                });
                continue;
            }
            if !groups.contains_key(&id) {
                order.push(id.clone());
            }
            groups.entry(id).or_default().push((r, row));
        }
        for id in order {
            let db = by_id[id.as_str()];
            let rows = &groups[&id];
            super::judge::import_rows(&mut plan, t, rows, db, rules);
        }
        for db in shown[t].iter().filter(|db| !groups.contains_key(db[0].as_str())) {
            held_edits_gone(&mut plan, t, db, rules);
        }
    }
    plan
}

/// A row whose record left the mirror's scope (a decided approval past its days, a run past the newest
/// shown): the export removes it, but a note a human added first is imported, and any other edit is
/// refused aloud, so nothing typed there vanishes.
fn retired_row(plan: &mut ImportPlan, t: usize, r: usize, row: &[String], rules: &ImportRules) {
    let (title, id) = (TABS[t].title, row[0].trim().to_owned());
    let base = |c: usize| rules.baseline.get(&(title.to_owned(), id.clone(), c as u8)).cloned();
    for c in rules.layout.editable(t) {
        let Some(before) = base(c) else { continue };
        if row[c] == before || row[c].trim().is_empty() {
            continue;
        }
        let cell = SheetCell { tab: title.to_owned(), row_id: id.clone(), column: c as u8, value: row[c].clone() };
        let header = rules.layout.header(t, c);
        match (header.as_str(), note_addition(&before, &row[c]), note_target(t, &id)) {
            ("Notes", Some((body, _)), Some(target)) if !row[c].trim_start().starts_with('=') => {
                plan.accepted.push(super::import::Accepted {
                    tab: t,
                    row: r,
                    row_id: id.clone(),
                    column: c,
                    command: Command::AddNote { target, body },
                    actor: "sheets".into(),
                    cell,
                });
            }
            _ => plan.refused.push(Refused {
                tab: t,
                row: r,
                row_id: id.clone(),
                column: Some(c),
                reason: format!(
                    "the row left the sheet (out of the mirror's scope) holding {header} {:?}; not imported",
                    row[c]
                ),
                cell: Some(cell),
                on_record: true,
            }),
        }
    }
}

/// A mirrored record whose row is missing from the sheet now (a human deleted it, or a write by position
/// hit it): edits that were waiting in it are gone from the sheet, so they are named on the record.
fn held_edits_gone(plan: &mut ImportPlan, t: usize, db: &Row, rules: &ImportRules) {
    let title = TABS[t].title;
    for c in rules.layout.editable(t) {
        let key = (title.to_owned(), db[0].clone(), (c + SEEN) as u8);
        let Some(held) = rules.baseline.get(&key).filter(|held| !held.trim().is_empty()) else { continue };
        let header = rules.layout.header(t, c);
        plan.refused.push(Refused {
            tab: t,
            row: 0,
            row_id: db[0].clone(),
            column: Some(c),
            reason: format!(
                "the row left the sheet while its {header} held {held:?}, not yet imported; the text is kept here, \
                 enter it again if it is still wanted"
            ),
            cell: Some(SheetCell { tab: key.0, row_id: key.1, column: key.2, value: String::new() }),
            on_record: true,
        });
    }
}

/// A tab whose structure changed is not imported: human edits of its editable cells wait for the next
/// cycle (their baseline is kept), except decisions, which are refused and restored: with columns moved,
/// a cell may no longer be under the name it was typed under.
fn broken_tab(
    plan: &mut ImportPlan,
    t: usize,
    sheet: Option<&Vec<Vec<String>>>,
    shown: &[Vec<Row>; 3],
    rules: &ImportRules,
) {
    let Some(sheet) = sheet else { return };
    let width = rules.layout.width(t);
    let by_id: HashMap<&str, &Row> = shown[t].iter().map(|row| (row[0].as_str(), row)).collect();
    for (r, raw) in sheet.iter().enumerate().skip(1) {
        let row = padded(raw, width);
        let Some(db) = by_id.get(row[0].trim()) else { continue };
        for c in rules.layout.editable(t) {
            if same(is_enum(rules.layout, t, c), &row[c], &db[c]) {
                continue;
            }
            let key = (TABS[t].title.to_owned(), db[0].clone(), c as u8);
            if rules.baseline.get(&key).map(String::as_str) == Some(row[c].as_str()) {
                continue; // stale, not an edit; rewritten once the structure is back
            }
            if decides(rules.layout, t, c) && t == 0 {
                plan.rewrite[t].insert((r, c));
                plan.refused.push(Refused {
                    tab: t,
                    row: r,
                    row_id: db[0].clone(),
                    column: Some(c),
                    reason: "the tab's header changed while this decision was typed, so it may be under another \
                             column's name; it was not counted: decide again"
                        .into(),
                    cell: Some(SheetCell { tab: key.0, row_id: key.1, column: key.2, value: row[c].clone() }),
                    on_record: true,
                });
            } else {
                plan.waiting[t].insert((r, c));
            }
        }
    }
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
