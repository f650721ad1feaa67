//! One export (database -> sheet) within the request budget: one spreadsheets.get that reads the tabs'
//! cells, sizes and protections together (plus a structure-only get while the tabs are unknown, or when a
//! tab was renamed or deleted since the last read), one spreadsheets.batchUpdate (missing tabs, row
//! deletions, grid growth, reviewer columns' protections) and one values.batchUpdate (split only past the
//! 2 MB request size). A cycle with nothing to change writes nothing.

use super::client::{SheetInfo, SheetsClient, SheetsError};
use super::contract::{Layout, FIRST_REVIEWER_COLUMN, TABS};
use super::grid::Protection;
use super::import::PARTIAL_MARK;
use super::plan::{plan_tab, Row, TabPlan};
use super::sanitize::{cell, show, MAX_CELL_CHARS};
use crate::domain::format_timestamp;
use crate::store::queries::mirror::{self, render_notes};
use crate::store::ReaderPool;
use google_sheets4::api::{
    AddSheetRequest, AppendDimensionRequest, DeleteDimensionRequest, DimensionRange, GridProperties, Request,
    SheetProperties,
};
use std::collections::HashSet;

/// Largest values.batchUpdate body, leaving room under Google's recommended 2 MB.
const MAX_REQUEST_BYTES: usize = 1_800_000;
/// Rows added beyond what is needed when a grid grows, so the next few exports need not grow it again.
const GRID_SLACK: usize = 200;

/// How much of the database the mirror shows.
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorScope {
    /// Decided approvals stay visible this long.
    pub decided_approvals_for: chrono::Duration,
    /// The newest runs shown.
    pub runs_shown: u32,
    /// Resolved errors stay visible this long.
    pub resolved_errors_for: chrono::Duration,
}

