//! The mirror contract (design document 001): three tabs with fixed headers A..H, and which columns a
//! human may edit. Everything else in the sheet is Atlas's and is restored from the database.
//!
//! On top of the fixed contract, `Layout` says who decides approvals in the sheet: by default one
//! decision column per reviewer after H (each strictly protected to that person and Atlas's service
//! account), with Status (E) an outcome only Atlas writes; or, explicitly, the seed contract's shared
//! Status column under one named reviewer identity.

/// One tab of the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabContract {
    pub title: &'static str,
    pub headers: [&'static str; 8],
    /// Columns (0-based) whose human edits flow back into the database (Status only in shared mode).
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

/// The three tabs' titles, in `TABS` order.
pub const TITLES: [&str; 3] = [APPROVALS.title, RUNS.title, ERRORS.title];

/// The approvals Status column.
pub const STATUS: usize = 4;
/// The first column after the contract's A..H (where reviewer columns start).
pub const FIRST_REVIEWER_COLUMN: usize = 8;
/// Columns Atlas reads (A..Z): room for 18 reviewers.
pub const MAX_COLUMNS: usize = 26;

/// A person who decides in their own column: an Atlas token name and their Google account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reviewer {
    pub token: String,
    pub email: String,
}

/// Who decides approvals in the sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalMode {
    /// One protected decision column per reviewer (none configured: nobody decides in the sheet).
    Reviewers(Vec<Reviewer>),
    /// The seed contract's Status column, every decision recorded as this token's (not attributable to
    /// a person: whoever can edit the spreadsheet decides).
    Shared { reviewer: String },
}

impl Default for ApprovalMode {
    fn default() -> Self {
        Self::Reviewers(Vec::new())
    }
}

/// Who a decision cell speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decider {
    pub column: usize,
    /// The Atlas token name the decision is recorded as.
    pub token: String,
    /// The Google account whose column this is (`None` in shared mode).
    pub email: Option<String>,
}

/// The three tabs as this configuration lays them out.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Layout {
    pub mode: ApprovalMode,
}

impl Layout {
    pub fn new(mode: ApprovalMode) -> Self {
        Self { mode }
    }

    pub fn reviewers(&self) -> &[Reviewer] {
        match &self.mode {
            ApprovalMode::Reviewers(reviewers) => reviewers,
            ApprovalMode::Shared { .. } => &[],
        }
    }

    /// How many columns tab `t` has.
    pub fn width(&self, t: usize) -> usize {
        if t == 0 {
            FIRST_REVIEWER_COLUMN + self.reviewers().len()
        } else {
            8
        }
    }

    /// The header row of tab `t`.
    pub fn headers(&self, t: usize) -> Vec<String> {
        let mut headers: Vec<String> = TABS[t].headers.iter().map(|h| (*h).to_owned()).collect();
        if t == 0 {
            headers.extend(self.reviewers().iter().map(|r| r.token.clone()));
        }
        headers
    }

    /// Whether a human's edit of column `c` in tab `t` can flow back.
    pub fn is_editable(&self, t: usize, column: usize) -> bool {
        if t == 0 {
            match column {
                STATUS => matches!(self.mode, ApprovalMode::Shared { .. }),
                c if c >= FIRST_REVIEWER_COLUMN => c < self.width(0),
                c => TABS[0].is_editable(c),
            }
        } else {
            TABS[t].is_editable(column)
        }
    }

    /// The editable columns of tab `t`.
    pub fn editable(&self, t: usize) -> Vec<usize> {
        (0..self.width(t)).filter(|&c| self.is_editable(t, c)).collect()
    }

    /// The columns whose cells decide approvals, and for whom.
    pub fn deciders(&self) -> Vec<Decider> {
        match &self.mode {
            ApprovalMode::Shared { reviewer } => {
                vec![Decider { column: STATUS, token: reviewer.clone(), email: None }]
            }
            ApprovalMode::Reviewers(reviewers) => reviewers
                .iter()
                .enumerate()
                .map(|(i, r)| Decider {
                    column: FIRST_REVIEWER_COLUMN + i,
                    token: r.token.clone(),
                    email: Some(r.email.clone()),
                })
                .collect(),
        }
    }

    /// The decider of a column of Pending_Approvals, if it is a decision column.
    pub fn decider(&self, column: usize) -> Option<Decider> {
        self.deciders().into_iter().find(|d| d.column == column)
    }

    /// The header of column `c` of tab `t` (for messages).
    pub fn header(&self, t: usize, column: usize) -> String {
        self.headers(t).get(column).cloned().unwrap_or_else(|| column_letter(column).to_string())
    }
}

impl TabContract {
    /// The A1 range of the whole tab, tab name quoted, wide enough to see columns a human added (`'Pending_Approvals'!A1:Z`).
    pub fn range(&self) -> String {
        format!("'{}'!A1:Z", self.title.replace('\'', "''"))
    }

    /// The tab's first `rows` rows, columns A..Z (what a bounded read asks for).
    pub fn first_rows(&self, rows: usize) -> String {
        format!("{}{rows}", self.range())
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

/// `0 -> A` … `25 -> Z` (Atlas never reads past Z).
pub fn column_letter(column: usize) -> char {
    (b'A' + column.min(25) as u8) as char
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

    #[test]
    fn reviewer_columns_follow_h_and_status_is_an_outcome_unless_shared() {
        let alice = Reviewer { token: "alice".into(), email: "alice@example.com".into() };
        let layout = Layout::new(ApprovalMode::Reviewers(vec![alice]));
        assert_eq!(layout.width(0), 9);
        assert_eq!(layout.headers(0)[8], "alice");
        assert!(!layout.is_editable(0, STATUS) && layout.is_editable(0, 8) && !layout.is_editable(0, 9));
        assert_eq!(layout.decider(8).unwrap().email.as_deref(), Some("alice@example.com"));
        let shared = Layout::new(ApprovalMode::Shared { reviewer: "ops-desk".into() });
        assert_eq!(shared.width(0), 8);
        assert!(shared.is_editable(0, STATUS));
        assert_eq!(shared.decider(STATUS).unwrap().token, "ops-desk");
        assert_eq!(Layout::default().deciders(), Vec::new(), "no reviewers: nobody decides in the sheet");
    }
}
