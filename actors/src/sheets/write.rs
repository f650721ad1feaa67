//! The write: structure, cells of existing rows, deletions and appended rows in one atomic
//! spreadsheets.batchUpdate (split only past Google's recommended 2 MB), each write into or deletion of an
//! existing row with its receipt (`receipts.rs`), judged from the reply; putting back what a write hit is
//! the cycle's (`settle.rs`), after it has recorded what must never count.

use super::client::{SheetInfo, SheetsClient, SheetsError};
use super::contract::{Layout, FIRST_REVIEWER_COLUMN, TABS};
use super::export::{ExportReport, Snapshot, WriteRules};
use super::plan::{column_moves, padded, plan_tab, CellWrite, Row, TabPlan};
use super::receipts::{self, Findings, Receipt, RECEIPTS_TAB};
use google_sheets4::api::{
    AddSheetRequest, AppendCellsRequest, AppendDimensionRequest, DeleteDimensionRequest, DimensionRange,
    GridProperties, GridRange, MoveDimensionRequest, Request, SheetProperties, UpdateCellsRequest,
    UpdateSheetPropertiesRequest,
};
use std::collections::HashSet;

/// Largest batchUpdate body, leaving room under Google's recommended 2 MB.
const MAX_REQUEST_BYTES: usize = 1_800_000;
/// Rows a new tab gets beyond what it needs.
const GRID_SLACK: usize = 200;

/// Splits writes around columns that may not be written.
fn without(writes: Vec<CellWrite>, blocked: &HashSet<usize>) -> Vec<CellWrite> {
    if blocked.is_empty() {
        return writes;
    }
    let mut out: Vec<CellWrite> = Vec::new();
    for write in writes {
        let mut current: Option<CellWrite> = None;
        for (i, value) in write.values.into_iter().enumerate() {
            let column = write.column + i;
            if blocked.contains(&column) {
                out.extend(current.take());
                continue;
            }
            match current.as_mut() {
                Some(run) => run.values.push(value),
                None => current = Some(CellWrite { row: write.row, column, values: vec![value] }),
            }
        }
        out.extend(current);
    }
    out
}

/// A request with its receipt, if it writes into or deletes an existing row (`receipts.rs`).
struct Unit {
    requests: Vec<Request>,
    receipt: Option<(Receipt, i32, usize)>,
}

fn grid(sheet_id: i32, row: usize, column: usize, columns: usize) -> GridRange {
    GridRange {
        sheet_id: Some(sheet_id),
        start_row_index: Some(row as i32),
        end_row_index: Some(row as i32 + 1),
        start_column_index: Some(column as i32),
        end_column_index: Some((column + columns) as i32),
    }
}

use receipts::{entered_only, text_row as row_data};

/// Rows appended below the tab's last row with data, where Google finds it when the request applies.
fn append(sheet_id: i32, rows: &[Row]) -> Request {
    Request {
        append_cells: Some(AppendCellsRequest {
            sheet_id: Some(sheet_id),
            rows: Some(rows.iter().map(|r| row_data(r)).collect()),
            fields: entered_only(),
            table_id: None,
        }),
        ..Default::default()
    }
}

/// Column `from` moved to `to` (`to` < `from`: Google counts the destination before the source leaves).
fn move_column(sheet_id: i32, from: usize, to: usize) -> Request {
    let source = DimensionRange {
        sheet_id: Some(sheet_id),
        dimension: Some("COLUMNS".into()),
        start_index: Some(from as i32),
        end_index: Some(from as i32 + 1),
    };
    Request {
        move_dimension: Some(MoveDimensionRequest { source: Some(source), destination_index: Some(to as i32) }),
        ..Default::default()
    }
}

fn dimension(sheet_id: i32, start: usize, end: usize) -> DimensionRange {
    DimensionRange {
        sheet_id: Some(sheet_id),
        dimension: Some("ROWS".into()),
        start_index: Some(start as i32),
        end_index: Some(end as i32),
    }
}

/// A request's size as sent (the client drops null fields before sending).
fn size(request: &Request) -> usize {
    let Ok(mut value) = serde_json::to_value(request) else { return MAX_REQUEST_BYTES };
    google_sheets4::common::remove_json_null_values(&mut value);
    value.to_string().len()
}

