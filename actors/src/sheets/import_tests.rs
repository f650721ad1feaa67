//! Unit tests of the import planner (shared Status column unless a test says otherwise).
use super::*;
use crate::domain::command::Decision;
use crate::sheets::contract::{ApprovalMode, Reviewer, TabContract, APPROVALS, ERRORS, RUNS};

fn header(tab: &TabContract) -> Vec<String> {
    tab.headers.iter().map(|h| (*h).to_owned()).collect()
}

fn approval(id: &str, status: &str, notes: &str) -> Row {
    [id, "task", "create", "item", status, "2026-01-01", notes, "{}"].map(String::from).to_vec()
}

fn shared() -> Layout {
    Layout::new(ApprovalMode::Shared { reviewer: "desk".into() })
}

/// The planner with the seed contract's shared Status column (the unit tests' default).
fn plan_import(
    sheets: &[Option<Vec<Vec<String>>>; 3],
    shown: &[Vec<Row>; 3],
    baseline: &Baseline,
    synced_before: bool,
    allow_self_approval: bool,
) -> ImportPlan {
    let layout = shared();
    let drifted = HashMap::new();
    let rules = ImportRules {
        layout: &layout,
        baseline,
        synced_before,
        allow_self_approval,
        allow_partial_payload: false,
        drifted: &drifted,
    };
    super::plan_import(sheets, shown, &rules)
}

fn sheets(approvals: Vec<Row>) -> [Option<Vec<Vec<String>>>; 3] {
    let mut tab = vec![header(&APPROVALS)];
    tab.extend(approvals.into_iter().map(|r| r.to_vec()));
    [Some(tab), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS)])]
}

fn shown(approvals: Vec<Row>) -> [Vec<Row>; 3] {
    [approvals, Vec::new(), Vec::new()]
}

#[test]
fn a_human_approval_with_a_note_becomes_two_commands() {
    let db = approval("approval-1", "pending", "");
    let edited = approval("approval-1", "Approved", "ship it");
    let plan = plan_import(&sheets(vec![edited]), &shown(vec![db]), &Baseline::new(), true, false);
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    assert!(matches!(plan.accepted[0].command, Command::ReviewApproval { decision: Decision::Approve, .. }));
    assert!(matches!(&plan.accepted[1].command, Command::AddNote { body, .. } if body == "ship it"));
    assert_eq!(plan.rewrite[0], [(1, 4), (1, 6)].into());
}

#[test]
fn forbidden_edits_are_refused_and_restored() {
    let db = approval("approval-1", "approved", "alice (t): ok");
    let mut edited = approval("approval-1", "pending", "alice (t): changed");
    edited[1] = "project".into();
    edited[7] = "=HYPERLINK(\"x\")".into();
    let plan = plan_import(
        &sheets(vec![edited, approval("approval-9", "pending", "")]),
        &shown(vec![db]),
        &Baseline::new(),
        true,
        false,
    );
    let reasons: Vec<&str> = plan.refused.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("Type is maintained by Atlas")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("does not show what Atlas exported for approval-1 (Type, Payload changed)")),
        "a row whose Atlas cells were changed decides nothing: {reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("earlier notes cannot be changed")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("Payload is maintained by Atlas")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("unknown ID")), "{reasons:?}");
    assert!(matches!(&plan.accepted[0].command, Command::AddNote { body, .. } if body == "alice (t): changed"));
}

#[test]
fn a_cell_matching_the_baseline_is_stale_not_edited() {
    let db = approval("approval-1", "rejected", "");
    let sheet_row = approval("approval-1", "pending", "");
    let baseline: Baseline =
        [(("Pending_Approvals".to_owned(), "approval-1".to_owned(), 4u8), "pending".to_owned())].into_iter().collect();
    let plan = plan_import(&sheets(vec![sheet_row.clone()]), &shown(vec![db.clone()]), &baseline, true, false);
    assert!(plan.accepted.is_empty() && plan.refused.is_empty(), "{plan:?}");
    assert_eq!(plan.db_moved[0], [(1, 4)].into());
    let plan = plan_import(&sheets(vec![sheet_row]), &shown(vec![db]), &Baseline::new(), true, false);
    assert!(plan.refused[0].reason.contains("already rejected"), "without a baseline it reads as an edit");
}

