//! Export planning, pure: given what a tab holds now and what the database says it should hold, which
//! rows to delete, which cells of existing rows to write and which rows to append. Rows are matched by
//! their ID cell, never by position, so humans may sort, filter, insert and delete rows; and only cells
//! that differ are written, so a cycle with nothing to change writes nothing. Where the sheet moved
//! between the read and the write, `receipts.rs` finds out and puts back what the write hit.

use super::contract::Layout;
use std::collections::{HashMap, HashSet};

/// One row as the database wants it (column A is the ID; as wide as the tab's layout).
pub type Row = Vec<String>;

/// A run of cells to write in one existing row (row and column 0-based, as read: writes go before the
/// plan's deletions in the same request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellWrite {
    pub row: usize,
    pub column: usize,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TabPlan {
    /// The header row was deleted (row 1 holds a record): a row is inserted above it first, and every
    /// other index of the plan counts that row.
    pub insert_header: bool,
    /// Sheet rows to delete, highest first (so earlier deletions do not shift later ones).
    pub delete_rows: Vec<usize>,
    pub writes: Vec<CellWrite>,
    /// Rows for records the tab does not show, appended below its last row with data (by Google, when the
    /// request applies: never over a row a person added meanwhile).
    pub appends: Vec<Row>,
    /// Rows the tab holds after the plan (header included), to refuse a mirror beyond `sheets.max_rows`.
    pub rows_needed: usize,
}

impl TabPlan {
    pub fn is_empty(&self) -> bool {
        self.delete_rows.is_empty() && self.writes.is_empty() && self.appends.is_empty()
    }