/// Writes what `desired` needs over `snapshot`, as `rules` say: structure, cells of existing rows (each
/// with its receipt), deletions (highest first, each with its receipt) and appended rows, in as few
/// spreadsheets.batchUpdate requests as the 2 MB size allows; the receipts' findings are in the report.
pub async fn write(
    client: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
    layout: &Layout,
    snapshot: &Snapshot,
    desired: &[Vec<Row>; 3],
    rules: &WriteRules,
) -> Result<ExportReport, SheetsError> {
    let known = structure.clone().unwrap_or_default();
    let mut report = ExportReport::default();
    let mut prefix = Vec::new();
    let (mut units, mut deletions, mut appends) = (Vec::new(), Vec::new(), Vec::new());
    let widest = (0..3).map(|t| layout.width(t)).max().unwrap_or(1);
    for (t, tab) in TABS.iter().enumerate() {
        let sheet = snapshot.tabs[t].clone().unwrap_or_default();
        let info = known.iter().find(|s| s.title == tab.title);
        let header = sheet.first().cloned().unwrap_or_default();
        let moves = info.and_then(|_| column_moves(&header, &layout.headers(t))).unwrap_or_default();
        if let (Some(info), false) = (info, moves.is_empty()) {
            // A person reordered the tab's columns: they move back, cells and all, and nothing else is
            // written to the tab this time (every other index would be off); the next cycle goes on.
            tracing::warn!(tab = tab.title, moves = moves.len(), "The tab's columns were reordered; moving them back.");
            prefix.extend(moves.into_iter().map(|(from, to)| move_column(info.sheet_id, from, to)));
            continue;
        }
        let plan: TabPlan = plan_tab(layout, t, &sheet, &desired[t], &rules.rewrite[t], &rules.keep_rows[t]);
        // The mirror itself never outgrows `sheets.max_rows` (a tab larger than that is refused at the next
        // read): data that does not fit is refused.
        let max = client.max_rows();
        if plan.rows_needed > max {
            return Err(SheetsError::Oversized { tab: tab.title.to_owned(), rows: plan.rows_needed, max });
        }
        let width = layout.width(t);
        // A blocked column is skipped whole, its header too: a protection covers the whole column.
        let blocked = &rules.blocked_columns[t];
        let appended: Vec<Row> = plan.appends.iter().map(|row| before_blocked(row, blocked)).collect();
        let sheet_id = match known.iter().find(|s| s.title == tab.title) {
            None => {
                report.tabs_created += 1;
                let rows = (plan.rows_needed + GRID_SLACK).min(max).max(plan.rows_needed);
                let sheet_id = rand::random_range(1_000_000..i32::MAX);
                prefix.push(add_sheet(sheet_id, tab.title, rows, width.max(FIRST_REVIEWER_COLUMN), false));
                // Atlas picks the new tab's id so the guard rails can go into the same request.
                prefix.extend(super::structure::guard_rails(layout, t, sheet_id, client.account()));
                // A new tab is empty: its header and rows go in from the top.
                let header = before_blocked(&layout.headers(t), blocked);
                appends.push(append(sheet_id, &[header]));
                sheet_id
            }
            Some(info) => {
                if plan.insert_header {
                    prefix.push(Request {
                        insert_dimension: Some(google_sheets4::api::InsertDimensionRequest {
                            range: Some(dimension(info.sheet_id, 0, 1)),
                            inherit_from_before: Some(false),
                        }),
                        ..Default::default()
                    });
                }
                if (info.column_count as usize) < width {
                    let widen = AppendDimensionRequest {
                        sheet_id: Some(info.sheet_id),
                        dimension: Some("COLUMNS".into()),
                        length: Some((width - info.column_count as usize) as i32),
                    };
                    prefix.push(Request { append_dimension: Some(widen), ..Default::default() });
                }
                let read = |row: usize| padded(sheet.get(row).map(Vec::as_slice).unwrap_or(&[]), width);
                // The header row as read is counted from the inserted row when one goes in above it.
                let read_at = |row: usize| {
                    if plan.insert_header {
                        if row == 0 {
                            Vec::new()
                        } else {
                            read(row - 1)
                        }
                    } else {
                        read(row)
                    }
                };
                let writes = without(plan.writes.clone(), blocked);
                for row in plan.touched().into_iter().filter(|r| !plan.delete_rows.contains(r)) {
                    let mine: Vec<&CellWrite> = writes.iter().filter(|w| w.row == row).collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let written = mine.iter().flat_map(|w| w.column..w.column + w.values.len()).collect();
                    let requests = mine
                        .iter()
                        .map(|w| {
                            report.cells_written += w.values.len();
                            Request {
                                update_cells: Some(UpdateCellsRequest {
                                    range: Some(grid(info.sheet_id, w.row, w.column, w.values.len())),
                                    rows: Some(vec![row_data(&w.values)]),
                                    fields: entered_only(),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }
                        })
                        .collect();
                    let receipt = Receipt {
                        tab: t,
                        row,
                        read: padded(&read_at(row), width),
                        written,
                        at: rules.receipt_time.clone(),
                    };
                    units.push(Unit { requests, receipt: Some((receipt, info.sheet_id, width)) });
                }
                for &row in &plan.delete_rows {
                    let request = Request {
                        delete_dimension: Some(DeleteDimensionRequest {
                            range: Some(dimension(info.sheet_id, row, row + 1)),
                        }),
                        ..Default::default()
                    };
                    let receipt = Receipt {
                        tab: t,
                        row,
                        read: padded(&read_at(row), width),
                        written: HashSet::new(),
                        at: rules.receipt_time.clone(),
                    };
                    deletions.push(Unit { requests: vec![request], receipt: Some((receipt, info.sheet_id, width)) });
                }
                report.rows_deleted += plan.delete_rows.len();
                info.sheet_id
            }
        };
        report.cells_written += appended.iter().map(Vec::len).sum::<usize>();
        for chunk in appended.chunks(500) {
            appends.push(append(sheet_id, chunk));
        }
    }
    // Cells of existing rows first, then deletions (highest first): every index is a row as read.
    units.extend(deletions);
    units.extend(appends.into_iter().map(|request| Unit { requests: vec![request], receipt: None }));
    let receipts = units.iter().filter(|u| u.receipt.is_some()).count();
    let columns = 1 + 2 * widest; // a receipt: its mark, the row as found, the row as read
    let existing = known.iter().find(|s| s.title == RECEIPTS_TAB);
    let receipts_id = match existing {
        _ if receipts == 0 => None,
        Some(info) if !rules.receipts_unguarded => {
            if (info.row_count as usize) < receipts || (info.column_count as usize) < columns {
                prefix.push(resize(info, receipts, columns));
            }
            Some(info.sheet_id)
        }
        _ => {
            // Missing, or not Atlas's alone any more (then whatever it holds is not trusted): made anew.
            if let Some(info) = existing {
                let delete = google_sheets4::api::DeleteSheetRequest { sheet_id: Some(info.sheet_id) };
                prefix.push(Request { delete_sheet: Some(delete), ..Default::default() });
            }
            let sheet_id = rand::random_range(1_000_000..i32::MAX);
            prefix.push(add_sheet(sheet_id, RECEIPTS_TAB, receipts.max(GRID_SLACK), columns, true));
            prefix.push(receipts::guard(sheet_id, client.account()));
            Some(sheet_id)
        }
    };
    prefix.extend(rules.protect.iter().cloned());
    // Every receipt travels in the first request with the writes it vouches for (however large: a
    // receipt left behind by a later request's failure is judged from the tab at the next cycle);
    // appended rows need none and fill as few further requests as the 2 MB size allows.
    let mut batches: Vec<Vec<Unit>> = vec![Vec::new()];
    let mut batch_bytes = prefix.iter().map(size).sum::<usize>();
    for unit in units {
        let bytes = unit.requests.iter().map(size).sum::<usize>() + 300;
        let full = batch_bytes + bytes > MAX_REQUEST_BYTES && batches.last().is_some_and(|b| !b.is_empty());
        if full && unit.receipt.is_none() {
            batches.push(Vec::new());
            batch_bytes = 0;
        }
        batch_bytes += bytes;
        batches.last_mut().expect("one batch at least").push(unit);
    }
    report.receipts_id = receipts_id;
    for batch in batches {
        let sent = send(client, layout, std::mem::take(&mut prefix), batch, receipts_id).await;
        if !matches!(sent, Ok(None)) {
            *structure = None; // sheet ids and grid sizes may have changed: look again next time
        }
        report.findings.extend(sent?.unwrap_or_default());
    }
    Ok(report)
}

/// The receipts tab grown to hold `rows` receipts of `columns` cells.
fn resize(info: &SheetInfo, rows: usize, columns: usize) -> Request {
    Request {
        update_sheet_properties: Some(UpdateSheetPropertiesRequest {
            properties: Some(SheetProperties {
                sheet_id: Some(info.sheet_id),
                grid_properties: Some(GridProperties {
                    row_count: Some(rows.max(info.row_count as usize) as i32),
                    column_count: Some(columns.max(info.column_count as usize) as i32),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            fields: Some(google_sheets4::common::FieldMask::new(&[
                "gridProperties.rowCount",
                "gridProperties.columnCount",
            ])),
        }),
        ..Default::default()
    }
}

/// Rows put back below each tab's last row with data, and the receipts that asked for it cleared, in one
/// request (so the same receipts are never acted on twice).
pub fn put_back(restore: &[Vec<Row>; 3], tabs: &[SheetInfo], receipts_id: i32) -> Vec<Request> {
    let mut requests = Vec::new();
    for (t, rows) in restore.iter().enumerate().filter(|(_, rows)| !rows.is_empty()) {
        let Some(info) = tabs.iter().find(|s| s.title == TABS[t].title) else { continue };
        tracing::warn!(
            tab = TABS[t].title,
            rows = rows.len(),
            "Rows moved under Atlas's write; putting back what it hit."
        );
        requests.push(append(info.sheet_id, rows));
    }
    requests.push(receipts::clear(receipts_id));
    requests
}

/// Sends one batch (`None`: nothing to send): `prefix`, then the receipts' copies, then the units'
/// requests; judges the receipts.
async fn send(
    client: &SheetsClient,
    layout: &Layout,
    prefix: Vec<Request>,
    batch: Vec<Unit>,
    receipts_id: Option<i32>,
) -> Result<Option<Findings>, SheetsError> {
    let receipts: Vec<(Receipt, i32, usize)> = batch.iter().filter_map(|u| u.receipt.clone()).collect();
    let mut requests = prefix;
    if let (Some(id), false) = (receipts_id, receipts.is_empty()) {
        requests.extend(receipts::copies(id, &receipts));
    }
    requests.extend(batch.into_iter().flat_map(|u| u.requests));
    if requests.is_empty() {
        return Ok(None);
    }
    let widest = receipts.iter().map(|(_, _, w)| *w).max().unwrap_or(1);
    let reply = (!receipts.is_empty()).then(|| receipts::reply_range(receipts.len(), widest));
    let found = client.update_with_reply(requests, reply).await?;
    Ok(Some(receipts::judge(layout, &super::contract::TITLES, &receipts::parse(&found))))
}

fn add_sheet(sheet_id: i32, title: &str, rows: usize, columns: usize, hidden: bool) -> Request {
    let properties = SheetProperties {
        sheet_id: Some(sheet_id),
        title: Some(title.to_owned()),
        hidden: Some(hidden),
        grid_properties: Some(GridProperties {
            row_count: Some(rows as i32),
            column_count: Some(columns as i32),
            ..Default::default()
        }),
        ..Default::default()
    };
    Request { add_sheet: Some(AddSheetRequest { properties: Some(properties) }), ..Default::default() }
}

/// A row's cells up to the first column Atlas may not write (a new row is appended whole, so it stops there;
/// the next cycle's cell writes fill the rest around the blocked column).
fn before_blocked(row: &[String], blocked: &HashSet<usize>) -> Row {
    let end = blocked.iter().copied().min().unwrap_or(row.len()).min(row.len());
    row[..end].to_vec()
}
