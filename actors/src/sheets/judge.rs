//! Judging one record's rows in one tab: which row speaks for the record, whether it shows what Atlas
//! last exported, and what each edited cell becomes (a command, a refusal, or an edit that waits).

use super::contract::{column_letter, ApprovalMode, Layout, STATUS, TABS};
use super::import::{
    decides, is_enum, note_addition, note_target, same, Accepted, ImportPlan, ImportRules, Refused, Rows, PARTIAL_MARK,
    SEEN,
};
use super::plan::Row;
use crate::domain::command::{Decision, SheetCell};
use crate::domain::{ApprovalId, Command, ErrorId};

/// The columns of `row` holding something other than what Atlas last exported (the baseline, or the
/// database's value where Atlas never recorded one): a human's doing, or a write that landed elsewhere.
fn foreign_cells(rules: &ImportRules, t: usize, row: &[String], db: &Row) -> Vec<usize> {
    let title = TABS[t].title;
    (0..row.len())
        .filter(|&c| !rules.layout.is_editable(t, c))
        .filter(|&c| {
            let base = rules.baseline.get(&(title.to_owned(), db[0].clone(), c as u8));
            row[c] != *base.unwrap_or(&db[c])
        })
        .collect()
}

/// The decision cells of a row, normalized, for comparing copies.
fn decisions(layout: &Layout, t: usize, row: &[String]) -> Vec<String> {
    (0..row.len()).filter(|&c| decides(layout, t, c)).map(|c| row[c].trim().to_lowercase()).collect()
}

/// Imports the rows (one or more) that carry `db`'s ID. The row kept is the first whose Atlas-owned cells
/// match the database (the export keeps the same one), else the first; the others are removed.
pub(super) fn import_rows(plan: &mut ImportPlan, t: usize, rows: &Rows, db: &Row, rules: &ImportRules) {
    let layout = rules.layout;
    let keep = rows
        .iter()
        .position(|(_, row)| (0..row.len()).all(|c| layout.is_editable(t, c) || row[c] == db[c]))
        .unwrap_or(0);
    let disagree = rows.iter().any(|(_, row)| decisions(layout, t, row) != decisions(layout, t, &rows[keep].1));
    for (i, (r, row)) in rows.iter().enumerate() {
        if i == keep {
            continue;
        }
        let typed: Vec<String> = layout
            .editable(t)
            .into_iter()
            .filter(|&c| !same(is_enum(layout, t, c), &row[c], &db[c]) && !row[c].trim().is_empty())
            .map(|c| format!("{} {:?}", layout.header(t, c), row[c]))
            .collect();
        let held = if typed.is_empty() { String::new() } else { format!(" (it held {})", typed.join(", ")) };
        let reason = format!("duplicate of row {} (ID {}); the copy is removed{held}", rows[keep].0 + 1, db[0]);
        let on_record = !typed.is_empty(); // what was typed in the copy stays with the record
        plan.refused.push(Refused {
            tab: t,
            row: *r,
            row_id: db[0].clone(),
            column: None,
            reason,
            cell: None,
            on_record,
        });
    }
    let (r, row) = &rows[keep];
    let foreign = foreign_cells(rules, t, row, db);
    let binding = if !foreign.is_empty() {
        let columns: Vec<String> = foreign.iter().map(|&c| layout.header(t, c)).collect();
        Some(format!(
            "this row does not show what Atlas exported for {} ({} changed), so its decision was not counted",
            db[0],
            columns.join(", ")
        ))
    } else if disagree {
        Some(format!("rows sharing ID {} hold different decisions, so none was counted", db[0]))
    } else {
        None
    };
    let judge = Judge { plan, rules, t, r: *r, row, db, binding };
    judge.row();
}

struct Judge<'a> {
    plan: &'a mut ImportPlan,
    rules: &'a ImportRules<'a>,
    t: usize,
    r: usize,
    row: &'a [String],
    db: &'a Row,
    /// Why decisions in this row do not count, if they do not.
    binding: Option<String>,
}

