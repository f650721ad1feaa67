//! Writes bound to identity, not position. Google has no conditional write or delete: a cell write or a
//! row deletion addresses a row by its index, and a person may insert, delete or sort rows between
//! Atlas's read and its write. So every request that writes into or deletes an existing row first copies
//! that row, in the same atomic spreadsheets.batchUpdate, to the hidden tab `Atlas_Receipts` (strictly
//! protected: Atlas alone writes it), next to the row as Atlas read it and what Atlas did to it. The
//! receipts say what each row held at the instant the request applied; they are judged from the request's
//! reply (`includeSpreadsheetInResponse`), or, when the reply was lost or the cycle stopped, from the tab
//! itself at the start of the next cycle, before anything is imported. A row that was not what Atlas read
//! there is put back whole, appended below the tab's last row, so nothing a person typed is lost; where
//! Atlas's write gave another record's row its ID, the values that row keeps are first recorded as seen
//! and not taken (`SEEN`), so they decide nothing under that ID. Putting back and clearing the receipts
//! is one request: judging the same receipts twice finds nothing to do twice.

use super::contract::Layout;
use super::grid::Protection;
use super::import::{note_addition, SEEN};
use super::plan::{padded, Row};
use crate::domain::command::SheetCell;
use google_sheets4::api::{
    AddProtectedRangeRequest, CellData, CopyPasteRequest, Editors, ExtendedValue, GridRange, ProtectedRange, Request,
    RowData, UpdateCellsRequest,
};
use std::collections::HashSet;

/// The hidden tab receipts are copied to (its content is only ever read from a write's own reply).
pub const RECEIPTS_TAB: &str = "Atlas_Receipts";

/// Marks a receipt row: `atlas-receipt t=<tab> w=<width> written=<columns>` (no columns: deleted).
const MARK: &str = "atlas-receipt";

/// What Atlas did to one existing row, and the row as Atlas read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    pub tab: usize,
    /// The row's index when the request applied, as Atlas expected it.
    pub row: usize,
    /// The row as read (padded to the tab's width).
    pub read: Row,
    /// Columns Atlas wrote into the row (empty: Atlas deleted it).
    pub written: HashSet<usize>,
    /// When the write was made (the database's clock): a note it takes is added once, not twice.
    pub at: String,
}

/// What a batch's receipts showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// Rows to put back, per tab, as they were when the write hit them.
    pub restore: [Vec<Row>; 3],
    /// Values left under an ID they do not belong to, to be seen and never taken.
    pub unbound: Vec<SheetCell>,
    /// Notes typed into a Notes cell while Atlas's write replaced it: (tab, record ID, the note).
    pub notes: Vec<(usize, String, String, String)>,
}

impl Findings {
    pub fn is_empty(&self) -> bool {
        self.restore.iter().all(Vec::is_empty) && self.unbound.is_empty() && self.notes.is_empty()
    }

    pub fn extend(&mut self, other: Findings) {
        for (mine, theirs) in self.restore.iter_mut().zip(other.restore) {
            mine.extend(theirs);
        }
        self.unbound.extend(other.unbound);
        self.notes.extend(other.notes);
    }
}

/// Two cells hold the same input. A formula copied to another row has its references moved, so formulas
/// compare as formulas (the import never takes one).
fn same_cell(a: &str, b: &str) -> bool {
    a == b || (a.trim_start().starts_with('=') && b.trim_start().starts_with('='))
}