#[test]
fn an_unknown_status_is_refused_and_duplicates_that_disagree_decide_nothing() {
    let db = approval("approval-1", "pending", "");
    let plan = plan_import(
        &sheets(vec![approval("approval-1", "maybe", "")]),
        &shown(vec![db.clone()]),
        &Baseline::new(),
        true,
        false,
    );
    assert!(plan.refused[0].reason.contains("must be approved or rejected, got \"maybe\""), "{plan:?}");
    for order in [["approved", "rejected"], ["rejected", "approved"]] {
        let rows = vec![approval("approval-1", order[0], ""), approval("approval-1", order[1], "")];
        let plan = plan_import(&sheets(rows), &shown(vec![db.clone()]), &Baseline::new(), true, false);
        assert!(plan.accepted.is_empty(), "whatever the order, neither copy decides: {:?}", plan.accepted);
        let reasons: Vec<&str> = plan.refused.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons.iter().any(|r| r.contains("hold different decisions")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("duplicate of row")), "{reasons:?}");
    }
    let agreeing = vec![approval("approval-1", "approved", ""), approval("approval-1", "approved", "")];
    let plan = plan_import(&sheets(agreeing), &shown(vec![db]), &Baseline::new(), true, false);
    assert_eq!(plan.accepted.len(), 1, "copies that agree decide once: {plan:?}");
}

#[test]
fn a_decision_counts_only_from_a_row_showing_what_atlas_exported() {
    let (one, two) = (approval("approval-1", "pending", ""), approval("approval-2", "pending", ""));
    let mut two_shown = two.clone();
    two_shown[3] = "drop table".into();
    // A human typed approval-2's ID over approval-1's row, then approved it: Item still shows approval-1's.
    let mut forged = one.clone();
    forged[0] = "approval-2".into();
    forged[4] = "approved".into();
    let plan = plan_import(
        &sheets(vec![forged, two_shown.clone()]),
        &shown(vec![one.clone(), two_shown.clone()]),
        &Baseline::new(),
        true,
        false,
    );
    assert!(plan.accepted.is_empty(), "{:?}", plan.accepted);
    assert!(
        plan.refused.iter().any(|r| r.reason.contains("duplicate of row 3") && r.reason.contains("held Status")),
        "the forged copy is removed, its typed decision named: {:?}",
        plan.refused
    );
    // Alone, the forged row decides nothing either.
    let mut forged = one.clone();
    forged[0] = "approval-2".into();
    forged[4] = "approved".into();
    let plan = plan_import(&sheets(vec![forged]), &shown(vec![one, two_shown]), &Baseline::new(), true, false);
    assert!(plan.accepted.is_empty(), "{:?}", plan.accepted);
    assert!(
        plan.refused
            .iter()
            .any(|r| r.reason.contains("does not show what Atlas exported for approval-2 (Item changed)")),
        "{:?}",
        plan.refused
    );
}

#[test]
fn a_stale_system_cell_is_no_edit_and_a_waiting_resolution_keeps_its_baseline() {
    // A run finished between cycles: the sheet still shows what Atlas last exported.
    let run = |status: &str| -> Row { ["run-1", "t", "echo", status, "s", "", "", ""].map(String::from).to_vec() };
    let tabs = [Some(vec![header(&APPROVALS)]), Some(vec![header(&RUNS), run("running")]), Some(vec![header(&ERRORS)])];
    let baseline: Baseline =
        [(("Runs".to_owned(), "run-1".to_owned(), 3u8), "running".to_owned())].into_iter().collect();
    let plan = plan_import(&tabs, &[Vec::new(), vec![run("success")], Vec::new()], &baseline, true, false);
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    let error_row = |resolution: &str| -> Row {
        ["err-1", "task", "boom", "t", "high", "false", resolution, ""].map(String::from).to_vec()
    };
    let tabs = [
        Some(vec![header(&APPROVALS)]),
        Some(vec![header(&RUNS)]),
        Some(vec![header(&ERRORS), error_row("disk cleaned")]),
    ];
    let plan = plan_import(&tabs, &[Vec::new(), Vec::new(), vec![error_row("")]], &Baseline::new(), true, false);
    assert!(plan.refused.is_empty() && plan.accepted.is_empty());
    assert_eq!(plan.waiting[2], [(1, 6)].into(), "the Resolution waits for Resolved");
}

