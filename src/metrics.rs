//! Prometheus text exposition: HTTP requests by route, method and status with latency buckets (recorded
//! by a middleware), and gauges read at scrape time from the writer's counters, the actor registry, the
//! database and the backup directory. Written by hand: the format is small and the labels are few.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// HTTP request series keyed by (route pattern, method, status). Routes are patterns (`/api/v1/tasks/{id}`),
/// never raw paths, so the number of series stays bounded.
#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl HttpMetrics {
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = series.entry((route.to_owned(), method.to_owned(), status)).or_default();
        entry.count += 1;
        entry.sum += seconds;
        let slot = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        entry.buckets[slot] += 1;
    }

    fn render(&self, out: &mut Exposition) {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner()).clone();
        out.help("atlas_http_request_duration_seconds", "histogram", "HTTP requests by route, method and status.");
        for ((route, method, status), s) in series {
            let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", escape(&route));
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i];
                out.line(
                    &format!("atlas_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}}"),
                    cumulative as f64,
                );
            }
            out.line(&format!("atlas_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}"), s.count as f64);
            out.line(&format!("atlas_http_request_duration_seconds_sum{{{labels}}}"), s.sum);
            out.line(&format!("atlas_http_request_duration_seconds_count{{{labels}}}"), s.count as f64);
        }
    }
}

/// Label values escaped as the text format requires.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The text being built.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn help(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn line(&mut self, series: &str, value: f64) {
        let _ = writeln!(self.text, "{series} {value}");
    }

    /// A metric with one sample per label set.
    pub fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
        self.help(name, kind, help);
        for (labels, value) in samples {
            if labels.is_empty() {
                self.line(name, *value);
            } else {
                self.line(&format!("{name}{{{labels}}}"), *value);
            }
        }
    }

    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help, &[(String::new(), value)]);
    }

    pub fn http(&mut self, metrics: &HttpMetrics) {
        metrics.render(self);
    }

    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_its_bucket_and_the_histogram_is_cumulative() {
        let metrics = HttpMetrics::default();
        metrics.record("/api/v1/tasks/{id}", "GET", 200, 0.003);
        metrics.record("/api/v1/tasks/{id}", "GET", 200, 0.2);
        let mut out = Exposition::default();
        out.http(&metrics);
        let text = out.finish();
        let labels = "route=\"/api/v1/tasks/{id}\",method=\"GET\",status=\"200\"";
        assert!(
            text.contains(&format!("atlas_http_request_duration_seconds_bucket{{{labels},le=\"0.001\"}} 0\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("atlas_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("atlas_http_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 2\n")),
            "{text}"
        );
        assert!(text.contains(&format!("atlas_http_request_duration_seconds_count{{{labels}}} 2\n")), "{text}");
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
