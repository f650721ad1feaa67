//! Writes bound to identity, not position. Google has no conditional write or delete: a cell write or a
//! row deletion addresses a row by its index, and a person may insert, delete or sort rows between
//! Atlas's read and its write. So every request that writes into or deletes an existing row first copies
//! that row, in the same atomic spreadsheets.batchUpdate, to the hidden tab `Atlas_Receipts`; the reply
//! carries that tab (`includeSpreadsheetInResponse`), which shows what each row held at the instant the
//! request applied. A row that was not what Atlas read there (another record, or input typed since) is
//! put back whole, appended below the tab's last row, so nothing a person typed is lost; the next import
//! judges it like any row. Where Atlas's write gave another record's row its ID, the values that row
//! keeps are recorded as seen and not taken (`SEEN`), so they decide nothing under that ID.

use super::contract::Layout;
use super::import::{note_addition, SEEN};
use super::plan::{padded, Row};
use crate::domain::command::SheetCell;
use google_sheets4::api::{CopyPasteRequest, GridRange, Request, UpdateCellsRequest};
use std::collections::HashSet;

/// The hidden tab receipts are copied to (its content is only ever read from a write's own reply).
pub const RECEIPTS_TAB: &str = "Atlas_Receipts";

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
}

/// What a batch's receipts showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// Rows to put back, per tab, as they were when the write hit them.
    pub restore: [Vec<Row>; 3],
    /// Values left under an ID they do not belong to, to be seen and never taken.
    pub unbound: Vec<SheetCell>,
    /// Notes typed into a Notes cell while Atlas's write replaced it: (tab, record ID, the note).
    pub notes: Vec<(usize, String, String)>,
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

/// Compares each receipt with what the request found (`found[i]` is receipt `i`'s copy).
pub fn judge(layout: &Layout, tabs: &[&str; 3], receipts: &[Receipt], found: &[Vec<String>]) -> Findings {
    let mut findings = Findings::default();
    for (i, receipt) in receipts.iter().enumerate() {
        let t = receipt.tab;
        let width = layout.width(t);
        let got = padded(found.get(i).map(Vec::as_slice).unwrap_or(&[]), width);
        let read = &receipt.read;
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
                        findings.notes.push((t, read[0].trim().to_owned(), note))
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

/// The requests that empty the receipts tab and copy `rows` (tab id, row index, width) into it, in order.
pub fn copies(receipts_id: i32, rows: &[(i32, usize, usize)]) -> Vec<Request> {
    let clear = Request {
        update_cells: Some(UpdateCellsRequest {
            range: Some(GridRange { sheet_id: Some(receipts_id), ..Default::default() }),
            fields: Some(google_sheets4::common::FieldMask::new(&["userEnteredValue"])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let copy = |(i, &(sheet, row, width)): (usize, &(i32, usize, usize))| Request {
        copy_paste: Some(CopyPasteRequest {
            source: Some(GridRange {
                sheet_id: Some(sheet),
                start_row_index: Some(row as i32),
                end_row_index: Some(row as i32 + 1),
                start_column_index: Some(0),
                end_column_index: Some(width as i32),
            }),
            destination: Some(GridRange {
                sheet_id: Some(receipts_id),
                start_row_index: Some(i as i32),
                end_row_index: Some(i as i32 + 1),
                start_column_index: Some(0),
                end_column_index: Some(width as i32),
            }),
            paste_type: Some("PASTE_NORMAL".into()),
            paste_orientation: Some("NORMAL".into()),
        }),
        ..Default::default()
    };
    std::iter::once(clear).chain(rows.iter().enumerate().map(copy)).collect()
}

/// The A1 range a batch's reply must carry: the first `count` receipts.
pub fn reply_range(count: usize, width: usize) -> String {
    format!("'{RECEIPTS_TAB}'!A1:{}{}", super::contract::column_letter(width.max(1) - 1), count.max(1))
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
        [TABS[0].title, TABS[1].title, TABS[2].title]
    }

    fn receipt(read: Row, written: &[usize]) -> Receipt {
        Receipt { tab: 0, row: 1, read, written: written.iter().copied().collect() }
    }

    #[test]
    fn a_row_found_as_read_needs_nothing() {
        let read = row("a", "pending", "");
        let deleted = receipt(read.clone(), &[]);
        let written = receipt(read.clone(), &[0, 3]);
        let found = judge(&layout(), &titles(), &[deleted, written], &[read.clone(), read]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_deletion_that_hit_another_row_or_fresh_input_puts_that_row_back() {
        let read = row("junk", "pending", "");
        let other = row("b", "approved", "");
        let typed = row("junk", "pending", "keep me");
        let receipts = [receipt(read.clone(), &[]), receipt(read, &[])];
        let found = judge(&layout(), &titles(), &receipts, &[other.clone(), typed.clone()]);
        assert_eq!(found.restore[0], vec![other, typed]);
        assert!(found.unbound.is_empty());
    }

    #[test]
    fn a_write_over_input_typed_since_into_a_cell_it_wrote_puts_the_row_back() {
        let read = row("a", "pendin", "");
        let typed = row("a", "approved", "");
        // Atlas restored Status (4, the shared mode's decision column): the decision is lost unless put back.
        let found = judge(&layout(), &titles(), &[receipt(read.clone(), &[0, 4])], std::slice::from_ref(&typed));
        assert_eq!(found.restore[0], vec![typed.clone()]);
        // Atlas wrote only the summary: the decision is still in the row, nothing to put back.
        let found = judge(&layout(), &titles(), &[receipt(read, &[0, 3])], &[typed]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_note_typed_into_a_notes_cell_while_atlas_rewrote_it_is_taken_as_a_note() {
        let read = row("a", "pending", "(2026-01-01 alice): first");
        let typed = row("a", "pending", "(2026-01-01 alice): first\nsecond, typed during the write");
        let found = judge(&layout(), &titles(), &[receipt(read, &[0, 6])], &[typed]);
        assert_eq!(found.notes, vec![(0, "a".to_owned(), "second, typed during the write".to_owned())]);
        assert!(found.restore[0].is_empty(), "nothing else was lost: {found:?}");
    }

    #[test]
    fn a_write_that_took_over_another_records_row_puts_it_back_and_unbinds_what_it_kept() {
        let read = row("a", "pending", "");
        let mut other = row("b", "approved", "");
        other[3] = "what b's row says".into(); // Atlas wrote this one: nothing to unbind
        let found = judge(&layout(), &titles(), &[receipt(read, &[0, 3])], std::slice::from_ref(&other));
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