#[test]
fn in_reviewer_mode_status_is_atlas_s_and_each_column_decides_as_its_reviewer() {
    let layout =
        Layout::new(ApprovalMode::Reviewers(vec![Reviewer { token: "alice".into(), email: "a@example.com".into() }]));
    let mut tab = vec![layout.headers(0)];
    let mut row = approval("approval-1", "pending", "");
    row.push("approved".into());
    tab.push(row);
    let mut status_typed = approval("approval-1", "approved", "");
    status_typed.push(String::new());
    let mut db = approval("approval-1", "pending", "");
    db.push(String::new());
    let drifted = HashMap::new();
    let rules = ImportRules {
        layout: &layout,
        baseline: &Baseline::new(),
        synced_before: true,
        allow_self_approval: false,
        allow_partial_payload: false,
        drifted: &drifted,
    };
    let sheets = [Some(tab), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS)])];
    let typed = [Some(vec![layout.headers(0), status_typed]), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS)])];
    let plan = super::plan_import(&typed, &[vec![db.clone()], Vec::new(), Vec::new()], &rules);
    assert!(plan.accepted.is_empty(), "{:?}", plan.accepted);
    assert!(plan.refused.iter().any(|r| r.reason.contains("Status is maintained by Atlas")), "{:?}", plan.refused);
    let plan = super::plan_import(&sheets, &[vec![db.clone()], Vec::new(), Vec::new()], &rules);
    assert_eq!(plan.accepted.len(), 1, "{:?}", plan.refused);
    assert_eq!(plan.accepted[0].actor, "alice");
    assert!(
        matches!(&plan.accepted[0].command, Command::ReviewApproval { via: Some(via), .. } if via.contains("a@example.com"))
    );
    let drifted: HashMap<usize, String> = [(8, "its protection is warning-only".to_owned())].into();
    let rules = ImportRules { drifted: &drifted, ..rules };
    let plan = super::plan_import(&sheets, &[vec![db.clone()], Vec::new(), Vec::new()], &rules);
    assert!(plan.accepted.is_empty() && plan.refused.iter().any(|r| r.reason.contains("warning-only")));
    let mut partial = db;
    partial[7] = format!("{PARTIAL_MARK}{{\"password\": \"[REDACTED]\"}}");
    let mut tab = vec![layout.headers(0)];
    let mut row = partial.clone();
    row[8] = "approved".into();
    tab.push(row);
    let sheets = [Some(tab), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS)])];
    let rules = ImportRules { drifted: &HashMap::new(), ..rules };
    let plan = super::plan_import(&sheets, &[vec![partial], Vec::new(), Vec::new()], &rules);
    assert!(
        plan.accepted.is_empty() && plan.refused.iter().any(|r| r.reason.contains("decide over HTTP")),
        "{:?}",
        plan.refused
    );
}

#[test]
fn a_formula_in_an_editable_cell_is_refused() {
    let plan = plan_import(
        &sheets(vec![approval("approval-1", "pending", "=IMPORTXML(\"http://x\")")]),
        &shown(vec![approval("approval-1", "pending", "")]),
        &Baseline::new(),
        true,
        false,
    );
    assert!(plan.accepted.is_empty());
    assert!(plan.refused[0].reason.contains("formulas are not accepted in Notes"));
}

#[test]
fn a_changed_header_skips_the_tab() {
    let mut tabs = sheets(vec![approval("approval-1", "approved", "")]);
    tabs[0].as_mut().unwrap()[0][4] = "State".into();
    tabs[1] = None;
    let plan = plan_import(&tabs, &shown(vec![approval("approval-1", "pending", "")]), &Baseline::new(), true, false);
    assert!(plan.accepted.is_empty(), "nothing is imported from a tab whose structure changed");
    assert_eq!(plan.broken_tabs.len(), 2);
    assert!(plan.broken_tabs[1].1.contains("Runs is missing"));
}

#[test]
fn resolving_needs_a_resolution_and_cannot_be_undone() {
    let error_row = |resolved: &str, resolution: &str| -> Row {
        ["err-1", "task", "boom", "t", "high", resolved, resolution, ""].map(String::from).to_vec()
    };
    let tabs = |row: Row| {
        [Some(vec![header(&APPROVALS)]), Some(vec![header(&RUNS)]), Some(vec![header(&ERRORS), row.to_vec()])]
    };
    let db = [Vec::new(), Vec::new(), vec![error_row("false", "")]];
    let plan = plan_import(&tabs(error_row("TRUE", "disk cleaned")), &db, &Baseline::new(), true, false);
    assert!(
        matches!(&plan.accepted[0].command, Command::ResolveError { resolution, .. } if resolution == "disk cleaned")
    );
    let plan = plan_import(&tabs(error_row("true", "")), &db, &Baseline::new(), true, false);
    assert!(plan.refused[0].reason.contains("write a Resolution"));
    let resolved_db = [Vec::new(), Vec::new(), vec![error_row("true", "done")]];
    let plan = plan_import(&tabs(error_row("false", "done")), &resolved_db, &Baseline::new(), true, false);
    assert!(plan.refused[0].reason.contains("cannot be reopened"));
}
