//! Charts drawn on the server as SVG (no script, nothing inline for the CSP to refuse: colours come from
//! classes in `console.css`), each with its numbers as a table one click away. Built by hand rather than
//! with a plotting crate: four simple shapes (stacked day bars, day lines, task bars) need only geometry,
//! and askama then escapes every label like any other text.

#[cfg(test)]
use atlas_actors::store::queries::charts::OUTCOMES;
use chrono::NaiveDate;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room on the left for the scale and below for the day labels.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 20.0;

pub struct Rect {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub class: String,
    /// What the bar is, for a hover and a screen reader.
    pub label: String,
}

pub struct Line {
    pub points: String,
    pub class: String,
}

pub struct Tick {
    pub at: String,
    pub label: String,
}

/// One chart: its shapes, scale, legend, and the table of the numbers drawn.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub view: String,
    pub rects: Vec<Rect>,
    pub lines: Vec<Line>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub legend: Vec<(String, String)>,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn num(value: f64) -> String {
    format!("{value:.1}")
}

/// A number as the table shows it: whole as such, else one decimal.
pub fn figure(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A scale top at or above `max` that reads well (1, 2, 5 × 10ⁿ).
fn nice_top(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|top| *top >= max).unwrap_or(10.0 * power)
}

fn frame(id: &str, title: &str, top: f64, unit: &str) -> Chart {
    let plot = HEIGHT - BOTTOM;
    let y_ticks = [0.0, 0.5, 1.0]
        .iter()
        .map(|f| Tick { at: num(plot - f * (plot - 8.0)), label: format!("{}{unit}", figure(top * f)) })
        .collect();
    Chart {
        id: id.into(),
        title: title.into(),
        view: format!("0 0 {WIDTH} {HEIGHT}"),
        rects: Vec::new(),
        lines: Vec::new(),
        y_ticks,
        x_ticks: Vec::new(),
        legend: Vec::new(),
        head: Vec::new(),
        rows: Vec::new(),
    }
}

fn y_of(value: f64, top: f64) -> f64 {
    let plot = HEIGHT - BOTTOM;
    plot - value / top * (plot - 8.0)
}

fn day_ticks(days: &[NaiveDate], step: f64) -> Vec<Tick> {
    let every = (days.len() / 6).max(1);
    days.iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, d)| Tick { at: num(LEFT + step * (i as f64 + 0.5)), label: d.format("%m-%d").to_string() })
        .collect()
}

/// Counts per day stacked by series (runs by outcome, open errors by severity).
pub fn stacked_days(id: &str, title: &str, series: &[&str], data: &[(NaiveDate, [u64; 4])]) -> Chart {
    let max = data.iter().map(|(_, c)| c.iter().sum::<u64>()).max().unwrap_or(0) as f64;
    let top = nice_top(max);
    let mut chart = frame(id, title, top, "");
    let step = (WIDTH - LEFT) / data.len().max(1) as f64;
    for (i, (day, counts)) in data.iter().enumerate() {
        let mut base = 0.0;
        for (s, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let (y0, y1) = (y_of(base, top), y_of(base + *count as f64, top));
            chart.rects.push(Rect {
                x: num(LEFT + step * i as f64 + 1.0),
                y: num(y1),
                w: num((step - 2.0).max(1.0)),
                h: num(y0 - y1),
                class: format!("series-{}", series[s]),
                label: format!("{day}: {count} {}", series[s]),
            });
            base += *count as f64;
        }
    }
    chart.x_ticks = day_ticks(&data.iter().map(|(d, _)| *d).collect::<Vec<_>>(), step);
    chart.legend = series.iter().map(|s| (format!("series-{s}"), s.replace('_', " "))).collect();
    chart.head = std::iter::once("day".to_owned()).chain(series.iter().map(|s| (*s).to_owned())).collect();
    chart.rows = data
        .iter()
        .map(|(d, c)| std::iter::once(d.to_string()).chain(c.iter().map(u64::to_string)).collect())
        .collect();
    chart
}

/// Approval decision time per day: the median and p90 as lines (days with no decision are gaps).
pub fn decision_lines(id: &str, title: &str, data: &[(NaiveDate, usize, f64, f64)]) -> Chart {
    let hours = |s: f64| s / 3600.0;
    let max = data.iter().map(|(_, _, _, p90)| hours(*p90)).fold(0.0, f64::max);
    let top = nice_top(max);
    let mut chart = frame(id, title, top, " h");
    let step = (WIDTH - LEFT) / data.len().max(1) as f64;
    for (class, pick) in [("series-median", 2usize), ("series-p90", 3)] {
        let mut points = Vec::new();
        for (i, (_, decided, median, p90)) in data.iter().enumerate() {
            if *decided == 0 {
                continue;
            }
            let value = if pick == 2 { *median } else { *p90 };
            points.push(format!("{},{}", num(LEFT + step * (i as f64 + 0.5)), num(y_of(hours(value), top))));
        }
        if !points.is_empty() {
            chart.lines.push(Line { points: points.join(" "), class: class.into() });
        }
    }
    chart.x_ticks = day_ticks(&data.iter().map(|(d, ..)| *d).collect::<Vec<_>>(), step);
    chart.legend = vec![("series-median".into(), "median".into()), ("series-p90".into(), "p90".into())];
    chart.head = ["day", "decided", "median (s)", "p90 (s)"].map(String::from).to_vec();
    chart.rows = data
        .iter()
        .filter(|(_, decided, ..)| *decided > 0)
        .map(|(d, n, median, p90)| vec![d.to_string(), n.to_string(), figure(*median), figure(*p90)])
        .collect();
    chart
}

/// Median run duration by task, one horizontal bar each.
pub fn task_bars(id: &str, title: &str, data: &[(String, String, usize, f64)]) -> Chart {
    let max = data.iter().map(|(_, _, _, median)| *median).fold(0.0, f64::max);
    let top = nice_top(max);
    let mut chart = frame(id, title, top, " s");
    chart.y_ticks.clear();
    let row = 18.0;
    let height = (row * data.len() as f64 + 8.0).max(40.0);
    chart.view = format!("0 0 {WIDTH} {height}");
    let left = 200.0;
    for (i, (_, name, runs, median)) in data.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        chart.x_ticks.push(Tick { at: num(y + 12.0), label: name.chars().take(30).collect() });
        chart.rects.push(Rect {
            x: num(left),
            y: num(y + 2.0),
            w: num((median / top * (WIDTH - left - 60.0)).max(1.0)),
            h: num(row - 4.0),
            class: "series-duration".into(),
            label: format!("{name}: median {} s over {runs} runs", figure(*median)),
        });
    }
    chart.head = ["task", "runs", "median (s)"].map(String::from).to_vec();
    chart.rows = data.iter().map(|(_, name, n, m)| vec![name.clone(), n.to_string(), figure(*m)]).collect();
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_end_on_round_numbers() {
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(7.0), 10.0);
        assert_eq!(nice_top(13.0), 20.0);
        assert_eq!(nice_top(0.3), 0.5);
    }

    #[test]
    fn stacked_bars_stack_and_the_table_holds_the_counts() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let chart = stacked_days("c", "t", &OUTCOMES, &[(day, [3, 1, 0, 0])]);
        assert_eq!(chart.rects.len(), 2, "no bar for a zero");
        assert_eq!(chart.rows, [["2026-12-01", "3", "1", "0", "0"]]);
        let (a, b): (f64, f64) = (chart.rects[0].y.parse().unwrap(), chart.rects[1].y.parse().unwrap());
        assert!(b < a, "the second series sits on the first");
    }
}
