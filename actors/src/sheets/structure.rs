//! Requests that give a new tab its guard rails: a dropdown on the human-editable enum column (approvals
//! Status, errors Resolved) and warning-only protection on the columns Atlas owns.

use super::contract::{TabContract, APPROVALS, ERRORS};
use google_sheets4::api::{
    AddProtectedRangeRequest, BooleanCondition, ConditionValue, DataValidationRule, GridRange, ProtectedRange, Request,
    SetDataValidationRequest,
};

fn columns(sheet_id: i32, from: usize, to: usize) -> GridRange {
    GridRange {
        sheet_id: Some(sheet_id),
        start_row_index: Some(1),
        end_row_index: None,
        start_column_index: Some(from as i32),
        end_column_index: Some(to as i32 + 1),
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

/// The contiguous runs of columns a human may not edit.
fn owned_runs(tab: &TabContract) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for column in (0..8).filter(|c| !tab.is_editable(*c)) {
        match runs.last_mut() {
            Some(run) if run.1 + 1 == column => run.1 = column,
            _ => runs.push((column, column)),
        }
    }
    runs
}

/// Dropdowns and warning-only protections for a tab created with `sheet_id`.
pub fn guard_rails(tab: &TabContract, sheet_id: i32) -> Vec<Request> {
    let mut requests = Vec::new();
    if tab.title == APPROVALS.title {
        requests.push(dropdown(sheet_id, 4, &["pending", "approved", "rejected", "expired"]));
    }
    if tab.title == ERRORS.title {
        requests.push(dropdown(sheet_id, 5, &["false", "true"]));
    }
    for (from, to) in owned_runs(tab) {
        let protected = ProtectedRange {
            range: Some(columns(sheet_id, from, to)),
            description: Some(format!("{} is maintained by Atlas; edits are undone at the next sync", tab.title)),
            warning_only: Some(true),
            ..Default::default()
        };
        requests.push(Request {
            add_protected_range: Some(AddProtectedRangeRequest { protected_range: Some(protected) }),
            ..Default::default()
        });
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::contract::RUNS;

    #[test]
    fn owned_columns_are_protected_in_runs_and_enum_columns_get_dropdowns() {
        assert_eq!(owned_runs(&APPROVALS), [(0, 3), (5, 5), (7, 7)]);
        assert_eq!(owned_runs(&RUNS), [(0, 6)]);
        assert_eq!(guard_rails(&APPROVALS, 7).len(), 4);
        assert_eq!(guard_rails(&RUNS, 7).len(), 1);
        let errors = guard_rails(&ERRORS, 7);
        assert!(errors[0].set_data_validation.is_some() && errors.len() == 2);
    }
}
