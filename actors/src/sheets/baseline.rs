//! After a cycle: what each editable cell now holds, compared with the stored baseline, so only changes
//! are recorded.

use super::contract::TABS;
use super::export::Snapshot;
use super::plan::Row;
use crate::domain::command::SheetCell;
use crate::store::queries::sheet_cells::Baseline;
use std::collections::{HashMap, HashSet};

/// The baseline cells that changed, and the rows that left the sheet.
pub fn changes(
    snapshot: &Snapshot,
    desired: &[Vec<Row>; 3],
    rewrite: &[HashSet<(usize, usize)>; 3],
    baseline: &Baseline,
) -> (Vec<SheetCell>, Vec<(String, String)>) {
    let mut cells = Vec::new();
    let mut present: HashSet<(String, String)> = HashSet::new();
    for (t, tab) in TABS.iter().enumerate() {
        let mut first_row: HashMap<&str, usize> = HashMap::new();
        if let Some(rows) = &snapshot.tabs[t] {
            for (index, row) in rows.iter().enumerate().skip(1) {
                if let Some(id) = row.first() {
                    first_row.entry(id.trim()).or_insert(index);
                }
            }
        }
        for wanted in &desired[t] {
            present.insert((tab.title.to_owned(), wanted[0].clone()));
            let existing =
                first_row.get(wanted[0].as_str()).and_then(|&r| snapshot.tabs[t].as_ref().map(|rows| (r, &rows[r])));
            for &column in tab.editable {
                let value = match existing {
                    Some((r, row)) if !rewrite[t].contains(&(r, column)) => {
                        row.get(column).cloned().unwrap_or_default()
                    }
                    _ => wanted[column].clone(),
                };
                let key = (tab.title.to_owned(), wanted[0].clone(), column as u8);
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
