//! The `/metrics` exposition, encoded by prometheus-client (OpenMetrics text): HTTP requests by route,
//! method and status with latency buckets (recorded by a middleware, kept across scrapes), and the values
//! read at scrape time from the writer's counters, the actor registry, the database and the backup
//! directory (registered into a registry made for that scrape).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    route: String,
    method: String,
    status: u16,
}

/// HTTP request series keyed by (route pattern, method, status). Routes are patterns (`/api/v1/tasks/{id}`),
/// never raw paths, so the number of series stays bounded.
pub struct HttpMetrics {
    requests: Family<Request, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self { requests: Family::new_with_constructor(|| Histogram::new(BUCKETS)) }
    }
}

impl HttpMetrics {
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let request = Request { route: route.to_owned(), method: method.to_owned(), status };
        self.requests.get_or_create(&request).observe(seconds);
    }
}

/// Labels of one sample: `[("actor", "writer")]`.
pub type Labels = Vec<(&'static str, String)>;

/// Whether a value only goes up (a counter: its sample is named `…_total`) or moves both ways.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One scrape's exposition.
#[derive(Default)]
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    /// A metric with one sample per label set. Whole numbers are written as such (`3`, not `3.0`).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str, samples: &[(Labels, f64)]) {
        let help = help.trim_end_matches('.'); // prometheus-client ends each help with its own full stop
        let whole = samples.iter().all(|(_, v)| v.fract() == 0.0 && v.abs() < 9.0e15);
        match (kind, whole) {
            (Kind::Counter, true) => {
                let family = Family::<Labels, Counter<u64>>::default();
                for (labels, value) in samples {
                    family.get_or_create(labels).inc_by(value.max(0.0) as u64);
                }
                self.registry.register(name.trim_end_matches("_total"), help, family);
            }
            (Kind::Counter, false) => {
                let family = Family::<Labels, Counter<f64, AtomicU64>>::default();
                for (labels, value) in samples {
                    family.get_or_create(labels).inc_by(value.max(0.0));
                }
                self.registry.register(name.trim_end_matches("_total"), help, family);
            }
            (Kind::Gauge, true) => {
                let family = Family::<Labels, Gauge<i64>>::default();
                for (labels, value) in samples {
                    family.get_or_create(labels).set(*value as i64);
                }
                self.registry.register(name, help, family);
            }
            (Kind::Gauge, false) => {
                let family = Family::<Labels, Gauge<f64, AtomicU64>>::default();
                for (labels, value) in samples {
                    family.get_or_create(labels).set(*value);
                }
                self.registry.register(name, help, family);
            }
        }
    }

    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help, &[(Vec::new(), value)]);
    }

    pub fn http(&mut self, metrics: &HttpMetrics) {
        let help = "HTTP requests by route, method and status";
        self.registry.register("atlas_http_request_duration_seconds", help, metrics.requests.clone());
    }

    pub fn finish(self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
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
        out.single("atlas_writer_batches_total", Kind::Counter, "Batches.", 3.0);
        out.family("atlas_actor_up", Kind::Gauge, "Up.", &[(vec![("actor", "a\"b\\c".into())], 1.0)]);
        let text = out.finish();
        let labels = "route=\"/api/v1/tasks/{id}\",method=\"GET\",status=\"200\"";
        for (le, n) in [("0.001", 0), ("0.005", 1), ("0.25", 2), ("+Inf", 2)] {
            let bucket = format!("atlas_http_request_duration_seconds_bucket{{le=\"{le}\",{labels}}} {n}\n");
            assert!(text.contains(&bucket), "{le}: {text}");
        }
        assert!(text.contains("# HELP atlas_writer_batches Batches.\n"), "one full stop: {text}");
        assert!(text.contains("atlas_writer_batches_total 3\n"), "{text}");
        assert!(text.contains("atlas_actor_up{actor=\"a\\\"b\\\\c\"} 1\n"), "escaped: {text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
