//! Guard rails and protections. A new tab gets dropdowns on its enum columns and warning-only protection
//! on the columns Atlas owns. In reviewer mode, Status (E) is strictly protected to Atlas's service
//! account and each reviewer's column to that reviewer and the service account: Google then refuses
//! anyone else's edit there, which is what makes a decision in the column that person's. Every cycle
//! checks those protections again; a column whose protection drifted is quarantined (`loose.rs`). Every
//! protection covers whole columns: a range that starts at a row moves down when a row is inserted above
//! it (its first rows then open to everyone); a whole column takes every inserted row in.

use super::contract::{ApprovalMode, Decider, Layout, APPROVALS, ERRORS, STATUS, TABS};
use super::grid::Protection;
use google_sheets4::api::{
    AddProtectedRangeRequest, BooleanCondition, ConditionValue, DataValidationRule, DeleteProtectedRangeRequest,
    Editors, GridRange, ProtectedRange, Request, SetDataValidationRequest,
};
use std::collections::HashMap;

/// Descriptions that mark Atlas's own strict protections (how it finds them again).
const REVIEWER_TAG: &str = "Atlas reviewer column: ";
const STATUS_TAG: &str = "Atlas outcome column: Status";
const ID_TAG: &str = "Atlas record column: ID";
/// Follows the tab's title in its warning-only guard rails: how a renamed Atlas tab is recognized.
pub const GUARD_RAIL_TAG: &str = " is maintained by Atlas";

/// Columns `from..=to` below the header (where dropdowns go).
fn columns(sheet_id: i32, from: usize, to: usize) -> GridRange {
    GridRange { start_row_index: Some(1), ..whole_columns(sheet_id, from, to) }
}

/// Columns `from..=to`, every row (where protections go). A range that starts at a row moves down when a
/// row is inserted above it, leaving the rows above open to every editor; a whole column has no first
/// row to insert above, so an inserted row always lands inside it.
fn whole_columns(sheet_id: i32, from: usize, to: usize) -> GridRange {
    GridRange {
        sheet_id: Some(sheet_id),
        start_row_index: None,
        end_row_index: None,
        start_column_index: Some(from as i32),
        end_column_index: Some(to as i32 + 1),
    }
}

