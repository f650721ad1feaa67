//! After a cycle: what each cell of each mirrored row now holds, compared with the stored baseline, so
//! only changes are recorded. Atlas-owned cells are recorded as exported (the export restores them), which
//! is how the next import knows a row still shows what Atlas exported; editable cells as the sheet holds
//! them, unless a human's edit there is waiting (its baseline stays, so it is still an edit next time).

use super::contract::{Layout, TABS};
use super::export::Snapshot;
use super::import::SEEN;
use super::plan::{padded, Row};
use crate::domain::command::SheetCell;
use crate::store::queries::sheet_cells::Baseline;
use std::collections::{HashMap, HashSet};

/// Cells per tab (sheet row, column), as the import planned them.
pub type CellSet = [HashSet<(usize, usize)>; 3];

/// The baseline cells that changed, and the rows that left the sheet. Broken tabs are skipped whole:
/// their human edits wait for the cycle that can import them.
pub fn changes(
    layout: &Layout,
    snapshot: &Snapshot,
    desired: &[Vec<Row>; 3],
    rewrite: &CellSet,
    waiting: &CellSet,
    broken: &[usize],
    baseline: &Baseline,
) -> (Vec<SheetCell>, Vec<(String, String)>) {
    let mut cells = Vec::new();
    let mut present: HashSet<(String, String)> = HashSet::new();
    for (t, tab) in TABS.iter().enumerate() {
        if broken.contains(&t) {
            present.extend(baseline.keys().filter(|k| k.0 == tab.title).map(|(tab, id, _)| (tab.clone(), id.clone())));
            continue;
        }
        let width = layout.width(t);
        // The row the export keeps for each ID: the first showing the database's Atlas-owned cells, else the first.
        let wanted_by_id: HashMap<&str, &Row> = desired[t].iter().map(|row| (row[0].as_str(), row)).collect();
        let shows = |row: &[String], want: &Row| {
            let row = padded(row, width);
            (0..width).all(|c| layout.is_editable(t, c) || row[c] == want[c])
        };
        let mut first_row: HashMap<&str, usize> = HashMap::new();
        if let Some(rows) = &snapshot.tabs[t] {
            for (index, row) in rows.iter().enumerate().skip(1) {
                let Some(want) = row.first().and_then(|id| wanted_by_id.get(id.trim())) else { continue };
                match first_row.get(want[0].as_str()) {
                    Some(&first) if shows(&rows[first], want) || !shows(row, want) => {}
                    _ => {
                        first_row.insert(want[0].as_str(), index);
                    }
                }
            }
        }
        for wanted in &desired[t] {
            present.insert((tab.title.to_owned(), wanted[0].clone()));
            let existing = first_row
                .get(wanted[0].as_str())
                .and_then(|&r| snapshot.tabs[t].as_ref().map(|rows| (r, padded(&rows[r], width))));
            for column in 0..width {
                let key = (tab.title.to_owned(), wanted[0].clone(), column as u8);
                // What a human left there that Atlas did not take: kept while it waits (or, for an Atlas
                // cell, while the refused value is still shown), cleared once it is gone.
                let seen_key = (key.0.clone(), key.1.clone(), (column + SEEN) as u8);
                // A cell the export wrote shows what Atlas wrote: a value refused there is gone (cleared
                // even when refused this very cycle), so typing it again is a new edit.
                let restored = existing.as_ref().is_some_and(|(r, row)| {
                    rewrite[t].contains(&(*r, column))
                        && !waiting[t].contains(&(*r, column))
                        && row[column] != wanted[column]
                });
                let seen = match &existing {
                    _ if restored => None,
                    Some((r, row)) if waiting[t].contains(&(*r, column)) => Some(row[column].clone()),
                    Some((_, row)) if !layout.is_editable(t, column) && row[column] != wanted[column] => {
                        baseline.get(&seen_key).filter(|v| **v == row[column]).cloned()
                    }
                    _ => None,
                };
                match seen {
                    Some(value) if baseline.get(&seen_key) != Some(&value) => {
                        cells.push(SheetCell { tab: seen_key.0, row_id: seen_key.1, column: seen_key.2, value })
                    }
                    None if restored || baseline.get(&seen_key).is_some_and(|v| !v.is_empty()) => {
                        cells.push(SheetCell {
                            tab: seen_key.0,
                            row_id: seen_key.1,
                            column: seen_key.2,
                            value: String::new(),
                        })
                    }
                    _ => {}
                }
                let value = match &existing {
                    Some((r, _)) if waiting[t].contains(&(*r, column)) => continue,
                    Some((r, row)) if layout.is_editable(t, column) && !rewrite[t].contains(&(*r, column)) => {
                        row[column].clone()
                    }
                    _ => wanted[column].clone(),
                };
                if baseline.get(&key) != Some(&value) {
                    cells.push(SheetCell { tab: key.0, row_id: key.1, column: key.2, value });
                }
            }
        }
    }
    let mut removed: Vec<(String, String)> =
        baseline.keys().map(|(tab, id, _)| (tab.clone(), id.clone())).filter(|row| !present.contains(row)).collect();
    removed.sort();
    removed.dedup();
    (cells, removed)
}
