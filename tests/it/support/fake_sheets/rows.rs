//! How the grid changes shape as Google changes it: rows inserted and deleted (protected ranges follow
//! them), and `updateCells`.

use super::{google_error, GoogleError, State, OWNER, SERVICE_ACCOUNT};
use serde_json::Value;

impl State {
    /// A human inserts an empty row before `row` (0-based).
    pub fn insert_blank_row(&mut self, title: &str, row: usize) {
        let tab = self.tab_mut(title).unwrap();
        tab.rows.insert(row.min(tab.rows.len()), Vec::new());
        tab.row_count += 1;
        let id = tab.id;
        self.rows_inserted(id, row, 1);
    }

    /// A person sorts a tab's rows below the header, last first (cells move; whole-column protections,
    /// the only kind Atlas relies on, stay where they are).
    pub fn reverse_rows(&mut self, title: &str) {
        let tab = self.tab_mut(title).unwrap();
        let last = tab.rows.iter().rposition(|r| r.iter().any(|c| !c.is_empty())).map_or(0, |l| l + 1);
        if last > 1 {
            tab.rows[1..last].reverse();
        }
    }

    /// Protected ranges follow their rows when rows are inserted, as in Google Sheets (its reference is
    /// silent; this is what its editor does): rows inserted at or above a range's first row move the range
    /// down, rows inserted inside it make it longer; an unbounded side (a whole column) never moves, so an
    /// insert anywhere lands inside it.
    pub(super) fn rows_inserted(&mut self, sheet_id: i32, at: usize, count: usize) {
        for p in self.protections.iter_mut().filter(|p| p.sheet_id == sheet_id) {
            if let Some(start) = p.start_row.as_mut() {
                if at <= *start {
                    *start += count;
                }
            }
            if let Some(end) = p.end_row.as_mut() {
                if at < *end {
                    *end += count;
                }
            }
        }
    }

    /// Rows `from..to` deleted: ranges below move up, ranges over them shrink.
    pub(super) fn rows_deleted(&mut self, sheet_id: i32, from: usize, to: usize) {
        let gone = to - from;
        let adjust = |index: &mut usize| {
            if *index >= to {
                *index -= gone;
            } else if *index > from {
                *index = from;
            }
        };
        for p in self.protections.iter_mut().filter(|p| p.sheet_id == sheet_id) {
            p.start_row.as_mut().map(adjust);
            p.end_row.as_mut().map(adjust);
        }
    }

    /// `updateCells` with `fields: userEnteredValue`, as Atlas's service account: the rows given, and
    /// every other cell of the range cleared ("If the data in rows does not cover the entire requested
    /// range, the fields matching those set in fields will be cleared"). A cell protected from Atlas fails
    /// the whole request.
    pub(super) fn update_cells(&mut self, request: &Value) -> Result<(), GoogleError> {
        let range = &request["range"];
        let sheet_id = range["sheetId"].as_i64().unwrap_or(-1) as i32;
        let index = |key: &str| range[key].as_u64().map(|v| v as usize);
        let tab = self
            .tabs
            .iter()
            .find(|t| t.id == sheet_id)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", "No grid with id"))?;
        let (rows, columns) = (
            index("startRowIndex").unwrap_or(0)..index("endRowIndex").unwrap_or(tab.row_count),
            index("startColumnIndex").unwrap_or(0)..index("endColumnIndex").unwrap_or(tab.column_count),
        );
        for row in rows.clone() {
            for column in columns.clone() {
                if self.protections.iter().any(|p| p.covers(sheet_id, row, column) && !p.lets(SERVICE_ACCOUNT, OWNER)) {
                    return Err(google_error(
                        403,
                        "PERMISSION_DENIED",
                        "You are trying to edit a protected cell or object. Please contact the spreadsheet owner to remove protection if you need to edit.",
                    ));
                }
            }
        }
        let given = request["rows"].as_array().cloned().unwrap_or_default();
        let tab = self.tabs.iter_mut().find(|t| t.id == sheet_id).unwrap();
        for (i, row) in rows.enumerate() {
            let values = given.get(i).and_then(|r| r["values"].as_array().cloned()).unwrap_or_default();
            for (j, column) in columns.clone().enumerate() {
                let text = values.get(j).and_then(|c| c["userEnteredValue"]["stringValue"].as_str()).unwrap_or("");
                if text.is_empty() && tab.rows.get(row).is_none_or(|r| r.len() <= column) {
                    continue;
                }
                if tab.rows.len() <= row {
                    tab.rows.resize(row + 1, Vec::new());
                }
                if tab.rows[row].len() <= column {
                    tab.rows[row].resize(column + 1, String::new());
                }
                tab.rows[row][column] = text.to_owned();
            }
        }
        Ok(())
    }