impl Judge<'_> {
    fn cell(&self, column: usize) -> SheetCell {
        SheetCell {
            tab: TABS[self.t].title.to_owned(),
            row_id: self.db[0].clone(),
            column: column as u8,
            value: self.row[column].clone(),
        }
    }

    fn refuse(&mut self, column: usize, reason: String) {
        self.plan.rewrite[self.t].insert((self.r, column));
        // The refused value is kept apart (`SEEN`), never as the cell's baseline: a cycle retried before the
        // export restored the cell refuses it once, however often it runs; once restored (`baseline.rs`
        // clears it) a person typing it again, as the refusal note asks, makes a new edit. (As a baseline it
        // was taken for Atlas's own value and erased without a word; an Atlas cell's would let a changed row
        // pass for the export.)
        let mut cell = self.cell(column);
        cell.column = (column + SEEN) as u8;
        let cell = Some(cell);
        self.plan.refused.push(Refused {
            tab: self.t,
            row: self.r,
            row_id: self.db[0].clone(),
            column: Some(column),
            reason,
            cell,
            on_record: true,
        });
    }

    fn accept(&mut self, column: usize, command: Command, actor: &str) {
        self.plan.rewrite[self.t].insert((self.r, column));
        let cell = self.cell(column);
        self.plan.accepted.push(Accepted {
            tab: self.t,
            row: self.r,
            row_id: self.db[0].clone(),
            column,
            command,
            actor: actor.to_owned(),
            cell,
        });
    }

    /// A human's value Atlas saw in `column` and did not take (see `SEEN`).
    fn seen(&self, column: usize) -> Option<&String> {
        self.rules.baseline.get(&(TABS[self.t].title.to_owned(), self.db[0].clone(), (column + SEEN) as u8))
    }

    fn base(&self, column: usize) -> Option<&String> {
        self.rules.baseline.get(&(TABS[self.t].title.to_owned(), self.db[0].clone(), column as u8))
    }

    fn row(mut self) {
        let (t, layout) = (self.t, self.rules.layout);
        // Rejections before approvals: two reviewers disagreeing in one cycle reject, whatever the column order.
        let mut columns: Vec<usize> = (1..self.row.len()).collect();
        columns.sort_by_key(|&c| !(decides(layout, t, c) && self.row[c].trim().to_lowercase().starts_with("reject")));
        for column in columns {
            let (have, want) = (self.row[column].clone(), self.db[column].clone());
            if same(is_enum(layout, t, column), &have, &want) {
                continue;
            }
            let header = layout.header(t, column);
            let base = self.base(column).cloned();
            if base.as_deref() == Some(have.as_str()) {
                // No human touched it since Atlas last wrote it: the database moved on; show the new value.
                if layout.is_editable(t, column) {
                    self.plan.rewrite[t].insert((self.r, column));
                    self.plan.db_moved[t].insert((self.r, column));
                }
                continue;
            }
            if !layout.is_editable(t, column) {
                if self.seen(column).is_none_or(|seen| *seen != have) {
                    self.refuse(column, format!("{header} is maintained by Atlas and cannot be edited"));
                }
                continue; // refused once already (a retried cycle); restored by the export
            }
            if t == 2 && column == 6 && self.db[5] != "true" && !self.row[5].trim().eq_ignore_ascii_case("true") {
                // A Resolution waits in the sheet until Resolved is set; it is read together with it.
                self.plan.waiting[t].insert((self.r, column));
                continue;
            }
            if self.seen(column) == Some(&have) {
                // Refused already and still shown (a cycle retried before the export restored it).
                self.plan.rewrite[t].insert((self.r, column));
                continue;
            }
            if have.trim_start().starts_with('=') {
                self.refuse(column, format!("formulas are not accepted in {header}"));
                continue;
            }
            if decides(layout, t, column) {
                if let Some(why) = self.unbound(column) {
                    self.refuse(column, why);
                    continue;
                }
            }
            let want = if header == "Notes" { base.unwrap_or(want) } else { want };
            self.edit(column, &header, &have, &want);
        }
    }

    /// Why a decision in `column` of this row cannot count, if it cannot.
    fn unbound(&self, column: usize) -> Option<String> {
        if let Some(why) = &self.binding {
            return Some(why.clone());
        }
        if self.t != 0 {
            return None;
        }
        if let Some(why) = self.rules.drifted.get(&column) {
            let name = self.rules.layout.header(0, column);
            return Some(format!(
                "column {} ({name}) is not protected as it must be ({why}); decisions there are not counted until it is repaired",
                column_letter(column)
            ));
        }
        if self.db[7].starts_with(PARTIAL_MARK) && !self.rules.allow_partial_payload {
            return Some(
                "the payload is not shown whole in the sheet (secrets redacted or text cut); decide over HTTP".into(),
            );
        }
        None
    }

    fn edit(&mut self, column: usize, header: &str, have: &str, want: &str) {
        let (t, id) = (self.t, self.db[0].clone());
        if header == "Notes" {
            match note_addition(want, have) {
                None => {}
                Some((_, true)) if have.trim().is_empty() => self.refuse(column, "notes cannot be deleted".into()),
                Some((body, replaced)) => {
                    if replaced {
                        self.plan.refused.push(Refused {
                            tab: t,
                            row: self.r,
                            row_id: id.clone(),
                            column: Some(column),
                            reason: "earlier notes cannot be changed; the text was kept as a new note".into(),
                            cell: None,
                            on_record: true,
                        });
                    }
                    if let Some(target) = note_target(t, &id) {
                        self.accept(column, Command::AddNote { target, body }, "sheets");
                    }
                }
            }
            return;
        }
        if t == 0 {
            return self.decide(column, have);
        }
        match (t, column) {
            (2, 5) => match (self.db[5].as_str(), have.trim().to_lowercase().as_str()) {
                // Resolving needs the role it needs over HTTP: only the shared mode's named token has one
                // (its role is checked like a decision's); in reviewer mode the sheet cannot tell who set it.
                ("false", "true") if !matches!(self.rules.layout.mode, ApprovalMode::Shared { .. }) => self.refuse(
                    column,
                    "resolving needs a person's role, which the sheet cannot tell in reviewer mode: resolve it in \
                     the console or over the API"
                        .into(),
                ),
                ("false", "true") => {
                    let resolution = self.row[6].trim().to_owned();
                    let ApprovalMode::Shared { reviewer } = &self.rules.layout.mode else { return };
                    let reviewer = reviewer.clone();
                    match ErrorId::parse(&id) {
                        Ok(error) if !resolution.is_empty() && !resolution.starts_with('=') => {
                            self.plan.rewrite[t].insert((self.r, 6));
                            let command = Command::ResolveError { id: error, resolution, notes: None };
                            self.accept(column, command, &reviewer);
                        }
                        _ => self.refuse(column, "write a Resolution before setting Resolved to true".into()),
                    }
                }
                ("true", _) => self.refuse(column, "a resolved error cannot be reopened; record a new one".into()),
                _ => self
                    .refuse(column, format!("Resolved must be true or false, got {}", crate::domain::text::clip(have))),
            },
            (2, 6) => {
                if self.db[5] == "true" {
                    self.refuse(column, "the resolution of a resolved error cannot be changed; add a note".into());
                }
            }
            _ => self.refuse(column, format!("{header} cannot be edited")),
        }
    }

    /// A decision typed in a decision column (a reviewer's own, or the shared Status).
    fn decide(&mut self, column: usize, have: &str) {
        let Some(decider) = self.rules.layout.decider(column) else {
            return self.refuse(column, format!("{} cannot be edited", self.rules.layout.header(0, column)));
        };
        let decision = match have.trim().to_lowercase().as_str() {
            "approved" | "approve" => Some(Decision::Approve),
            "rejected" | "reject" => Some(Decision::Reject),
            _ => None,
        };
        // The mirrored status, without a quorum's progress ("pending (1 of 2)").
        let status = self.db[STATUS].split(" (").next().unwrap_or_default().to_owned();
        match (status.as_str(), decision, ApprovalId::parse(&self.db[0])) {
            ("pending", Some(decision), Ok(id)) => {
                let via = match &decider.email {
                    Some(email) => format!("sheet column {} ({email})", column_letter(column)),
                    None => "sheet Status column (shared reviewer, not attributable to a person)".to_owned(),
                };
                let command = Command::ReviewApproval {
                    id,
                    decision,
                    notes: None,
                    allow_self_approval: self.rules.allow_self_approval,
                    via: Some(via),
                };
                self.accept(column, command, &decider.token);
            }
            ("pending", _, _) => self.refuse(
                column,
                format!("a decision must be approved or rejected, got {}", crate::domain::text::clip(have)),
            ),
            (decided, _, _) => {
                self.refuse(column, format!("the approval is already {decided}; a decision cannot be changed"))
            }
        }
    }
}
