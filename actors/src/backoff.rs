//! One backoff schedule for every retry loop: a Sheets call (`sheets/client.rs`), point-in-time shipping
//! (`pitr/ship.rs`) and a sink delivery (`sinks/`). It is backon's exponential schedule: the first wait,
//! doubled after each failure in a row, capped; with jitter where several callers may fail together and
//! should not come back in step (Google asks for it in its APIs' retry guidance).

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: bool,
}

impl Backoff {
    /// Waits `first` after one failure, twice that after two, …, never more than `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max, jitter: false }
    }

    /// Adds up to one more wait at random to each (backon's jitter).
    pub const fn with_jitter(self) -> Self {
        Self { jitter: true, ..self }
    }

    /// The wait after `failures` failures in a row (1 = the first); any count is answered, none panics.
    pub fn after(&self, failures: u32) -> Duration {
        let mut schedule =
            ExponentialBuilder::default().with_min_delay(self.first).with_max_delay(self.max).without_max_times();
        if self.jitter {
            schedule = schedule.with_jitter();
        }
        // Past 64 doublings every wait is the cap anyway.
        let nth = failures.saturating_sub(1).min(64) as usize;
        schedule.build().nth(nth).unwrap_or(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_first_to_the_cap_for_any_count() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(3600));
        let waits: Vec<u64> = [1, 2, 3, 6, 13, 41, u32::MAX].iter().map(|&n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 32, 3600, 3600, 3600]);
        assert_eq!(backoff.after(0), Duration::from_secs(1), "no failure yet waits the first wait");
    }

    #[test]
    fn jitter_adds_at_most_one_wait() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).with_jitter();
        for failures in 1..8 {
            let plain = Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).after(failures);
            let wait = backoff.after(failures);
            assert!(wait >= plain && wait <= plain * 2, "{failures}: {wait:?} against {plain:?}");
        }
    }
}
