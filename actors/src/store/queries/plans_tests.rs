//! Every list query, with each combination of the filters the API offers, first page and next, is read
//! from an index in page order: no `USE TEMP B-TREE` in its plan. A new filter without its index fails here.

use super::paging::{plans, Cursor, Order, PageRequest};
use super::{approvals, events, hotlist, projects, runs, tasks};
use crate::domain::{ApprovalStatus, ItemType, ProjectId, ProjectStatus, RunStatus, Severity, TaskId, TaskStatus};
use rusqlite::Connection;

fn database() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::migrate::apply_pending(&mut conn, "2026-12-01T00:00:00.000Z").unwrap();
    conn
}

/// Both pages: the first, and one after a cursor.
fn pages() -> [PageRequest; 2] {
    let after = Cursor { at: "2026-12-01T00:00:00.000Z".into(), id: "7".into() };
    [PageRequest { limit: 100, after: None }, PageRequest { limit: 100, after: Some(after) }]
}

/// Each subset of `n` filters, as flags.
fn subsets(n: usize) -> impl Iterator<Item = Vec<bool>> {
    (0..1u32 << n).map(move |bits| (0..n).map(|i| bits & (1 << i) != 0).collect())
}

#[test]
fn every_list_query_reads_an_index_in_page_order() {
    let conn = database();
    for page in pages() {
        for on in subsets(1) {
            projects::list(&conn, on[0].then_some(ProjectStatus::Active), &page).unwrap();
        }
        for on in subsets(3) {
            let filter = tasks::TaskFilter {
                project_id: on[0].then(ProjectId::generate),
                status: on[1].then_some(TaskStatus::Todo),
                assignee: on[2].then(|| "ana".to_owned()),
            };
            tasks::list(&conn, &filter, &page).unwrap();
        }
        for on in subsets(2) {
            for order in [Order::NewestFirst, Order::OldestFirst] {
                let filter = approvals::ApprovalFilter {
                    status: on[0].then_some(ApprovalStatus::Pending),
                    item_type: on[1].then_some(ItemType::Task),
                    order,
                };
                approvals::list(&conn, &filter, &page).unwrap();
            }
            let filter =
                runs::RunFilter { task_id: on[0].then(TaskId::generate), status: on[1].then_some(RunStatus::Queued) };
            runs::list(&conn, &filter, &page).unwrap();
            for by_severity in [false, true] {
                let filter = hotlist::ErrorFilter {
                    resolved: on[0].then_some(false),
                    severity: on[1].then_some(Severity::Critical),
                    by_severity,
                };
                hotlist::list(&conn, &filter, &page).unwrap();
            }
        }
        for on in subsets(4) {
            let filter = events::EventFilter {
                aggregate_type: on[0].then(|| "task".to_owned()),
                aggregate_id: on[1].then(|| "task-1".to_owned()),
                actor: on[2].then(|| "ana".to_owned()),
                event_type: on[3].then(|| "task_created".to_owned()),
            };
            events::list(&conn, &filter, &page).unwrap();
        }
    }
    let seen = plans::take();
    assert_eq!(
        seen.len(),
        2 * (2 + 8 + 4 * 4 + 4 + 16),
        "every query was planned (approvals in both orders, errors in both)"
    );
    let sorted: Vec<String> = seen
        .iter()
        .filter(|(_, plan)| plan.contains("TEMP B-TREE"))
        .map(|(sql, plan)| format!("{sql}\n    -> {plan}"))
        .collect();
    assert!(sorted.is_empty(), "list queries that sort their whole filtered set:\n{}", sorted.join("\n"));
}
