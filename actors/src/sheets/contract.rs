//! The mirror contract (design document 001): three tabs with fixed headers A..H, and which columns a
//! human may edit. Everything else in the sheet is Atlas's and is restored from the database.

/// One tab of the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabContract {
    pub title: &'static str,
    pub headers: [&'static str; 8],
    /// Columns (0-based) whose human edits flow back into the database.
    pub editable: &'static [usize],
}

pub const APPROVALS: TabContract = TabContract {
    title: "Pending_Approvals",
    headers: ["ID", "Type", "Action", "Item", "Status", "Requested", "Notes", "Payload"],
    editable: &[4, 6],
};

pub const RUNS: TabContract = TabContract {
    title: "Runs",
    headers: ["ID", "Task", "Command", "Status", "Started", "Completed", "Output", "Notes"],
    editable: &[7],
};

pub const ERRORS: TabContract = TabContract {
    title: "Errors_Hotlist",
    headers: ["ID", "Task", "Error", "Timestamp", "Severity", "Resolved", "Resolution", "Notes"],
    editable: &[5, 6, 7],
};

pub const TABS: [TabContract; 3] = [APPROVALS, RUNS, ERRORS];

impl TabContract {
    /// The A1 range of the whole tab, tab name quoted, wide enough to see columns a human added (`'Pending_Approvals'!A1:Z`).
    pub fn range(&self) -> String {
        format!("'{}'!A1:Z", self.title.replace('\'', "''"))
    }

    /// The A1 range of one row's columns `from..=to` (0-based columns, 0-based row index).
    pub fn cells(&self, row: usize, from: usize, to: usize) -> String {
        format!(
            "'{}'!{}{}:{}{}",
            self.title.replace('\'', "''"),
            column_letter(from),
            row + 1,
            column_letter(to),
            row + 1
        )
    }

    pub fn is_editable(&self, column: usize) -> bool {
        self.editable.contains(&column)
    }

    pub fn column(&self, header: &str) -> usize {
        self.headers
            .iter()
            .position(|h| *h == header)
            .unwrap_or_else(|| panic!("{} has no column {header}", self.title))
    }
}

/// `0 -> A` … `7 -> H` (the contract never goes past H).
pub fn column_letter(column: usize) -> char {
    (b'A' + column as u8) as char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_quote_tab_names_and_count_rows_from_one() {
        assert_eq!(APPROVALS.range(), "'Pending_Approvals'!A1:Z");
        assert_eq!(RUNS.cells(0, 0, 7), "'Runs'!A1:H1");
        assert_eq!(ERRORS.cells(9, 5, 7), "'Errors_Hotlist'!F10:H10");
        assert_eq!(APPROVALS.column("Status"), 4);
        assert!(APPROVALS.is_editable(4) && !APPROVALS.is_editable(7));
    }
}