    /// The existing rows the plan writes or deletes (as read), each once, in order.
    pub fn touched(&self) -> Vec<usize> {
        let mut rows: Vec<usize> = self.writes.iter().map(|w| w.row).chain(self.delete_rows.iter().copied()).collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}

/// A sheet row cut or padded to `width` cells.
pub fn padded(row: &[String], width: usize) -> Vec<String> {
    let mut cells: Vec<String> = row.iter().take(width).cloned().collect();
    cells.resize(width, String::new());
    cells
}

/// Groups the columns that differ into contiguous runs.
fn runs_of(row: usize, wanted: &Row, columns: &[usize]) -> Vec<CellWrite> {
    let mut writes: Vec<CellWrite> = Vec::new();
    for &column in columns {
        match writes.last_mut() {
            Some(last) if last.column + last.values.len() == column => last.values.push(wanted[column].clone()),
            _ => writes.push(CellWrite { row, column, values: vec![wanted[column].clone()] }),
        }
    }
    writes
}

/// Plans tab `t`. `sheet` is the tab as read (row 0 is the header; trailing empty cells may be missing).
/// Editable cells of existing rows are written only when `rewrite` lists them (sheet row, column):
/// human edits are the import's business, never overwritten by an export.
///
/// Every write to a row also writes its ID (column A): should the row have moved under the write (a
/// human deleted a row above it meanwhile), the cells land together with their own identity, so the
/// row they hit no longer claims to be the record it was, and the next import refuses any decision in it.
/// Rows listed in `keep` are not removed although the database no longer shows them (a retired row
/// holding a note an export-only run must leave for the next import).
pub fn plan_tab(
    layout: &Layout,
    t: usize,
    sheet: &[Vec<String>],
    desired: &[Row],
    rewrite: &HashSet<(usize, usize)>,
    keep_rows: &HashSet<usize>,
) -> TabPlan {
    let width = layout.width(t);
    let wanted: HashMap<&str, &Row> = desired.iter().map(|row| (row[0].as_str(), row)).collect();
    let mut plan = TabPlan::default();
    // A first row holding a record's ID is that record, not a header to write over (a person deleted
    // the header row): the header goes into a row inserted above it, and the record keeps what was typed.
    let shifted: Vec<Vec<String>>;
    let sheet = match sheet.first() {
        Some(first) if first.first().is_some_and(|id| wanted.contains_key(id.trim())) => {
            plan.insert_header = true;
            shifted = std::iter::once(Vec::new()).chain(sheet.iter().cloned()).collect();
            shifted.as_slice()
        }
        _ => sheet,
    };
    // Of rows sharing an ID, keep the first whose Atlas-owned cells match the database, else the first.
    let mut keep: HashMap<&str, usize> = HashMap::new();
    for (index, row) in sheet.iter().enumerate().skip(1) {
        let cells = padded(row, width);
        let Some(want) = wanted.get(cells[0].trim()) else { continue };
        let matches = (0..width).all(|c| layout.is_editable(t, c) || cells[c] == want[c]);
        match keep.get(want[0].as_str()) {
            None => {
                keep.insert(want[0].as_str(), index);
            }
            Some(&first) if matches && !row_matches(layout, t, &sheet[first], want) => {
                keep.insert(want[0].as_str(), index);
            }
            Some(_) => {}
        }
    }
    let mut kept: Vec<(usize, &Row, Vec<String>)> = Vec::new();
    for (index, row) in sheet.iter().enumerate().skip(1) {
        let cells = padded(row, width);
        let id = cells[0].trim();
        if id.is_empty() && row.iter().all(|c| c.trim().is_empty()) {
            continue; // a blank row a human left: harmless
        }
        match wanted.get(id) {
            Some(want) if keep.get(id) == Some(&index) => kept.push((index, want, cells)),
            None if keep_rows.contains(&index) => {}
            _ => plan.delete_rows.push(index), // retired, deleted, unknown or a duplicate
        }
    }
    plan.delete_rows.sort_unstable_by(|a, b| b.cmp(a));

    let headers = layout.headers(t);
    let header = sheet.first().map(Vec::as_slice).unwrap_or(&[]);
    if padded(header, width) != headers {
        plan.writes.push(CellWrite { row: 0, column: 0, values: headers });
    }
    if header.len() > width && header.iter().skip(width).any(|c| !c.is_empty()) {
        // Columns a human added to the header are cleared: the layout ends at its last column.
        plan.writes.push(CellWrite { row: 0, column: width, values: vec![String::new(); header.len() - width] });
    }
    for (index, row, cells) in &kept {
        let mut differing: Vec<usize> = (0..width)
            .filter(|&c| cells[c] != row[c])
            .filter(|&c| !layout.is_editable(t, c) || rewrite.contains(&(*index, c)))
            .collect();
        if !differing.is_empty() && differing[0] != 0 {
            differing.insert(0, 0);
        }
        plan.writes.extend(runs_of(*index, row, &differing));
    }
    plan.appends = desired.iter().filter(|row| !keep.contains_key(row[0].as_str())).cloned().collect();
    plan.rows_needed = sheet.len().max(1) - plan.delete_rows.len() + plan.appends.len();
    plan
}

/// The column moves (from, to; each index as the grid stands before that move) that put a header whose
/// columns a person reordered back in the layout's order, or `None` when the header is not a reordering
/// of the layout's (a column renamed, deleted or doubled: then the header is rewritten instead). Moving the
/// columns back moves their cells with them: rewriting the header alone would leave each column's cells
/// under another heading (a Payload moved left of Notes would be imported as notes).
pub fn column_moves(header: &[String], expected: &[String]) -> Option<Vec<(usize, usize)>> {
    let mut current: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    if expected.iter().any(|want| current.iter().filter(|have| **have == want.as_str()).count() != 1) {
        return None;
    }
    let mut moves = Vec::new();
    for (to, want) in expected.iter().enumerate() {
        let from = current.iter().position(|have| *have == want.as_str()).expect("counted above");
        if from != to {
            let column = current.remove(from);
            current.insert(to, column);
            moves.push((from, to));
        }
    }
    Some(moves)
}

/// Whether a sheet row's Atlas-owned cells are exactly the database's.
fn row_matches(layout: &Layout, t: usize, row: &[String], want: &Row) -> bool {
    let cells = padded(row, layout.width(t));
    (0..cells.len()).all(|c| layout.is_editable(t, c) || cells[c] == want[c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::contract::APPROVALS;

    fn row(id: &str, status: &str, notes: &str) -> Row {
        [id, "task", "create", "item", status, "2026-01-01", notes, "{}"].map(String::from).to_vec()
    }

    fn plan_tab(
        _: &crate::sheets::contract::TabContract,
        sheet: &[Vec<String>],
        desired: &[Row],
        rewrite: &HashSet<(usize, usize)>,
    ) -> TabPlan {
        let shared = Layout::new(crate::sheets::contract::ApprovalMode::Shared { reviewer: "desk".into() });
        super::plan_tab(&shared, 0, sheet, desired, rewrite, &HashSet::new())
    }

    fn sheet(rows: &[Row]) -> Vec<Vec<String>> {
        let mut all = vec![APPROVALS.headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
        // Google omits trailing empty cells.
        all.extend(rows.iter().map(|r| {
            let mut cells = r.to_vec();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            cells
        }));
        all
    }

    #[test]
    fn an_unchanged_tab_plans_nothing_even_when_rows_were_sorted() {
        let desired = [row("a", "pending", ""), row("b", "pending", "")];
        let plan = plan_tab(&APPROVALS, &sheet(&[desired[1].clone(), desired[0].clone()]), &desired, &HashSet::new());
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.rows_needed, 3);
    }

    #[test]
    fn new_rows_are_appended_and_a_missing_header_written() {
        let desired = [row("a", "pending", "")];
        let plan = plan_tab(&APPROVALS, &[], &desired, &HashSet::new());
        assert_eq!(
            plan.writes,
            vec![CellWrite { row: 0, column: 0, values: APPROVALS.headers.map(String::from).to_vec() }]
        );
        assert_eq!(plan.appends, desired.to_vec());
        assert_eq!(plan.rows_needed, 2);
    }

    #[test]
    fn retired_unknown_and_duplicate_rows_are_deleted_highest_first_and_writes_address_rows_as_read() {
        let desired = [row("a", "pending", ""), row("c", "approved", "")];
        let current = sheet(&[
            row("a", "pending", ""),
            row("x", "pending", ""),
            row("a", "pending", ""),
            row("c", "pending", ""),
        ]);
        let plan = plan_tab(&APPROVALS, &current, &desired, &HashSet::new());
        assert_eq!(plan.delete_rows, vec![3, 2]);
        // c's Status is editable: it changes in the sheet only if the import asked for it.
        assert!(plan.writes.is_empty(), "{plan:?}");
        let rewrite: HashSet<(usize, usize)> = [(4, 4)].into();
        let plan = plan_tab(&APPROVALS, &current, &desired, &rewrite);
        assert_eq!(
            plan.writes,
            vec![
                CellWrite { row: 4, column: 0, values: vec!["c".into()] },
                CellWrite { row: 4, column: 4, values: vec!["approved".into()] }
            ],
            "every write carries the row's ID"
        );
    }

    #[test]
    fn of_two_rows_sharing_an_id_the_one_showing_the_database_is_kept() {
        let desired = [row("a", "pending", ""), row("b", "pending", "")];
        let mut forged = row("b", "pending", "");
        forged[3] = "what a's row showed".into();
        let plan =
            plan_tab(&APPROVALS, &sheet(&[forged, desired[1].clone(), desired[0].clone()]), &desired, &HashSet::new());
        assert_eq!(plan.delete_rows, vec![1], "the forged copy goes, whatever its position");
    }

    #[test]
    fn a_reordered_header_is_put_back_by_moving_columns() {
        let expected: Vec<String> = APPROVALS.headers.iter().map(|h| (*h).to_owned()).collect();
        let mut moved = expected.clone();
        moved.swap(6, 7); // Payload moved left of Notes
        assert_eq!(column_moves(&moved, &expected), Some(vec![(7, 6)]));
        let mut far = expected.clone();
        let notes = far.remove(6);
        far.extend(["Mine".to_owned(), notes]); // Notes moved past a column of the person's
        let moves = column_moves(&far, &expected).unwrap();
        let mut grid = far.clone();
        for (from, to) in moves {
            let column = grid.remove(from);
            grid.insert(to, column);
        }
        assert_eq!(&grid[..8], &expected[..]);
        assert_eq!(column_moves(&expected, &expected), Some(vec![]));
        let mut renamed = expected.clone();
        renamed[6] = "Comments".into();
        assert_eq!(column_moves(&renamed, &expected), None, "not a reordering: the header is rewritten");
    }

    #[test]
    fn columns_added_to_the_header_are_cleared() {
        let mut current = sheet(&[]);
        current[0].extend(["".to_owned(), "Mine".to_owned()]);
        let plan = plan_tab(&APPROVALS, &current, &[], &HashSet::new());
        assert_eq!(plan.writes, vec![CellWrite { row: 0, column: 8, values: vec![String::new(), String::new()] }]);
    }

    #[test]
    fn system_cells_edited_by_a_human_are_restored_in_contiguous_runs() {
        let desired = [row("a", "pending", "")];
        let mut edited = row("a", "pending", "");
        edited[1] = "project".into();
        edited[2] = "delete".into();
        edited[7] = "{\"evil\":1}".into();
        let plan = plan_tab(&APPROVALS, &sheet(&[edited]), &desired, &HashSet::new());
        assert_eq!(
            plan.writes,
            vec![
                CellWrite { row: 1, column: 0, values: vec!["a".into(), "task".into(), "create".into()] },
                CellWrite { row: 1, column: 7, values: vec!["{}".into()] },
            ]
        );
    }
}