/// The receipts a receipts tab holds, each with the row as the request found it. Rows that are not
/// receipts (a tab emptied, or not Atlas's) are skipped.
pub fn parse(rows: &[Vec<String>]) -> Vec<(Receipt, Row)> {
    let mut receipts = Vec::new();
    for row in rows {
        let Some(meta) = row.first().and_then(|m| m.strip_prefix(MARK)) else { continue };
        let (mut tab, mut width, mut written, mut at) = (None, None, HashSet::new(), String::new());
        for part in meta.split_whitespace() {
            match part.split_once('=') {
                Some(("t", v)) => tab = v.parse::<usize>().ok().filter(|t| *t < 3),
                Some(("w", v)) => width = v.parse::<usize>().ok().filter(|w| (1..=200).contains(w)),
                Some(("written", v)) => written = v.split(',').filter_map(|c| c.parse().ok()).collect(),
                Some(("at", v)) => at = v.to_owned(),
                _ => {}
            }
        }
        let (Some(tab), Some(width)) = (tab, width) else { continue };
        let cells = padded(row, 1 + 2 * width);
        let got = cells[1..1 + width].to_vec();
        let read = cells[1 + width..].to_vec();
        receipts.push((Receipt { tab, row: 0, read, written, at }, got));
    }
    receipts
}

/// Compares each receipt with what the request found there.
pub fn judge(layout: &Layout, tabs: &[&str; 3], receipts: &[(Receipt, Row)]) -> Findings {
    let mut findings = Findings::default();
    for (receipt, found) in receipts {
        let t = receipt.tab;
        let width = layout.width(t);
        let got = padded(found, width);
        let read = &padded(&receipt.read, width);
        let same_record = got[0].trim() == read[0].trim();
        let editable = layout.editable(t);
        // What the person's input was when Atlas's request applied, cell by cell, against the read.
        let changed: Vec<usize> = editable.iter().copied().filter(|&c| !same_cell(&got[c], &read[c])).collect();
        let lost = if receipt.written.is_empty() {
            // A deletion loses the whole row: anything but the row as read is put back.
            !same_record || !changed.is_empty()
        } else if same_record {
            // A write into the right row loses only the input typed since into a cell it wrote. A note
            // added there is taken as the note it is; anything else typed is put back for the import.
            let mut lost = false;
            for &c in changed.iter().filter(|c| receipt.written.contains(c)) {
                match note_addition(&read[c], &got[c]) {
                    Some((note, false)) if layout.header(t, c) == "Notes" => {
                        findings.notes.push((t, read[0].trim().to_owned(), note, receipt.at.clone()))
                    }
                    _ => lost = true,
                }
            }
            lost
        } else {
            // A write into another record's row took it over (the ID is always written).
            got.iter().any(|c| !c.trim().is_empty())
        };
        if !lost {
            continue;
        }
        findings.restore[t].push(got.clone());
        if !receipt.written.is_empty() && !same_record && !read[0].trim().is_empty() {
            // The row now claims `read[0]` and still shows the other row's cells where Atlas did not write:
            // Atlas's own doing, so they are restored without a refusal, and what was typed never counts.
            for c in (1..width).filter(|c| !receipt.written.contains(c)) {
                if !got[c].trim().is_empty() && !same_cell(&got[c], &read[c]) {
                    findings.unbound.push(SheetCell {
                        tab: tabs[t].to_owned(),
                        row_id: read[0].trim().to_owned(),
                        column: (c + SEEN) as u8,
                        value: got[c].clone(),
                    });
                }
            }
        }
    }
    findings
}

