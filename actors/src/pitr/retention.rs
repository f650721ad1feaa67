//! Which segments may go: a segment is kept while some kept snapshot of its timeline still needs it
//! (holds rows after the snapshot's position). A timeline with no kept snapshot (one abandoned by a
//! restore, or the current one before its first snapshot) keeps its segments for `pitr.keep_days`.

use super::segment;
use super::PitrBase;
use chrono::{DateTime, Utc};

/// The segment names (relative to the prefix) no kept snapshot needs.
pub fn unneeded(
    segments: &[(String, DateTime<Utc>)],
    bases: &[PitrBase],
    current_timeline: &str,
    cutoff: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, modified) in segments {
        let Some((_, last)) = segment::span(name) else { continue };
        let Some(timeline) = name.strip_prefix("pitr/").and_then(|rest| rest.split('/').next()) else { continue };
        let mut kept = bases.iter().filter(|base| base.timeline == timeline).peekable();
        let needed = if kept.peek().is_none() {
            timeline == current_timeline || *modified > cutoff
        } else {
            kept.any(|base| last > base.seq)
        };
        if !needed {
            out.push(name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(timeline: &str, seq: i64) -> PitrBase {
        PitrBase { timeline: timeline.into(), seq, schema_version: 8, through_at: None }
    }

    #[test]
    fn a_segment_goes_once_every_kept_snapshot_of_its_timeline_holds_it() {
        let now = Utc::now();
        let old = now - chrono::Duration::days(30);
        let segments = vec![
            (segment::name("a", 1, 10), old),
            (segment::name("a", 11, 20), old),
            (segment::name("a", 21, 30), now),
            (segment::name("gone", 1, 5), old),
            (segment::name("gone", 6, 9), now),
            (segment::name("new", 1, 3), old),
            ("pitr/a/readme.txt".to_owned(), old),
        ];
        let bases = [base("a", 20), base("a", 25)];
        let cutoff = now - chrono::Duration::days(7);
        let deleted = unneeded(&segments, &bases, "new", cutoff);
        assert_eq!(
            deleted,
            [segment::name("a", 1, 10), segment::name("a", 11, 20), segment::name("gone", 1, 5)],
            "a's 21-30 is needed by the snapshot at 20; a timeline without snapshots keeps keep_days; \
             the current one keeps all"
        );
    }
}
