//! Loose reviewer columns. A reviewer column whose protection does not make its cells that reviewer's
//! (warning-only, an editor too many, a row inserted above a range that starts below the header) is
//! quarantined in Atlas's own state (`sheet_loose_columns`), never in a hotlist entry a person may
//! resolve: from the cycle that finds it loose, nothing in it counts. Atlas then repairs its protection
//! and clears its cells in one `spreadsheets.batchUpdate`, which Google applies whole or not at all, so
//! nothing typed while the column was loose survives the repair and nothing can be typed between the two.
//! Only then does the column count again. A decision typed there meanwhile (the reviewer's own included)
//! is refused with a note on the request and must be made again.

use super::contract::TABS;
use super::cycle::{CycleError, Mirror, Protections};
use crate::domain::Command;
use crate::domain::SheetCommand;
use crate::store::queries::sheet_cells;

impl Mirror<'_> {
    /// Records the columns loose now, and makes every column loose before and not cleared since decide
    /// nothing too, whatever its protection and the hotlist say now.
    pub(super) async fn quarantine(&self, protections: &mut Protections) -> Result<(), CycleError> {
        let known =
            self.readers.read(sheet_cells::loose_columns).await.map_err(|e| CycleError::Store(e.to_string()))?;
        for decider in self.layout.deciders() {
            let recorded = known.iter().find(|loose| loose.reviewer == decider.token);
            match (protections.drifted.get(&decider.column), recorded) {
                (Some(why), None) => {
                    let loose = Command::Sheet(SheetCommand::ColumnLoose {
                        reviewer: decider.token.clone(),
                        reason: why.clone(),
                    });
                    self.submit(loose, "sheets").await?.map_err(|e| CycleError::Store(e.to_string()))?;
                }
                (Some(_), Some(_)) => {}
                (None, Some(loose)) => {
                    protections.drifted.insert(
                        decider.column,
                        format!(
                            "it was open to other editors (found {}: {}); nothing typed there counts until Atlas \
                             has protected and cleared it, decide again",
                            loose.since, loose.reason
                        ),
                    );
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// For each quarantined column: one request that repairs its protection (when loose now) and clears
    /// its cells. Once Google has applied it the quarantine ends; a refused request (Atlas no longer an
    /// editor) leaves the column quarantined. The column's hotlist entry stays for a person to read:
    /// someone loosened a reviewer's column, which resolving it acknowledges and nothing more.
    pub(super) async fn clear_loose(&self, protections: &Protections) -> Result<(), CycleError> {
        let Some(sheet_id) = protections.sheet_id else { return Ok(()) };
        let mut columns: Vec<usize> = protections.drifted.keys().copied().collect();
        columns.sort_unstable();
        for column in columns {
            let Some(decider) = self.layout.deciders().into_iter().find(|d| d.column == column) else { continue };
            let mut requests = protections.repair.get(&column).cloned().unwrap_or_default();
            requests.push(super::structure::clear_column(sheet_id, column));
            match self.client.update_structure(requests).await {
                Ok(()) => {}
                Err(err) if err.quota().is_some() => return Err(CycleError::Sheets(err)),
                Err(err) => {
                    tracing::warn!(error = %err, reviewer = %decider.token,
                        "Could not protect and clear a loose reviewer column; it decides nothing until then.");
                    continue;
                }
            }
            let cleared = Command::Sheet(SheetCommand::ColumnCleared {
                reviewer: decider.token.clone(),
                tab: TABS[0].title.to_owned(),
                column: column as u8,
            });
            self.submit(cleared, "sheets").await?.map_err(|e| CycleError::Store(e.to_string()))?;
        }
        Ok(())
    }
}