/// The requests that empty the receipts tab and make one receipt per `(receipt, tab id, width)`: the
/// row copied at the instant the request applies, beside the row as read and what Atlas does to it.
pub fn copies(receipts_id: i32, receipts: &[(Receipt, i32, usize)]) -> Vec<Request> {
    let mut requests = vec![clear(receipts_id)];
    for (i, (receipt, sheet, width)) in receipts.iter().enumerate() {
        let (i, width) = (i as i32, *width as i32);
        let block = |sheet: i32, row: i32, from: i32| GridRange {
            sheet_id: Some(sheet),
            start_row_index: Some(row),
            end_row_index: Some(row + 1),
            start_column_index: Some(from),
            end_column_index: Some(from + width),
        };
        requests.push(Request {
            copy_paste: Some(CopyPasteRequest {
                source: Some(block(*sheet, receipt.row as i32, 0)),
                destination: Some(block(receipts_id, i, 1)),
                paste_type: Some("PASTE_NORMAL".into()),
                paste_orientation: Some("NORMAL".into()),
            }),
            ..Default::default()
        });
        let mut written: Vec<String> = receipt.written.iter().map(usize::to_string).collect();
        written.sort();
        let meta = format!("{MARK} t={} w={width} written={} at={}", receipt.tab, written.join(","), receipt.at);
        let mut cells = vec![meta];
        cells.resize(1 + width as usize, String::new());
        cells.extend(padded(&receipt.read, width as usize));
        // The meta cell and the row as read; the copy's cells in between are left out of the mask's reach
        // by writing them first (copyPaste) and skipping them here.
        for (from, values) in [(0, &cells[..1]), (1 + width as usize, &cells[1 + width as usize..])] {
            requests.push(Request {
                update_cells: Some(UpdateCellsRequest {
                    range: Some(GridRange {
                        sheet_id: Some(receipts_id),
                        start_row_index: Some(i),
                        end_row_index: Some(i + 1),
                        start_column_index: Some(from as i32),
                        end_column_index: Some((from + values.len()) as i32),
                    }),
                    rows: Some(vec![text_row(values)]),
                    fields: entered_only(),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    requests
}

/// Writes a cell's entered value only (formats and notes stay).
pub fn entered_only() -> Option<google_sheets4::common::FieldMask> {
    Some(google_sheets4::common::FieldMask::new(&["userEnteredValue"]))
}

/// A row of cells holding `values` as text.
pub fn text_row(values: &[String]) -> RowData {
    let cell = |text: &String| CellData {
        user_entered_value: Some(ExtendedValue { string_value: Some(text.clone()), ..Default::default() }),
        ..Default::default()
    };
    RowData { values: Some(values.iter().map(cell).collect()) }
}

/// Empties the receipts tab: judged receipts are never judged again.
pub fn clear(receipts_id: i32) -> Request {
    Request {
        update_cells: Some(UpdateCellsRequest {
            range: Some(GridRange { sheet_id: Some(receipts_id), ..Default::default() }),
            fields: entered_only(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The receipts tab's guard: strictly protected, Atlas its only editor (a receipt made by anyone else
/// could have Atlas append a forged row).
pub fn guard(receipts_id: i32, account: &str) -> Request {
    Request {
        add_protected_range: Some(AddProtectedRangeRequest {
            protected_range: Some(ProtectedRange {
                range: Some(GridRange { sheet_id: Some(receipts_id), ..Default::default() }),
                description: Some(format!("{RECEIPTS_TAB}: written by Atlas only")),
                warning_only: Some(false),
                editors: Some(Editors { users: Some(vec![account.to_owned()]), ..Default::default() }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

/// Whether the receipts tab is Atlas's alone (its guard covers it whole and lets nobody else in but the
/// spreadsheet's owner, whom Google always lists): only then are receipts found there judged.
pub fn guarded(protections: &[Protection], account: &str, owner: Option<&str>) -> bool {
    protections.iter().any(|p| {
        p.start_row.is_none()
            && p.end_row.is_none()
            && p.start_column.is_none()
            && p.end_column.is_none()
            && !p.warning_only
            && p.groups.is_empty()
            && !p.domain_can_edit
            && !p.has_unprotected_ranges
            && p.users.as_ref().is_some_and(|users| users.iter().all(|u| u == account || Some(u.as_str()) == owner))
    })
}

/// The reply range a batch with `count` receipts asks for.
pub fn reply_range(count: usize, width: usize) -> String {
    format!("'{RECEIPTS_TAB}'!A1:{}{}", super::contract::column_letter(2 * width.max(1)), count.max(1))
}

/// The range a snapshot reads the receipts tab with (whatever it holds).
pub fn whole_range() -> String {
    format!("'{RECEIPTS_TAB}'!A1:ZZ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::contract::{ApprovalMode, TABS};

    fn layout() -> Layout {
        Layout::new(ApprovalMode::Shared { reviewer: "desk".into() })
    }

    fn row(id: &str, status: &str, notes: &str) -> Row {
        [id, "task", "create", "item", status, "2026-01-01", notes, "{}"].map(String::from).to_vec()
    }

    fn titles() -> [&'static str; 3] {
        crate::sheets::contract::TITLES
    }

    fn receipt(read: Row, written: &[usize]) -> Receipt {
        Receipt {
            tab: 0,
            row: 1,
            read,
            written: written.iter().copied().collect(),
            at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_receipt_row_reads_back_as_the_receipt_it_is() {
        let read = row("a", "pending", "");
        let found = row("b", "approved", "");
        let made = receipt(read.clone(), &[0, 3]);
        let written = "0,3";
        let mut cells = vec![format!("{MARK} t=0 w=8 written={written} at=2026-01-01T00:00:00.000Z")];
        cells.extend(found.clone());
        cells.extend(read.clone());
        let parsed = parse(&[cells, vec!["not a receipt".into()], vec![format!("{MARK} t=9 w=8")]]);
        assert_eq!(parsed.len(), 1, "{parsed:?}");
        assert_eq!((parsed[0].0.tab, &parsed[0].0.read, &parsed[0].0.written), (0, &read, &made.written));
        assert_eq!(parsed[0].1, found);
    }

    #[test]
    fn a_row_found_as_read_needs_nothing() {
        let read = row("a", "pending", "");
        let deleted = receipt(read.clone(), &[]);
        let written = receipt(read.clone(), &[0, 3]);
        let found = judge(&layout(), &titles(), &[(deleted, read.clone()), (written, read)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_deletion_that_hit_another_row_or_fresh_input_puts_that_row_back() {
        let read = row("junk", "pending", "");
        let other = row("b", "approved", "");
        let typed = row("junk", "pending", "keep me");
        let receipts = [(receipt(read.clone(), &[]), other.clone()), (receipt(read, &[]), typed.clone())];
        let found = judge(&layout(), &titles(), &receipts);
        assert_eq!(found.restore[0], vec![other, typed]);
        assert!(found.unbound.is_empty());
    }

    #[test]
    fn a_write_over_input_typed_since_into_a_cell_it_wrote_puts_the_row_back() {
        let read = row("a", "pendin", "");
        let typed = row("a", "approved", "");
        // Atlas restored Status (4, the shared mode's decision column): the decision is lost unless put back.
        let found = judge(&layout(), &titles(), &[(receipt(read.clone(), &[0, 4]), typed.clone())]);
        assert_eq!(found.restore[0], vec![typed.clone()]);
        // Atlas wrote only the summary: the decision is still in the row, nothing to put back.
        let found = judge(&layout(), &titles(), &[(receipt(read, &[0, 3]), typed)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_note_typed_into_a_notes_cell_while_atlas_rewrote_it_is_taken_as_a_note() {
        let read = row("a", "pending", "(2026-01-01 alice): first");
        let typed = row("a", "pending", "(2026-01-01 alice): first\nsecond, typed during the write");
        let found = judge(&layout(), &titles(), &[(receipt(read, &[0, 6]), typed)]);
        let at = "2026-01-01T00:00:00.000Z".to_owned();
        assert_eq!(found.notes, vec![(0, "a".to_owned(), "second, typed during the write".to_owned(), at)]);
        assert!(found.restore[0].is_empty(), "nothing else was lost: {found:?}");
    }

    #[test]
    fn a_write_that_took_over_another_records_row_puts_it_back_and_unbinds_what_it_kept() {
        let read = row("a", "pending", "");
        let mut other = row("b", "approved", "");
        other[3] = "what b's row says".into(); // Atlas wrote this one: nothing to unbind
        let found = judge(&layout(), &titles(), &[(receipt(read, &[0, 3]), other.clone())]);
        assert_eq!(found.restore[0], vec![other]);
        // Status (4) is the shared mode's decision column: "approved" now sits under ID a, never taken.
        assert_eq!(
            found.unbound,
            vec![SheetCell {
                tab: TABS[0].title.into(),
                row_id: "a".into(),
                column: (4 + SEEN) as u8,
                value: "approved".into()
            }]
        );
    }
}
