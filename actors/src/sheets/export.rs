//! One export (database -> sheet) within the request budget: one spreadsheets.get that reads the tabs'
//! cells, sizes and protections together (plus a structure-only get while the tabs are unknown, or when a
//! tab was renamed or deleted since the last read), then one spreadsheets.batchUpdate that writes it all
//! (`write.rs`; split only past the 2 MB request size). A cycle with nothing to change writes nothing.

use super::client::{SheetInfo, SheetsClient, SheetsError};
use super::contract::{Layout, TABS};
use super::grid::Protection;
use super::import::PARTIAL_MARK;
use super::plan::Row;
use super::receipts::RECEIPTS_TAB;
use super::sanitize::{cell, show, MAX_CELL_CHARS};
use crate::domain::format_timestamp;
use crate::store::queries::mirror::{self, render_notes};
use crate::store::ReaderPool;
use google_sheets4::api::Request;
use std::collections::HashSet;

pub use super::write::write;

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

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportReport {
    pub rows_deleted: usize,
    pub cells_written: usize,
    pub tabs_created: usize,
    /// Rows a write hit by mistake (rows moved under it), put back below the tab's last row.
    pub rows_restored: usize,
    /// What the write's receipts showed, for the cycle to settle (`settle.rs`).
    pub findings: super::receipts::Findings,
    /// The receipts tab the write used (made anew by it, perhaps).
    pub receipts_id: Option<i32>,
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
    /// The receipts tab's rows (receipts not yet acted on, if any) and protections, when it exists.
    pub receipts: Option<(Vec<Vec<String>>, Vec<Protection>)>,
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
            *structure = Some(rename_back(client, client.sheets().await?).await?);
        }
        let known = structure.clone().unwrap_or_default();
        let present: Vec<usize> = (0..3).filter(|&i| known.iter().any(|s| s.title == TABS[i].title)).collect();
        // One row more than allowed: enough to know a tab has too many, never the whole of a huge one.
        let mut ranges: Vec<String> = present.iter().map(|&i| TABS[i].first_rows(client.max_rows() + 1)).collect();
        if !ranges.is_empty() && known.iter().any(|s| s.title == RECEIPTS_TAB) {
            ranges.push(super::receipts::whole_range()); // receipts a lost reply left unjudged, and its size
        }
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
            } else if grid.info.title == RECEIPTS_TAB {
                snapshot.receipts = Some((grid.rows, grid.protections));
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

/// Renames an Atlas tab a person renamed back to its name (found by its guard rail), unless a tab of that
/// name exists again: what was typed in it is imported, never left in a tab Atlas no longer reads.
async fn rename_back(client: &SheetsClient, mut tabs: Vec<SheetInfo>) -> Result<Vec<SheetInfo>, SheetsError> {
    let mut requests = Vec::new();
    for tab in TABS {
        if tabs.iter().any(|s| s.title == tab.title) {
            continue;
        }
        let Some(renamed) = tabs.iter_mut().find(|s| s.guarded_as.as_deref() == Some(tab.title)) else { continue };
        tracing::warn!(tab = tab.title, renamed_to = %renamed.title, "An Atlas tab was renamed; renaming it back.");
        requests.push(Request {
            update_sheet_properties: Some(google_sheets4::api::UpdateSheetPropertiesRequest {
                properties: Some(google_sheets4::api::SheetProperties {
                    sheet_id: Some(renamed.sheet_id),
                    title: Some(tab.title.to_owned()),
                    ..Default::default()
                }),
                fields: Some(google_sheets4::common::FieldMask::new(&["title"])),
            }),
            ..Default::default()
        });
        renamed.title = tab.title.to_owned();
    }
    client.update_structure(requests).await?;
    Ok(tabs)
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
    /// The receipts tab is not Atlas's alone: it is made anew before it holds receipts again.
    pub receipts_unguarded: bool,
    /// The database's time of the write, kept in its receipts.
    pub receipt_time: String,
}
