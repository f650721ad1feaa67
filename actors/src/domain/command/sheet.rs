//! The Sheets mirror's writes: the human edits it imports (each with the baseline of its cell, so a
//! retried cycle imports it once), the edits it refuses, its baseline and its reviewer columns' state.

use super::{Command, NoteTarget, SheetCell, SyncOutcome};
use crate::domain::error::CommandError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SheetCommand {
    /// A human's sheet edit that was refused: a hotlist entry and an audit event, and a note on the row's
    /// record when it has one. The sheet cell is restored by the next export.
    #[serde(rename = "reject_sheet_edit")]
    RejectEdit {
        tab: String,
        row_id: String,
        column: Option<String>,
        reason: String,
        note_on: Option<NoteTarget>,
        /// The refused cell as the human left it, stored as the baseline in the same transaction: a
        /// cycle retried before the cell was restored refuses it once, not twice.
        #[serde(default)]
        cell: Option<SheetCell>,
    },
    /// A human's sheet edit (a review, a note, a resolution) applied together with the baseline of the
    /// cell it came from, so importing is idempotent: a cycle retried after a failed write sees the cell
    /// as already imported.
    #[serde(rename = "from_sheet")]
    Import { cell: SheetCell, edit: Box<Command> },
    /// The sheet's editable cells as Atlas last saw or wrote them (the baseline that tells a human's edit
    /// from a stale cell). `removed` drops rows that left the sheet.
    #[serde(rename = "record_sheet_cells")]
    RecordCells { cells: Vec<SheetCell>, removed: Vec<(String, String)> },
    /// A reviewer column of the sheet was found loose (its protection did not make its cells that
    /// reviewer's): nothing typed in it counts until Atlas has repaired its protection and cleared its
    /// cells in one request. Kept in Atlas's state, not in a hotlist entry anyone may resolve.
    #[serde(rename = "sheet_column_loose")]
    ColumnLoose { reviewer: String, reason: String },
    /// Atlas repaired a loose reviewer column's protection and cleared its cells in one request: what is
    /// typed there from now on is the reviewer's. The column's baseline becomes empty, as its cells are.
    #[serde(rename = "sheet_column_cleared")]
    ColumnCleared { reviewer: String, tab: String, column: u8 },
    /// A Sheets sync direction finished (or failed).
    #[serde(rename = "record_sync")]
    Synced(SyncOutcome),
}

impl SheetCommand {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::RejectEdit { .. } => "sheets.edit_rejected",
            Self::Import { edit, .. } => edit.event_type(),
            Self::Synced(_) => "sheets.synced",
            Self::RecordCells { .. } => "sheets.baseline_recorded",
            Self::ColumnLoose { .. } => "sheets.column_loose",
            Self::ColumnCleared { .. } => "sheets.column_cleared",
        }
    }

    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Self::Import { edit, .. } => match edit.as_ref() {
                Command::ReviewApproval { .. } | Command::AddNote { .. } | Command::ResolveError { .. } => {
                    edit.validate()
                }
                other => {
                    Err(CommandError::invalid("edit", format!("{} cannot come from the sheet", other.event_type())))
                }
            },
            Self::RejectEdit { reason, .. } => super::validate::required_text("reason", reason),
            Self::Synced(outcome) => match outcome.direction.as_str() {
                "import" | "export" => Ok(()),
                other => Err(CommandError::invalid("direction", format!("must be import or export, got {other:?}"))),
            },
            Self::RecordCells { .. } | Self::ColumnLoose { .. } | Self::ColumnCleared { .. } => Ok(()),
        }
    }
}
