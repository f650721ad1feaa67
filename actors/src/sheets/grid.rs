//! The grid read, parsed: each tab's size, its cells as a person entered them (formulas as written,
//! numbers and booleans as Sheets shows them) and its protected ranges.

use super::client::SheetInfo;
use google_sheets4::api::{ExtendedValue, ProtectedRange, SheetProperties};

/// A protected range as Google reports it (only the parts Atlas checks).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Protection {
    pub id: Option<i32>,
    pub description: String,
    pub start_row: Option<i32>,
    pub end_row: Option<i32>,
    pub start_column: Option<i32>,
    pub end_column: Option<i32>,
    pub warning_only: bool,
    /// `None` when Google does not show the editors (Atlas is not one of them).
    pub users: Option<Vec<String>>,
    pub groups: Vec<String>,
    pub domain_can_edit: bool,
    pub has_unprotected_ranges: bool,
}

/// One tab as a grid read returns it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Grid {
    pub info: SheetInfo,
    pub rows: Vec<Vec<String>>,
    pub protections: Vec<Protection>,
}

/// A cell as the person typed it: formulas as written, numbers and booleans as Sheets shows them.
pub(super) fn entered(value: Option<&ExtendedValue>) -> String {
    let Some(value) = value else { return String::new() };
    if let Some(formula) = &value.formula_value {
        return formula.clone();
    }
    if let Some(text) = &value.string_value {
        return text.clone();
    }
    if let Some(flag) = value.bool_value {
        return if flag { "TRUE".into() } else { "FALSE".into() };
    }
    if let Some(number) = value.number_value {
        return if number.fract() == 0.0 && number.abs() < 1e15 {
            format!("{}", number as i64)
        } else {
            number.to_string()
        };
    }
    value.error_value.as_ref().and_then(|e| e.message.clone()).map(|m| format!("#ERROR {m}")).unwrap_or_default()
}

pub(super) fn protection(range: ProtectedRange) -> Protection {
    let grid = range.range.unwrap_or_default();
    let editors = range.editors;
    Protection {
        id: range.protected_range_id,
        description: range.description.unwrap_or_default(),
        start_row: grid.start_row_index,
        end_row: grid.end_row_index,
        start_column: grid.start_column_index,
        end_column: grid.end_column_index,
        warning_only: range.warning_only.unwrap_or(false),
        users: editors.as_ref().map(|e| e.users.clone().unwrap_or_default()),
        groups: editors.as_ref().and_then(|e| e.groups.clone()).unwrap_or_default(),
        domain_can_edit: editors.as_ref().and_then(|e| e.domain_users_can_edit).unwrap_or(false),
        has_unprotected_ranges: range.unprotected_ranges.is_some_and(|u| !u.is_empty()),
    }
}

/// A tab's identity and size from its properties.
pub fn sheet_info(props: SheetProperties) -> SheetInfo {
    SheetInfo {
        title: props.title.unwrap_or_default(),
        sheet_id: props.sheet_id.unwrap_or_default(),
        row_count: props.grid_properties.as_ref().and_then(|g| g.row_count).unwrap_or_default(),
        column_count: props.grid_properties.and_then(|g| g.column_count).unwrap_or_default(),
        guarded_as: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_entered() {
        let value = |v: serde_json::Value| serde_json::from_value::<ExtendedValue>(v).unwrap();
        assert_eq!(entered(Some(&value(serde_json::json!({ "formulaValue": "=A1" })))), "=A1");
        assert_eq!(entered(Some(&value(serde_json::json!({ "boolValue": true })))), "TRUE");
        assert_eq!(entered(Some(&value(serde_json::json!({ "numberValue": 42.0 })))), "42");
        assert_eq!(entered(Some(&value(serde_json::json!({ "numberValue": 1.5 })))), "1.5");
        assert_eq!(entered(Some(&value(serde_json::json!({ "stringValue": "approved" })))), "approved");
        assert_eq!(entered(None), "");
    }
}
