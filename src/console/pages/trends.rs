//! The charts of the Health page (everything) and a project's page (its tasks), read in one go over the
//! last 30 days.

use super::super::charts::{self, Chart};
use crate::http::gate::read;
use crate::http::{ApiError, AppState};
use atlas_actors::domain::Role;
use atlas_actors::sheets::sanitize::redact;
use atlas_actors::store::queries::charts as figures;

/// Days the charts cover.
pub const DAYS: u32 = 30;

pub async fn charts(state: &AppState, project: Option<String>, role: Role) -> Result<Vec<Chart>, ApiError> {
    let window = figures::days(figures::today(chrono::Utc::now()), DAYS);
    let whole = project.is_none();
    let (decisions, runs, mut durations, errors) = read(state, move |conn| {
        let p = project.as_deref();
        Ok((
            figures::decision_times(conn, &window, p)?,
            figures::runs_per_day(conn, &window, p)?,
            figures::duration_by_task(conn, &window, p)?,
            if whole { Some(figures::open_errors_by_day(conn, &window)?) } else { None },
        ))
    })
    .await?;
    if role == Role::Viewer {
        durations.iter_mut().for_each(|(_, title, ..)| *title = redact(title));
    }
    let mut out = vec![
        charts::decision_lines("chart-decisions", "Approval decision time per day (hours)", &decisions),
        charts::stacked_days("chart-runs", "Runs per day by outcome", &figures::OUTCOMES, &runs),
        charts::task_bars("chart-durations", "Median run duration by task (most run first)", &durations),
    ];
    if let Some(errors) = errors {
        out.push(charts::stacked_days(
            "chart-errors",
            "Open errors by severity at each day's end",
            &figures::SEVERITIES,
            &errors,
        ));
    }
    Ok(out)
}
