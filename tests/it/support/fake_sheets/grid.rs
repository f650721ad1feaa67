//! What spreadsheets.get returns: each tab's properties, its protected ranges (editors shown only to
//! users who can edit, as Google does) and, when asked for, its cells as `userEnteredValue`.

use super::{google_error, parse_a1, EditorModel, GoogleError, State, Tab, OWNER, SERVICE_ACCOUNT};
use serde_json::{json, Value};

/// A protected range (0-based, end exclusive, `None` = unbounded).
#[derive(Clone, Debug, PartialEq)]
pub struct FakeProtection {
    pub id: i32,
    pub sheet_id: i32,
    pub start_row: Option<usize>,
    pub end_row: Option<usize>,
    pub start_column: Option<usize>,
    pub end_column: Option<usize>,
    pub description: String,
    pub warning_only: bool,
    /// The editors set on the range (the requesting user added when it was made, as Google does).
    pub users: Vec<String>,
}

impl FakeProtection {
    pub(super) fn covers(&self, sheet_id: i32, row: usize, column: usize) -> bool {
        let within =
            |at: usize, from: Option<usize>, to: Option<usize>| from.unwrap_or(0) <= at && to.is_none_or(|t| at < t);
        self.sheet_id == sheet_id
            && within(row, self.start_row, self.end_row)
            && within(column, self.start_column, self.end_column)
    }

    pub(super) fn lets(&self, user: &str, owner: &str) -> bool {
        self.warning_only || user.eq_ignore_ascii_case(owner) || self.users.iter().any(|u| u.eq_ignore_ascii_case(user))
    }

    /// The editors Google lists: under `EditorModel::Google`, the spreadsheet's owner too, whom no change
    /// removes ("Neither the owner of the spreadsheet nor the current user can be removed", Apps Script
    /// `Protection.removeEditors`; `ProtectedRange.editors` is "the users and groups with edit access to
    /// the protected range", and the owner has it).
    pub fn listed_editors(&self, model: EditorModel) -> Vec<String> {
        let mut users = self.users.clone();
        if model == EditorModel::Google && !users.iter().any(|u| u.eq_ignore_ascii_case(OWNER)) {
            users.push(OWNER.to_owned());
        }
        users
    }

    pub(super) fn to_json(&self, viewer: &str, model: EditorModel) -> Value {
        let mut range = json!({ "sheetId": self.sheet_id });
        for (key, value) in [
            ("startRowIndex", self.start_row),
            ("endRowIndex", self.end_row),
            ("startColumnIndex", self.start_column),
            ("endColumnIndex", self.end_column),
        ] {
            if let Some(value) = value {
                range[key] = json!(value);
            }
        }
        let mut body = json!({ "protectedRangeId": self.id, "range": range, "description": self.description, "warningOnly": self.warning_only });
        // Editors are shown only to users who can edit the range, and never for warning-only ranges.
        if !self.warning_only && self.users.iter().any(|u| u.eq_ignore_ascii_case(viewer)) {
            body["editors"] = json!({ "users": self.listed_editors(model) });
        }
        body
    }
}

/// A cell as `CellData` with its `userEnteredValue`.
pub(super) fn entered(text: &str) -> Value {
    if text.is_empty() {
        json!({})
    } else if text.starts_with('=') {
        json!({ "userEnteredValue": { "formulaValue": text } })
    } else if text == "TRUE" || text == "FALSE" {
        json!({ "userEnteredValue": { "boolValue": text == "TRUE" } })
    } else {
        json!({ "userEnteredValue": { "stringValue": text } })
    }
}

impl State {
    /// spreadsheets.get: the tabs the ranges name (all without ranges), with properties, protected ranges
    /// and, when asked for, their cells as `userEnteredValue` (formulas as written, `TRUE`/`FALSE` typed by
    /// a person as booleans, everything else as strings, as Atlas writes RAW).
    pub(super) fn spreadsheet(&self, ranges: &[String], with_data: bool) -> Result<Value, GoogleError> {
        // Each tab with the last row its range asks for (`A1:Z501`: rows 1 to 501; `A1:Z`: all).
        let mut chosen: Vec<(&Tab, Option<usize>)> = Vec::new();
        for range in ranges {
            let parsed = parse_a1(range);
            let title = parsed.as_ref().map(|r| r.0.clone()).unwrap_or_else(|| range.trim_matches('\'').to_owned());
            let tab = self
                .tabs
                .iter()
                .find(|t| t.title == title)
                .ok_or_else(|| google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}")))?;
            chosen.push((tab, parsed.and_then(|r| r.4)));
        }
        if ranges.is_empty() {
            chosen = self.tabs.iter().map(|t| (t, None)).collect();
        }
        let sheets: Vec<Value> = chosen
            .iter()
            .map(|&(t, last_row)| {
                let index = self.tabs.iter().position(|x| x.id == t.id).unwrap_or(0);
                let mut sheet = json!({ "properties": { "sheetId": t.id, "title": t.title, "index": index,
                    "gridProperties": { "rowCount": t.row_count, "columnCount": t.column_count } } });
                let protections: Vec<Value> = self
                    .protections
                    .iter()
                    .filter(|p| p.sheet_id == t.id)
                    .map(|p| p.to_json(SERVICE_ACCOUNT, self.model))
                    .collect();
                if !protections.is_empty() {
                    sheet["protectedRanges"] = json!(protections);
                }
                if with_data {
                    let mut rows: Vec<Value> = t
                        .rows
                        .iter()
                        .take(last_row.map_or(usize::MAX, |last| last + 1))
                        .map(|row| {
                            let mut cells: Vec<Value> = row.iter().map(|c| entered(c)).collect();
                            while cells.last().is_some_and(|c| c == &json!({})) {
                                cells.pop();
                            }
                            if cells.is_empty() {
                                json!({})
                            } else {
                                json!({ "values": cells })
                            }
                        })
                        .collect();
                    while rows.last().is_some_and(|r| r == &json!({})) {
                        rows.pop();
                    }
                    sheet["data"] = json!([{ "startRow": 0, "startColumn": 0, "rowData": rows }]);
                }
                sheet
            })
            .collect();
        Ok(json!({ "spreadsheetId": "fake", "sheets": sheets }))
    }
}
