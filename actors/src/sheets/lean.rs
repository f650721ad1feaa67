//! The grid read without google-sheets4's typed cells. Its `CellData` is 2,960 bytes whatever a cell
//! holds (every optional field inline), so a spreadsheet an editor fills with 10,000 junk rows cost
//! Atlas hundreds of megabytes in one cycle. This read sends the same spreadsheets.get (same field mask,
//! same token, same HTTP client) and keeps each cell as the text it was entered as while the answer is
//! parsed: a cell costs its text, a row what its cells do.

use super::grid::{self, Grid};
use google_sheets4::api::{ExtendedValue, ProtectedRange, Scope, SheetProperties};
use google_sheets4::common;
use google_sheets4::hyper;
use serde::{Deserialize, Deserializer};

/// google-sheets4's typed answer, which this read replaces (`atlas-bench sheets-memory` compares them).
pub use google_sheets4::api::Spreadsheet as TypedAnswer;

/// The answer, as far as the field mask selects it.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    sheets: Vec<Sheet>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sheet {
    properties: Option<SheetProperties>,
    #[serde(default)]
    protected_ranges: Vec<ProtectedRange>,
    #[serde(default)]
    data: Vec<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    start_row: Option<i32>,
    #[serde(default)]
    row_data: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    values: Vec<Cell>,
}

/// A cell, turned into its text as it is read.
struct Cell(String);

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Entered {
            user_entered_value: Option<ExtendedValue>,
        }
        let entered = Entered::deserialize(deserializer)?;
        Ok(Cell(grid::entered(entered.user_entered_value.as_ref())))
    }
}

/// One spreadsheets.get of `url` with the hub's token and client; the raw answer, or the error the
/// generated calls would give (so `SheetsClient::call` treats it the same way).
pub(super) async fn get<C: common::Connector>(
    hub: &google_sheets4::Sheets<C>,
    url: &str,
    delegate: &mut dyn common::Delegate,
) -> Result<hyper::body::Bytes, google_sheets4::Error> {
    let token = hub.auth.get_token(&[Scope::Spreadsheet.as_ref()]).await.map_err(common::Error::MissingToken)?;
    let mut request = hyper::Request::builder().method(hyper::Method::GET).uri(url);
    if let Some(token) = token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .header(hyper::header::CONTENT_LENGTH, 0_u64)
        .body(common::to_body::<String>(None))
        .map_err(|e| common::Error::Io(std::io::Error::other(e)))?;
    let (parts, body) = hub.client.request(request).await.map_err(common::Error::HttpError)?.into_parts();
    let bytes = common::to_bytes(common::Body::new(body)).await.unwrap_or_default();
    if !parts.status.is_success() {
        let error = serde_json::from_slice::<serde_json::Value>(&bytes);
        let response = common::to_response(parts, Some(bytes));
        delegate.http_failure(&response, error.as_ref().ok());
        return Err(match error {
            Ok(value) => common::Error::BadRequest(value),
            Err(_) => common::Error::Failure(response),
        });
    }
    Ok(bytes)
}

/// Each tab of the answer with its rows (trailing empty cells and rows dropped, as values reads return
/// them) and protections, as `grid::grids` gives them from a typed answer.
pub fn grids(answer: &[u8]) -> Result<Vec<Grid>, String> {
    let answer: Answer =
        serde_json::from_slice(answer).map_err(|e| format!("Google Sheets answered something unreadable: {e}"))?;
    Ok(answer
        .sheets
        .into_iter()
        .filter_map(|sheet| {
            let info = grid::sheet_info(sheet.properties?);
            let mut rows: Vec<Vec<String>> = Vec::new();
            for data in sheet.data {
                let start = data.start_row.unwrap_or(0).max(0) as usize;
                for (i, row) in data.row_data.into_iter().enumerate() {
                    let mut cells: Vec<String> = row.values.into_iter().map(|Cell(text)| text).collect();
                    while cells.last().is_some_and(String::is_empty) {
                        cells.pop();
                    }
                    cells.shrink_to_fit();
                    if rows.len() <= start + i {
                        rows.resize(start + i + 1, Vec::new());
                    }
                    rows[start + i] = cells;
                }
            }
            while rows.last().is_some_and(Vec::is_empty) {
                rows.pop();
            }
            let protections = sheet.protected_ranges.into_iter().map(grid::protection).collect();
            Some(Grid { info, rows, protections })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_as_its_entered_text_with_trailing_blanks_dropped() {
        let answer = serde_json::json!({ "sheets": [{
            "properties": { "sheetId": 7, "title": "Pending_Approvals", "gridProperties": { "rowCount": 9, "columnCount": 26 } },
            "protectedRanges": [{ "protectedRangeId": 3, "range": { "sheetId": 7, "startColumnIndex": 8, "endColumnIndex": 9 },
                "description": "Atlas reviewer column: alice", "editors": { "users": ["alice@example.com"] } }],
            "data": [{ "startRow": 0, "rowData": [
                { "values": [{ "userEnteredValue": { "stringValue": "ID" } }, { "userEnteredValue": { "formulaValue": "=A1" } }, {}] },
                {},
                { "values": [{ "userEnteredValue": { "boolValue": true } }, { "userEnteredValue": { "numberValue": 42.0 } }] },
                {}
            ] }]
        }] });
        let read = grids(answer.to_string().as_bytes()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].info.sheet_id, 7);
        assert_eq!(read[0].rows, vec![vec!["ID".to_owned(), "=A1".into()], vec![], vec!["TRUE".into(), "42".into()]]);
        assert_eq!(read[0].protections[0].start_column, Some(8));
        assert_eq!(read[0].protections[0].users.as_deref(), Some(&["alice@example.com".to_owned()][..]));
        assert!(grids(b"not json").is_err());
    }
}
