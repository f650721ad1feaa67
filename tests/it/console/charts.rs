//! Charts are checked by their data: the table under each chart equals a query over the audit events
//! (decision times) or the records (runs, errors), and the SVG draws one shape per number it shows.

use super::visitor::sign_in;
use crate::api::Team;
use serde_json::json;

/// The rows of the numbers table under chart `id`.
fn table_of(page: &str, id: &str) -> Vec<Vec<String>> {
    let figure =
        &page[page.find(&format!("<figure class=\"chart\" id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"))..];
    let figure = &figure[..figure.find("</figure>").unwrap()];
    let body = &figure[figure.find("<tbody>").unwrap()..];
    let cell = regex::Regex::new(r"<td>([^<]*)</td>").unwrap();
    body.split("<tr>").skip(1).map(|row| cell.captures_iter(row).map(|c| c[1].to_owned()).collect()).collect()
}

fn svg_of<'a>(page: &'a str, id: &str) -> &'a str {
    let figure = &page[page.find(&format!("<figure class=\"chart\" id=\"{id}\"")).unwrap()..];
    &figure[..figure.find("</svg>").unwrap()]
}

#[actix_rt::test]
async fn each_chart_s_numbers_equal_a_query_over_the_events_and_records() {
    // A clock of the writer's own, two days back, moved between request and decision: waits of hours.
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::support::test_settings(&dir);
    let clock = atlas_actors::domain::ManualClock::new(chrono::Utc::now() - chrono::Duration::days(2));
    let app = crate::support::TestApp::spawn_with_clock(dir, settings, std::sync::Arc::new(clock.clone())).await;
    let team = Team::with_app(app).await;
    let project = team.project("Platform").await;
    let ok = team.task(&project, "works", Some(vec!["true"])).await;
    let bad = team.task(&project, "breaks", Some(vec!["false"])).await;
    for task in [&ok, &ok, &bad] {
        team.run_to_end(task).await;
    }
    for (hours, title) in [(1, "one"), (2, "two"), (5, "three")] {
        let body = json!({ "project_id": project, "title": title });
        let (_, asked) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
        clock.advance(chrono::Duration::hours(hours));
        let decide = if title == "two" { "reject" } else { "approve" };
        let path = format!("/api/v1/approvals/{}/{decide}", asked["id"].as_str().unwrap());
        assert_eq!(team.call("POST", &path, &team.approver, None).await.0, 200);
    }
    let admin = sign_in(&team.app.url, &team.admin).await;
    let (_, health) = admin.get("/console/health").await;
    let conn = crate::support::open_read_only(&team.app.db_path());
    let ran_on = crate::support::count(&conn, "SELECT count(DISTINCT substr(completed_at, 1, 10)) FROM runs");
    assert_eq!(ran_on, 1, "the runs ended on one day of the writer's clock");
    let day: String = conn.query_row("SELECT substr(max(completed_at), 1, 10) FROM runs", [], |r| r.get(0)).unwrap();

    // Runs per day by outcome, against a GROUP BY over the runs table.
    let runs = table_of(&health, "chart-runs");
    assert_eq!(runs.len(), 30, "every one of the 30 days is a row");
    let mut counted = [0i64; 4];
    for (i, outcome) in ["success", "failed", "timed_out", "cancelled"].iter().enumerate() {
        let sql =
            format!("SELECT count(*) FROM runs WHERE status = '{outcome}' AND substr(completed_at, 1, 10) = '{day}'");
        counted[i] = crate::support::count(&conn, &sql);
    }
    let row = runs.iter().find(|r| r[0] == day).expect("the runs' day is charted");
    assert_eq!(row[1..].iter().map(|c| c.parse::<i64>().unwrap()).collect::<Vec<_>>(), counted);
    assert!(counted[0] >= 2 && counted[1] >= 1, "the data set is not empty: {counted:?}");
    assert_eq!(svg_of(&health, "chart-runs").matches("<rect ").count(), counted.iter().filter(|c| **c > 0).count());

    // Decision time per day, against the audit events: each decision's event minus its request's event.
    let waits: Vec<(String, f64)> = conn
        .prepare(
            "SELECT substr(d.created_at, 1, 10), (julianday(d.created_at) - julianday(r.created_at)) * 86400.0 \
             FROM events d JOIN events r ON r.aggregate_id = d.aggregate_id AND r.type = 'approval.requested' \
             WHERE d.type IN ('approval.approved', 'approval.rejected')",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(waits.iter().filter(|(_, s)| *s >= 3599.0).count() == 3, "three waits of hours: {waits:?}");
    let decisions = table_of(&health, "chart-decisions");
    let days: std::collections::BTreeSet<&String> = waits.iter().map(|(d, _)| d).collect();
    assert_eq!(decisions.len(), days.len(), "one row per day with a decision: {decisions:?}");
    for row in &decisions {
        let mut of_day: Vec<f64> = waits.iter().filter(|(d, _)| *d == row[0]).map(|(_, s)| *s).collect();
        of_day.sort_by(f64::total_cmp);
        // Nearest rank, as the chart computes it: the ⌈q·n⌉-th smallest.
        let rank = |q: f64| of_day[((q * of_day.len() as f64).ceil() as usize).clamp(1, of_day.len()) - 1];
        assert_eq!(row[1], of_day.len().to_string(), "{row:?}");
        let (median, p90): (f64, f64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        assert!((median - rank(0.5)).abs() < 0.06, "median {median} vs the events' {}", rank(0.5));
        assert!((p90 - rank(0.9)).abs() < 0.06, "p90 {p90} vs the events' {}", rank(0.9));
    }
    assert!(svg_of(&health, "chart-decisions").contains("<polyline class=\"series-p90\""));

    // Open errors by severity: the failed run's hotlist entry is open today.
    let errors = table_of(&health, "chart-errors");
    let open_today: i64 = errors.last().unwrap()[1..].iter().map(|c| c.parse::<i64>().unwrap()).sum();
    assert_eq!(open_today, crate::support::count(&conn, "SELECT count(*) FROM errors WHERE resolved = 0"));
    assert!(open_today >= 1);

    // Duration by task on the project's page: each task with its number of runs.
    let (_, page) = admin.get(&format!("/console/projects/{project}")).await;
    let durations = table_of(&page, "chart-durations");
    let runs_of = |title: &str| durations.iter().find(|r| r[0] == title).map(|r| r[1].clone());
    assert_eq!((runs_of("works").as_deref(), runs_of("breaks").as_deref()), (Some("2"), Some("1")), "{durations:?}");
    assert!(!page.contains("id=\"chart-errors\""), "errors are not a project's");
}