impl Default for MirrorScope {
    fn default() -> Self {
        Self {
            decided_approvals_for: chrono::Duration::days(7),
            runs_shown: 100,
            resolved_errors_for: chrono::Duration::days(30),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub rows_deleted: usize,
    pub cells_written: usize,
    pub tabs_created: usize,
}

fn text(value: Option<&str>) -> String {
    value.map(cell).unwrap_or_default()
}

/// The Payload cell: the payload sanitized, marked when it is not shown whole.
fn payload_cell(payload: &str) -> String {
    let shown = show(payload);
    if !shown.partial() {
        return shown.text;
    }
    // Room for the mark within the cell limit, keeping the truncation marker Atlas appended (if it cut the
    // text, the marker is the cell's end; a payload merely quoting such a marker has none to keep).
    let room = MAX_CELL_CHARS - PARTIAL_MARK.chars().count();
    let length = shown.text.chars().count();
    if length <= room {
        return format!("{PARTIAL_MARK}{}", shown.text);
    }
    let tail = match shown.text.rfind(" […truncated, ") {
        Some(at) if shown.truncated && shown.text.ends_with(" characters in Atlas]") => &shown.text[at..],
        _ => "",
    };
    let keep = room.saturating_sub(tail.chars().count());
    let head: String = shown.text.chars().take(keep).collect();
    format!("{PARTIAL_MARK}{head}{tail}")
}

/// The rows each tab should hold, sanitized, as wide as `layout` lays each tab out.
pub async fn desired_rows(
    readers: &ReaderPool,
    layout: &Layout,
    scope: &MirrorScope,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<[Vec<Row>; 3], String> {
    let scope = scope.clone();
    let reviewers: Vec<String> = layout.reviewers().iter().map(|r| r.token.clone()).collect();
    readers
        .read(move |conn| {
            let approvals = mirror::approvals(conn, &format_timestamp(now - scope.decided_approvals_for))?
                .into_iter()
                .map(|a| {
                    // With reviewer columns, Status is Atlas's alone: a quorum's progress shows there.
                    let status = match (a.status.as_str(), a.required_reviews > 1 && !reviewers.is_empty()) {
                        ("pending", true) => format!("pending ({} of {})", a.approved_by.len(), a.required_reviews),
                        (status, _) => status.to_owned(),
                    };
                    let mut row = vec![
                        a.id.to_string(),
                        a.item_type.to_string(),
                        a.action.to_string(),
                        cell(&a.summary),
                        status,
                        a.requested_at.clone(),
                        cell(&render_notes(&a.notes)),
                        payload_cell(&a.payload.to_string()),
                    ];
                    // A reviewer's column shows their own decision, once made: an approval counted toward a
                    // quorum shows while the others are awaited.
                    let decided_by = a.reviewed_by.as_deref();
                    row.extend(reviewers.iter().map(|name| {
                        let approved = a.approved_by.iter().any(|who| who == name);
                        match (approved, decided_by == Some(name.as_str()), a.status.as_str()) {
                            (true, _, _) => "approved".to_owned(),
                            (false, true, status @ ("approved" | "rejected")) => status.to_owned(),
                            _ => String::new(),
                        }
                    }));
                    row
                })
                .collect();
            let runs = mirror::runs(conn, scope.runs_shown)?
                .into_iter()
                .map(|(r, title)| {
                    vec![
                        r.id.to_string(),
                        cell(title.as_deref().unwrap_or(r.task_id.as_str())),
                        cell(&r.command.join(" ")),
                        r.status.to_string(),
                        r.started_at.clone().unwrap_or_default(),
                        r.completed_at.clone().unwrap_or_default(),
                        text(r.output.as_deref().or(r.error_log.as_deref())),
                        cell(&render_notes(&r.notes)),
                    ]
                })
                .collect();
            let errors = mirror::errors(conn, &format_timestamp(now - scope.resolved_errors_for))?
                .into_iter()
                .map(|(e, title)| {
                    vec![
                        e.id.to_string(),
                        cell(title.as_deref().or(e.task_id.as_ref().map(|t| t.as_str())).unwrap_or("")),
                        cell(&e.error),
                        e.occurred_at.clone(),
                        e.severity.to_string(),
                        e.resolved.to_string(),
                        text(e.resolution.as_deref()),
                        cell(&render_notes(&e.notes)),
                    ]
                })
                .collect();
            Ok([approvals, runs, errors])
        })
        .await
        .map_err(|err| err.to_string())
}

/// The three tabs as read in one grid read (`None`: the tab does not exist), the spreadsheet's tabs as
/// that read saw them, and the protections on Pending_Approvals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub tabs: [Option<Vec<Vec<String>>>; 3],
    pub structure: Vec<SheetInfo>,
    pub protections: Vec<Protection>,
}

/// Reads the tabs that exist in one spreadsheets.get (cells, sizes, protections). `structure` caches which
/// tabs exist between cycles; a structure-only read comes first while it is unknown, and again when a
/// cached tab turns out renamed or deleted, so such a tab is found and repaired within this cycle.
pub async fn read_snapshot(
    client: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
) -> Result<Snapshot, SheetsError> {
    for attempt in 0..2 {
        if structure.is_none() {
            *structure = Some(client.sheets().await?);
        }
        let known = structure.clone().unwrap_or_default();
        let present: Vec<usize> = (0..3).filter(|&i| known.iter().any(|s| s.title == TABS[i].title)).collect();
        // One row more than allowed: enough to know a tab has too many, never the whole of a huge one.
        let ranges: Vec<String> = present.iter().map(|&i| TABS[i].first_rows(client.max_rows() + 1)).collect();
        let grids = if ranges.is_empty() { Ok(Vec::new()) } else { client.read_grid(&ranges).await };
        let grids = match grids {
            Err(err) if err.is_missing_range() && attempt == 0 => {
                *structure = None; // a tab went away since the structure was read: look again
                continue;
            }
            other => other?,
        };
        let mut snapshot = Snapshot::default();
        if let Some(big) = grids.iter().find(|g| g.info.row_count.max(0) as usize > client.max_rows()) {
            *structure = None;
            return Err(SheetsError::Oversized {
                tab: big.info.title.clone(),
                rows: big.info.row_count.max(0) as usize,
                max: client.max_rows(),
            });
        }
        for grid in grids {
            if let Some(i) = TABS.iter().position(|tab| tab.title == grid.info.title) {
                if i == 0 {
                    snapshot.protections = grid.protections.clone();
                }
                snapshot.tabs[i] = Some(grid.rows);
                snapshot.structure.push(grid.info);
            }
        }
        if ranges.is_empty() {
            snapshot.structure = known;
        }
        *structure = Some(snapshot.structure.clone());
        return Ok(snapshot);
    }
    unreachable!("the loop returns on its second pass")
}

/// Exports the three tabs: read, plan, write. Editable cells are left alone (no import ran).
pub async fn export(
    client: &SheetsClient,
    structure: &mut Option<Vec<SheetInfo>>,
    layout: &Layout,
    desired: &[Vec<Row>; 3],
) -> Result<ExportReport, SheetsError> {
    let snapshot = read_snapshot(client, structure).await?;
    write(client, structure, layout, &snapshot, desired, &WriteRules::default()).await
}

/// What a write must do besides bringing the sheet to the database's rows.
#[derive(Clone, Debug, Default)]
pub struct WriteRules {
    /// Editable cells (per tab: sheet row, column) to write from the database anyway (the import
    /// accepted or refused them, or the database moved on).
    pub rewrite: [HashSet<(usize, usize)>; 3],
    /// Sheet rows (per tab) not to remove although the database no longer shows them.
    pub keep_rows: [HashSet<usize>; 3],
    /// Structure requests that (re)create protections, sent with the cycle's structure request.
    pub protect: Vec<Request>,
    /// Columns (per tab) Atlas may not write (a protection that no longer lists it): left out of every
    /// write, so the rest of the sheet is still kept up to date.
    pub blocked_columns: [HashSet<usize>; 3],
}

/// Splits writes around columns that may not be written.
fn without(writes: Vec<super::plan::CellWrite>, blocked: &HashSet<usize>) -> Vec<super::plan::CellWrite> {
    if blocked.is_empty() {
        return writes;
    }
    let mut out: Vec<super::plan::CellWrite> = Vec::new();
    for write in writes {
        let mut current: Option<super::plan::CellWrite> = None;
        for (i, value) in write.values.into_iter().enumerate() {
            let column = write.column + i;
            if blocked.contains(&column) {
                out.extend(current.take());
                continue;
            }
            match current.as_mut() {
                Some(run) => run.values.push(value),
                None => current = Some(super::plan::CellWrite { row: write.row, column, values: vec![value] }),
            }
        }
        out.extend(current);
    }
    out
}

/// Writes what `desired` needs over `snapshot`: one structure request, then the values, as `rules` say.
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
    let mut structure_requests = Vec::new();
    let mut writes = Vec::new();
    for (t, tab) in TABS.iter().enumerate() {
        let sheet = snapshot.tabs[t].clone().unwrap_or_default();
        let plan: TabPlan = plan_tab(layout, t, &sheet, &desired[t], &rules.rewrite[t], &rules.keep_rows[t]);
        // The mirror itself never outgrows `sheets.max_rows` (a tab larger than that is refused at the next
        // read): the grid grows with slack only up to the limit, and data that does not fit is refused.
        let max = client.max_rows();
        if plan.rows_needed > max {
            return Err(SheetsError::Oversized { tab: tab.title.to_owned(), rows: plan.rows_needed, max });
        }
        let grid_rows = |needed: usize| (needed + GRID_SLACK).min(max).max(needed);
        match known.iter().find(|s| s.title == tab.title) {
            None => {
                report.tabs_created += 1;
                let grid = GridProperties {
                    row_count: Some(grid_rows(plan.rows_needed) as i32),
                    column_count: Some(layout.width(t).max(FIRST_REVIEWER_COLUMN) as i32),
                    ..Default::default()
                };
                // Atlas picks the new tab's id so the guard rails can go into the same request.
                let sheet_id = rand::random_range(1_000_000..i32::MAX);
                let properties = SheetProperties {
                    sheet_id: Some(sheet_id),
                    title: Some(tab.title.to_owned()),
                    grid_properties: Some(grid),
                    ..Default::default()
                };
                structure_requests.push(Request {
                    add_sheet: Some(AddSheetRequest { properties: Some(properties) }),
                    ..Default::default()
                });
                structure_requests.extend(super::structure::guard_rails(layout, t, sheet_id, client.account()));
            }
            Some(info) => {
                if plan.insert_header {
                    let above = DimensionRange {
                        sheet_id: Some(info.sheet_id),
                        dimension: Some("ROWS".into()),
                        start_index: Some(0),
                        end_index: Some(1),
                    };
                    structure_requests.push(Request {
                        insert_dimension: Some(google_sheets4::api::InsertDimensionRequest {
                            range: Some(above),
                            inherit_from_before: Some(false),
                        }),
                        ..Default::default()
                    });
                }
                for &row in &plan.delete_rows {
                    let range = DimensionRange {
                        sheet_id: Some(info.sheet_id),
                        dimension: Some("ROWS".into()),
                        start_index: Some(row as i32),
                        end_index: Some(row as i32 + 1),
                    };
                    structure_requests.push(Request {
                        delete_dimension: Some(DeleteDimensionRequest { range: Some(range) }),
                        ..Default::default()
                    });
                }
                if (info.column_count as usize) < layout.width(t) {
                    let widen = AppendDimensionRequest {
                        sheet_id: Some(info.sheet_id),
                        dimension: Some("COLUMNS".into()),
                        length: Some((layout.width(t) - info.column_count as usize) as i32),
                    };
                    structure_requests.push(Request { append_dimension: Some(widen), ..Default::default() });
                }
                let rows_after = info.row_count as usize + usize::from(plan.insert_header) - plan.delete_rows.len();
                if plan.rows_needed > rows_after {
                    let grow = AppendDimensionRequest {
                        sheet_id: Some(info.sheet_id),
                        dimension: Some("ROWS".into()),
                        length: Some((grid_rows(plan.rows_needed) - rows_after) as i32),
                    };
                    structure_requests.push(Request { append_dimension: Some(grow), ..Default::default() });
                }
            }
        }
        report.rows_deleted += plan.delete_rows.len();
        // A blocked column is skipped whole, its header too: a protection covers the whole column.
        for write in without(plan.writes, &rules.blocked_columns[t]) {
            report.cells_written += write.values.len();
            let range = tab.cells(write.row, write.column, write.column + write.values.len() - 1);
            writes.push((range, vec![write.values]));
        }
    }
    structure_requests.extend(rules.protect.iter().cloned());
    if !structure_requests.is_empty() {
        client.update_structure(structure_requests).await?;
        *structure = None; // sheet ids and grid sizes changed: look again next time
    }
    let mut batch: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut batch_bytes = 0;
    for (range, values) in writes {
        let size = range.len() + values.iter().flatten().map(|v| v.len() + 4).sum::<usize>() + 64;
        if batch_bytes + size > MAX_REQUEST_BYTES && !batch.is_empty() {
            client.write(std::mem::take(&mut batch)).await?;
            batch_bytes = 0;
        }
        batch_bytes += size;
        batch.push((range, values));
    }
    client.write(batch).await?;
    Ok(report)
}