    /// `appendCells` as Atlas: "Appends new cells after the last row with data in a sheet, inserting new
    /// rows into the sheet if necessary" (where that row is when the request applies). A cell protected
    /// from Atlas fails the whole request.
    pub(super) fn append_cells(&mut self, request: &Value) -> Result<(), GoogleError> {
        let id = request["sheetId"].as_i64().unwrap_or(-1) as i32;
        let rows: Vec<Vec<String>> = request["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let cells = r["values"].as_array().cloned().unwrap_or_default();
                cells.iter().map(|c| c["userEnteredValue"]["stringValue"].as_str().unwrap_or("").to_owned()).collect()
            })
            .collect();
        let tab = self.grid(id)?;
        let at = tab.rows.iter().rposition(|r| r.iter().any(|c| !c.is_empty())).map_or(0, |last| last + 1);
        for (i, row) in rows.iter().enumerate() {
            for (column, _) in row.iter().enumerate().filter(|(_, text)| !text.is_empty()) {
                if self.protections.iter().any(|p| p.covers(id, at + i, column) && !p.lets(SERVICE_ACCOUNT, OWNER)) {
                    return Err(google_error(
                        403,
                        "PERMISSION_DENIED",
                        "You are trying to edit a protected cell or object.",
                    ));
                }
            }
        }
        let tab = self.tabs.iter_mut().find(|t| t.id == id).unwrap();
        if tab.rows.len() < at {
            tab.rows.resize(at, Vec::new());
        }
        tab.rows.truncate(at);
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if width > tab.column_count {
            return Err(google_error(400, "INVALID_ARGUMENT", "Range exceeds grid limits."));
        }
        tab.rows.extend(rows);
        tab.row_count = tab.row_count.max(tab.rows.len());
        Ok(())
    }

    /// `copyPaste` of one block (PASTE_NORMAL: the cells as entered); the destination must lie inside
    /// its grid (Google's reference does not say it grows: the harder case).
    pub(super) fn copy_paste(&mut self, request: &Value) -> Result<(), GoogleError> {
        let (source, destination) = (&request["source"], &request["destination"]);
        let index = |range: &Value, key: &str| range[key].as_u64().unwrap_or(0) as usize;
        let block: Vec<Vec<String>> = {
            let id = source["sheetId"].as_i64().unwrap_or(-1) as i32;
            let tab = self.grid(id)?;
            (index(source, "startRowIndex")..index(source, "endRowIndex"))
                .map(|r| {
                    (index(source, "startColumnIndex")..index(source, "endColumnIndex"))
                        .map(|c| tab.rows.get(r).and_then(|row| row.get(c)).cloned().unwrap_or_default())
                        .collect()
                })
                .collect()
        };
        let id = destination["sheetId"].as_i64().unwrap_or(-1) as i32;
        let tab = self.grid_mut(id)?;
        let (top, left) = (index(destination, "startRowIndex"), index(destination, "startColumnIndex"));
        let width = block.first().map_or(0, Vec::len);
        if top + block.len() > tab.row_count || left + width > tab.column_count {
            return Err(google_error(400, "INVALID_ARGUMENT", "Range exceeds grid limits."));
        }
        for (i, row) in block.into_iter().enumerate() {
            if tab.rows.len() <= top + i {
                tab.rows.resize(top + i + 1, Vec::new());
            }
            let cells = &mut tab.rows[top + i];
            if cells.len() < left + width {
                cells.resize(left + width, String::new());
            }
            cells[left..left + width].clone_from_slice(&row);
        }
        Ok(())
    }

    /// `moveDimension` of one column: `destinationIndex` counts columns before the source is removed.
    /// Cells move in every row; a single-column protected range follows its column (Google's reference is
    /// silent; its editor keeps a moved column's protection on it), wider ranges stay where they are.
    pub(super) fn move_dimension(&mut self, request: &Value) -> Result<(), GoogleError> {
        let source = &request["source"];
        if source["dimension"] != "COLUMNS" {
            return Err(google_error(400, "INVALID_ARGUMENT", "the fake moves columns only"));
        }
        let id = source["sheetId"].as_i64().unwrap_or(-1) as i32;
        let from = source["startIndex"].as_u64().unwrap_or(0) as usize;
        let destination = request["destinationIndex"].as_u64().unwrap_or(0) as usize;
        let to = if destination > from { destination - 1 } else { destination };
        self.move_column(id, from, to)
    }

    /// Column `from` of grid `id` moved so that it ends at index `to` (a person's move, or the API's).
    pub(super) fn move_column(&mut self, id: i32, from: usize, to: usize) -> Result<(), GoogleError> {
        let tab = self.grid_mut(id)?;
        let width = tab.column_count;
        for row in tab.rows.iter_mut() {
            row.resize(width, String::new());
            let cell = row.remove(from);
            row.insert(to, cell);
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
        }
        let mut order: Vec<usize> = (0..width).collect();
        let column = order.remove(from);
        order.insert(to, column);
        for p in self.protections.iter_mut().filter(|p| p.sheet_id == id) {
            if let (Some(start), Some(end)) = (p.start_column, p.end_column) {
                if end == start + 1 {
                    let moved = order.iter().position(|&c| c == start).unwrap_or(start);
                    (p.start_column, p.end_column) = (Some(moved), Some(moved + 1));
                }
            }
        }
        Ok(())
    }

    /// The tab with grid id `id`, or Google's error for an unknown one.
    pub(super) fn grid(&self, id: i32) -> Result<&super::Tab, GoogleError> {
        self.tabs.iter().find(|t| t.id == id).ok_or_else(|| google_error(400, "INVALID_ARGUMENT", "No grid with id"))
    }

    pub(super) fn grid_mut(&mut self, id: i32) -> Result<&mut super::Tab, GoogleError> {
        self.tabs
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", "No grid with id"))
    }

    /// A `DimensionRange` of rows: its tab's id and the rows `start..end`.
    fn span(&mut self, range: &Value) -> Result<(i32, usize, usize), GoogleError> {
        let id = range["sheetId"].as_i64().unwrap_or(-1) as i32;
        let (start, end) =
            (range["startIndex"].as_u64().unwrap_or(0) as usize, range["endIndex"].as_u64().unwrap_or(0) as usize);
        if !self.tabs.iter().any(|t| t.id == id) {
            return Err(google_error(400, "INVALID_ARGUMENT", "No grid with id"));
        }
        Ok((id, start, end.max(start)))
    }

    /// `deleteDimension` of rows.
    pub(super) fn delete_dimension(&mut self, range: &Value) -> Result<(), GoogleError> {
        let (id, start, end) = self.span(range)?;
        let tab = self.tabs.iter_mut().find(|t| t.id == id).unwrap();
        for index in (start..end.min(tab.rows.len())).rev() {
            tab.rows.remove(index);
        }
        tab.row_count -= end - start;
        self.rows_deleted(id, start, end);
        Ok(())
    }

    /// `insertDimension` of rows.
    pub(super) fn insert_dimension(&mut self, range: &Value) -> Result<(), GoogleError> {
        let (id, start, end) = self.span(range)?;
        let tab = self.tabs.iter_mut().find(|t| t.id == id).unwrap();
        for _ in start..end {
            tab.rows.insert(start.min(tab.rows.len()), Vec::new());
        }
        tab.row_count += end - start;
        self.rows_inserted(id, start, end - start);
        Ok(())
    }
}