/// A clear of a reviewer column's cells below the header (`updateCells` with no rows: "If the data in
/// rows does not cover the entire requested range, the fields matching those set in fields will be
/// cleared").
pub fn clear_column(sheet_id: i32, column: usize) -> Request {
    Request {
        update_cells: Some(google_sheets4::api::UpdateCellsRequest {
            range: Some(columns(sheet_id, column, column)),
            fields: Some(google_sheets4::common::FieldMask::new(&["userEnteredValue"])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dropdown(sheet_id: i32, column: usize, values: &[&str]) -> Request {
    let condition = BooleanCondition {
        type_: Some("ONE_OF_LIST".into()),
        values: Some(
            values
                .iter()
                .map(|v| ConditionValue { user_entered_value: Some((*v).into()), relative_date: None })
                .collect(),
        ),
    };
    let rule = DataValidationRule {
        condition: Some(condition),
        strict: Some(true),
        show_custom_ui: Some(true),
        input_message: None,
    };
    Request {
        set_data_validation: Some(SetDataValidationRequest {
            range: Some(columns(sheet_id, column, column)),
            rule: Some(rule),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The contiguous runs of columns a human may not edit (Status in reviewer mode excepted: it is
/// protected strictly on its own).
fn owned_runs(layout: &Layout, t: usize) -> Vec<(usize, usize)> {
    let strict = t == 0 && matches!(layout.mode, ApprovalMode::Reviewers(_));
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for column in (0..8).filter(|&c| !(layout.is_editable(t, c) || strict && (c == STATUS || c == 0))) {
        match runs.last_mut() {
            Some(run) if run.1 + 1 == column => run.1 = column,
            _ => runs.push((column, column)),
        }
    }
    runs
}

fn protect(range: GridRange, description: String, editors: Option<Vec<String>>) -> Request {
    let protected = ProtectedRange {
        range: Some(range),
        description: Some(description),
        warning_only: Some(editors.is_none()),
        editors: editors.map(|users| Editors { users: Some(users), groups: None, domain_users_can_edit: Some(false) }),
        ..Default::default()
    };
    Request {
        add_protected_range: Some(AddProtectedRangeRequest { protected_range: Some(protected) }),
        ..Default::default()
    }
}

/// The strict protection of a reviewer's column.
fn reviewer_protection(sheet_id: i32, decider: &Decider, account: &str) -> Request {
    let email = decider.email.clone().unwrap_or_default();
    let description = format!("{REVIEWER_TAG}{} ({email}); only they and Atlas may edit it", decider.token);
    protect(whole_columns(sheet_id, decider.column, decider.column), description, Some(vec![email, account.to_owned()]))
}

/// The strict protection of the ID column: a row's ID binds it, and the decisions typed in it, to its
/// record, so only Atlas may write it (else an editor swapping two rows' IDs and cells moves a reviewer's
/// decision to another record).
fn id_protection(sheet_id: i32, account: &str) -> Request {
    let description = format!("{ID_TAG} (written by Atlas only: it binds each row and its decisions to a record)");
    protect(whole_columns(sheet_id, 0, 0), description, Some(vec![account.to_owned()]))
}

/// Why the ID column's protection does not keep it Atlas's, if it does not; `None` also when it is
/// missing (`check` tells that case apart).
fn id_problem(protections: &[Protection], standing: StandingEditors<'_>) -> Option<String> {
    let owner = standing.owner.map(str::to_lowercase);
    let intact = |p: &Protection| {
        let users: Option<Vec<String>> = p.users.as_ref().map(|users| {
            let mut users: Vec<String> =
                users.iter().map(|u| u.trim().to_lowercase()).filter(|u| Some(u) != owner.as_ref()).collect();
            users.sort();
            users.dedup();
            users
        });
        p.start_column == Some(0)
            && p.end_column == Some(1)
            && p.start_row.is_none()
            && p.end_row.is_none()
            && !p.warning_only
            && users == Some(vec![standing.account.to_lowercase()])
            && p.groups.is_empty()
            && !p.domain_can_edit
            && !p.has_unprotected_ranges
    };
    let ours: Vec<&Protection> = protections.iter().filter(|p| p.description.starts_with(ID_TAG)).collect();
    (!ours.is_empty() && !ours.iter().any(|p| intact(p))).then(|| {
        "the ID column (A) is open to other editors, so a row and its decisions could be moved to another \
         record"
            .to_owned()
    })
}

fn status_protection(sheet_id: i32, account: &str) -> Request {
    let description = format!("{STATUS_TAG} (written by Atlas only; decide in your own column)");
    protect(whole_columns(sheet_id, STATUS, STATUS), description, Some(vec![account.to_owned()]))
}

/// Dropdowns and protections for tab `t` created with `sheet_id`.
pub fn guard_rails(layout: &Layout, t: usize, sheet_id: i32, account: &str) -> Vec<Request> {
    let mut requests = Vec::new();
    if TABS[t].title == APPROVALS.title {
        match &layout.mode {
            ApprovalMode::Shared { .. } => {
                requests.push(dropdown(sheet_id, STATUS, &["pending", "approved", "rejected", "expired", "superseded"]))
            }
            ApprovalMode::Reviewers(_) => {
                requests.push(id_protection(sheet_id, account));
                requests.push(status_protection(sheet_id, account));
                for decider in layout.deciders() {
                    requests.push(dropdown(sheet_id, decider.column, &["approved", "rejected"]));
                    requests.push(reviewer_protection(sheet_id, &decider, account));
                }
            }
        }
    }
    if TABS[t].title == ERRORS.title {
        requests.push(dropdown(sheet_id, 5, &["false", "true"]));
    }
    for (from, to) in owned_runs(layout, t) {
        let description = format!("{}{GUARD_RAIL_TAG}; edits are undone at the next sync", TABS[t].title);
        requests.push(protect(whole_columns(sheet_id, from, to), description, None));
    }
    requests
}

/// The editors a reviewer column has besides its reviewer: Atlas's service account, which makes each
/// protection (Google keeps a protection's creator among its editors), and the spreadsheet's owner, whom
/// Google never removes from a protected range ("Neither the owner of the spreadsheet nor the current user
/// can be removed") and lists among its editors. The owner comes from `sheets.owner`; any other editor is
/// drift.
#[derive(Clone, Copy, Debug)]
pub struct StandingEditors<'a> {
    pub account: &'a str,
    pub owner: Option<&'a str>,
}

/// Why a reviewer column's protection does not make its cells that reviewer's, if it does not.
fn problem(protections: &[Protection], decider: &Decider, standing: StandingEditors<'_>) -> Option<String> {
    let column = decider.column as i32;
    let email = decider.email.clone().unwrap_or_default().to_lowercase();
    let owner = standing.owner.map(str::to_lowercase);
    let mut wanted = vec![email.clone(), standing.account.to_lowercase()];
    wanted.sort();
    // The editors that count: the owner, whether Google lists it or not, is left out.
    let editors_of = |p: &Protection| {
        p.users.as_ref().map(|users| {
            let mut users: Vec<String> =
                users.iter().map(|u| u.trim().to_lowercase()).filter(|u| Some(u) != owner.as_ref()).collect();
            users.sort();
            users.dedup();
            users
        })
    };
    let intact = |p: &Protection| {
        p.start_column == Some(column)
            && p.end_column == Some(column + 1)
            && p.start_row.unwrap_or(0) <= 1
            && p.end_row.is_none()
            && !p.warning_only
            && editors_of(p).as_ref() == Some(&wanted)
            && p.groups.is_empty()
            && !p.domain_can_edit
            && !p.has_unprotected_ranges
    };
    if protections.iter().any(intact) {
        return None;
    }
    let tag = format!("{REVIEWER_TAG}{} ", decider.token);
    let Some(ours) = protections.iter().find(|p| p.description.starts_with(&tag)) else {
        return Some("no protection covers the column".into());
    };
    Some(if ours.warning_only {
        "its protection is warning-only".into()
    } else if let Some(first) = ours.start_row.filter(|&first| first > 1) {
        format!("rows 2 to {} are outside its protection (a row was inserted above it)", first)
    } else if ours.start_column != Some(column) || ours.end_column != Some(column + 1) || ours.end_row.is_some() {
        "its protection covers other cells (moved)".into()
    } else {
        match editors_of(ours) {
            None => "Atlas's service account is no longer one of its editors".into(),
            Some(users) if users != wanted => {
                let extra: Vec<&str> = users.iter().filter(|u| !wanted.contains(u)).map(String::as_str).collect();
                let owner = match standing.owner {
                    Some(owner) => format!("the spreadsheet's owner {owner}"),
                    None => "the spreadsheet's owner (sheets.owner is not set)".into(),
                };
                format!(
                    "its editors are {}; only the reviewer, Atlas's service account and {owner} may be{}",
                    users.join(", "),
                    if extra.is_empty() { String::new() } else { format!(" (not {})", extra.join(", ")) }
                )
            }
            Some(_) => "its protection lets groups, the domain or unprotected ranges in".into(),
        }
    })
}

/// Reviewer columns Atlas can no longer write: a strict protection covers them that does not list its
/// service account (Google refuses the whole write request if Atlas writes there).
pub fn blocked_columns(layout: &Layout, protections: &[Protection], account: &str) -> std::collections::HashSet<usize> {
    layout
        .deciders()
        .into_iter()
        .map(|d| d.column)
        .filter(|&column| {
            protections.iter().any(|p| {
                let column = column as i32;
                let covers = p.start_column.unwrap_or(0) <= column && p.end_column.is_none_or(|end| column < end);
                let lets_atlas = p.warning_only
                    || p.users.as_ref().is_some_and(|users| users.iter().any(|u| u.eq_ignore_ascii_case(account)));
                covers && !lets_atlas
            })
        })
        .collect()
}

/// Whether a protection of Atlas's ever named this reviewer (so their column is not new).
pub fn ever_protected(protections: &[Protection], token: &str) -> bool {
    let tag = format!("{REVIEWER_TAG}{token} ");
    protections.iter().any(|p| p.description.starts_with(&tag))
}

/// What the check of the strict protections found.
#[derive(Default)]
pub struct Checked {
    /// Reviewer columns whose protection drifted, with why.
    pub drifted: HashMap<usize, String>,
    /// Per drifted or new column: removing Atlas's drifted ranges and protecting the column (sent with
    /// the column's clear, `loose.rs`).
    pub repairs: HashMap<usize, Vec<Request>>,
    /// Reviewer columns that are open without drift, with why: added now (`new_columns`), or every one
    /// while the ID column has no protection yet (a sheet from before it had one). They decide nothing
    /// until Atlas has protected and cleared them.
    pub new: HashMap<usize, String>,
    /// For the cycle's structure request: Status when it lacks its protection, and intact ranges of the
    /// older form (from row 2 down) replaced by whole columns.
    pub create: Vec<Request>,
}

fn delete(protection: &Protection) -> Request {
    Request {
        delete_protected_range: Some(DeleteProtectedRangeRequest { protected_range_id: protection.id }),
        ..Default::default()
    }
}

/// Checks Status's and every reviewer column's strict protection.
pub fn check(
    layout: &Layout,
    sheet_id: i32,
    protections: &[Protection],
    new_columns: &[usize],
    standing: StandingEditors<'_>,
) -> Checked {
    let account = standing.account;
    let mut checked = Checked::default();
    if !matches!(layout.mode, ApprovalMode::Reviewers(_)) {
        return checked;
    }
    let status: Vec<&Protection> = protections.iter().filter(|p| p.description.starts_with(STATUS_TAG)).collect();
    if status.is_empty() || status.iter().any(|p| p.start_row.is_some()) {
        checked.create.extend(status.iter().map(|p| delete(p)));
        checked.create.push(status_protection(sheet_id, account));
    }
    for decider in layout.deciders() {
        let tag = format!("{REVIEWER_TAG}{} ", decider.token);
        let ours: Vec<&Protection> = protections.iter().filter(|p| p.description.starts_with(&tag)).collect();
        let mut requests: Vec<Request> = ours.iter().map(|p| delete(p)).collect();
        requests.push(reviewer_protection(sheet_id, &decider, account));
        match problem(protections, &decider, standing) {
            None if ours.iter().any(|p| p.start_row.is_some()) => checked.create.extend(requests),
            None => {}
            Some(_) if new_columns.contains(&decider.column) => {
                let why = "the column is new: it counts once Atlas has protected it and cleared what was typed before";
                checked.new.insert(decider.column, why.into());
                checked.repairs.insert(decider.column, requests);
            }
            Some(why) => {
                checked.drifted.insert(decider.column, why);
                checked.repairs.insert(decider.column, requests);
            }
        }
    }
    // The ID column: while it is not Atlas's alone, no reviewer column's content can be bound to its
    // record, so every one is quarantined, and the first one's request repairs the ID column too.
    let ids: Vec<&Protection> = protections.iter().filter(|p| p.description.starts_with(ID_TAG)).collect();
    let broken = id_problem(protections, standing);
    if ids.is_empty() || broken.is_some() {
        let mut repair: Vec<Request> = ids.iter().map(|p| delete(p)).collect();
        repair.push(id_protection(sheet_id, account));
        for decider in layout.deciders() {
            let column = decider.column;
            if !checked.drifted.contains_key(&column) && !checked.new.contains_key(&column) {
                match &broken {
                    Some(why) => checked.drifted.insert(column, why.clone()),
                    None => checked.new.insert(
                        column,
                        "the ID column had no protection yet (Atlas protects it now); decide again once cleared".into(),
                    ),
                };
            }
            checked.repairs.entry(column).or_default();
        }
        if let Some(first) = layout.deciders().first() {
            let requests = checked.repairs.entry(first.column).or_default();
            requests.splice(0..0, repair);
        } else {
            checked.create.extend(repair);
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::contract::Reviewer;

    fn reviewers() -> Layout {
        Layout::new(ApprovalMode::Reviewers(vec![Reviewer {
            token: "alice".into(),
            email: "Alice@example.com".into(),
        }]))
    }

    fn intact() -> Protection {
        Protection {
            id: Some(7),
            description: format!("{REVIEWER_TAG}alice (alice@example.com)"),
            start_column: Some(8),
            end_column: Some(9),
            users: Some(vec!["alice@example.com".into(), "atlas@sa.example".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn owned_columns_are_protected_in_runs_and_enum_columns_get_dropdowns() {
        let shared = Layout::new(ApprovalMode::Shared { reviewer: "desk".into() });
        assert_eq!(owned_runs(&shared, 0), [(0, 3), (5, 5), (7, 7)]);
        assert_eq!(owned_runs(&reviewers(), 0), [(1, 3), (5, 5), (7, 7)], "ID and Status are strict on their own");
        assert_eq!(owned_runs(&shared, 1), [(0, 6)]);
        assert_eq!(guard_rails(&shared, 0, 7, "sa").len(), 4);
        assert_eq!(guard_rails(&reviewers(), 0, 7, "sa").len(), 7, "ID, status, dropdown + protection, three runs");
        let errors = guard_rails(&shared, 2, 7, "sa");
        assert!(errors[0].set_data_validation.is_some() && errors.len() == 2);
    }

    const STANDING: StandingEditors<'static> =
        StandingEditors { account: "atlas@sa.example", owner: Some("Owner@example.com") };

    fn status() -> Protection {
        Protection { description: STATUS_TAG.into(), ..Default::default() }
    }

    fn id() -> Protection {
        Protection {
            description: ID_TAG.into(),
            start_column: Some(0),
            end_column: Some(1),
            users: Some(vec!["atlas@sa.example".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn the_owner_google_lists_is_no_drift_and_anyone_else_is() {
        let layout = reviewers();
        let mut listed = intact();
        listed.users.as_mut().unwrap().push("owner@example.com".into());
        let checked = check(&layout, 1, &[listed.clone(), status(), id()], &[], STANDING);
        assert!(
            checked.drifted.is_empty(),
            "Google lists the owner among every range's editors: {:?}",
            checked.drifted
        );
        let unknown = StandingEditors { owner: None, ..STANDING };
        let checked = check(&layout, 1, &[listed.clone(), status(), id()], &[], unknown);
        assert!(checked.drifted[&8].contains("sheets.owner is not set"), "{:?}", checked.drifted);
        let mut other = listed;
        other.users.as_mut().unwrap().push("mallory@example.com".into());
        let checked = check(&layout, 1, &[other, status(), id()], &[], STANDING);
        assert!(checked.drifted[&8].contains("not mallory@example.com"), "{:?}", checked.drifted);
    }

    #[test]
    fn a_drifted_reviewer_protection_is_named_and_repaired() {
        let layout = reviewers();
        let checked = check(&layout, 1, &[intact(), status(), id()], &[], STANDING);
        assert!(checked.drifted.is_empty() && checked.repairs.is_empty() && checked.create.is_empty());
        type Drift = fn(&mut Protection);
        let cases: [(Drift, &str); 5] = [
            (|p| p.warning_only = true, "warning-only"),
            (|p| p.users.as_mut().unwrap().push("mallory@example.com".into()), "editors are"),
            (|p| p.start_column = Some(9), "moved"),
            (|p| p.users = None, "service account"),
            (|p| p.start_row = Some(2), "rows 2 to 2 are outside its protection (a row was inserted above it)"),
        ];
        for (drift, expected) in cases {
            let mut p = intact();
            drift(&mut p);
            let checked = check(&layout, 1, &[p, status(), id()], &[], STANDING);
            assert!(checked.drifted[&8].contains(expected), "{:?}", checked.drifted);
            let repairs = &checked.repairs[&8];
            assert!(repairs[0].delete_protected_range.is_some() && repairs[1].add_protected_range.is_some());
        }
        let checked = check(&layout, 1, &[status(), id()], &[8], STANDING);
        assert!(checked.drifted.is_empty() && checked.create.is_empty(), "a new column is not reported as drift");
        assert!(checked.new.contains_key(&8) && checked.repairs[&8].len() == 1, "it is protected with its clear");
    }

    #[test]
    fn protections_cover_whole_columns_and_the_older_form_is_replaced_without_a_drift() {
        for request in guard_rails(&reviewers(), 0, 7, "sa") {
            if let Some(add) = request.add_protected_range {
                let range = add.protected_range.unwrap().range.unwrap();
                assert_eq!((range.start_row_index, range.end_row_index), (None, None), "an insert always lands inside");
            }
        }
        let older = Protection { start_row: Some(1), ..intact() };
        let older_status = Protection { start_row: Some(1), ..status() };
        let checked = check(&reviewers(), 1, &[older, older_status, id()], &[], STANDING);
        assert!(checked.drifted.is_empty(), "{:?}", checked.drifted);
        assert_eq!(checked.create.len(), 4, "both ranges deleted and made again as whole columns");
    }

    #[test]
    fn an_open_or_missing_id_column_quarantines_every_reviewer_column() {
        let layout = reviewers();
        let loose = Protection { warning_only: true, ..id() };
        let checked = check(&layout, 1, &[intact(), status(), loose], &[], STANDING);
        assert!(checked.drifted[&8].contains("ID column"), "{:?}", checked.drifted);
        let repairs = &checked.repairs[&8];
        assert!(repairs[0].delete_protected_range.is_some() && repairs[1].add_protected_range.is_some());
        let mallory = Protection { users: Some(vec!["atlas@sa.example".into(), "mallory@example.com".into()]), ..id() };
        assert!(check(&layout, 1, &[intact(), status(), mallory], &[], STANDING).drifted.contains_key(&8));
        let missing = check(&layout, 1, &[intact(), status()], &[], STANDING);
        assert!(missing.drifted.is_empty() && missing.new[&8].contains("ID column"), "an older sheet: no alarm");
        assert!(missing.repairs[&8][0].add_protected_range.is_some());
    }
}
