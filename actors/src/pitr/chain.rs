//! Which changes a restore replays onto its snapshot: the rows after the snapshot's position, in order,
//! each once (segments may overlap), stopping at the target time or at a schema migration, and refusing
//! a gap (a missing segment) rather than replaying around it.

use super::segment::Record;
use super::{PitrBase, Target};

/// Why the chain stopped where it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Every shipped change was taken.
    Shipped,
    /// The next change was committed after the target.
    Target,
    /// The next change was taken at another schema version: a migration ends the chain.
    Migration { seq: i64, schema_version: u32, committed_at: String },
}

/// The changes to replay, in order.
#[derive(Debug)]
pub struct Chain {
    pub changes: Vec<(i64, Vec<u8>)>,
    /// The last change taken (the snapshot's own position when none).
    pub through_seq: i64,
    /// Its commit time (`None` when no change was taken).
    pub through_at: Option<String>,
    pub end: End,
}

/// Walks segments in the order of their first row, taking what the chain needs.
pub struct Walker {
    schema_version: u32,
    target: Target,
    chain: Chain,
    done: bool,
}

impl Walker {
    pub fn new(base: &PitrBase, target: Target) -> Self {
        let chain = Chain { changes: Vec::new(), through_seq: base.seq, through_at: None, end: End::Shipped };
        Self { schema_version: base.schema_version, target, chain, done: false }
    }

    /// Whether a segment holding rows `first..=last` has anything the chain still needs.
    pub fn wants(&self, last: i64) -> bool {
        !self.done && last > self.chain.through_seq
    }

    /// Takes a segment's rows; an error when rows between the last one taken and these are missing.
    pub fn feed(&mut self, records: Vec<Record>) -> Result<(), String> {
        for record in records {
            if self.done {
                return Ok(());
            }
            let next = self.chain.through_seq + 1;
            if record.seq < next {
                continue;
            }
            if record.seq > next {
                return Err(format!(
                    "changes {next} to {} are missing from the bucket (a segment was lost or deleted); \
                     the chain cannot be replayed past change {}",
                    record.seq - 1,
                    self.chain.through_seq
                ));
            }
            if record.schema_version != self.schema_version {
                self.chain.end = End::Migration {
                    seq: record.seq,
                    schema_version: record.schema_version,
                    committed_at: record.committed_at,
                };
                self.done = true;
            } else if !self.target.covers(&record.committed_at) {
                self.chain.end = End::Target;
                self.done = true;
            } else {
                self.chain.through_seq = record.seq;
                self.chain.through_at = Some(record.committed_at);
                self.chain.changes.push((record.seq, record.changeset));
            }
        }
        Ok(())
    }

    /// The last row taken so far (the snapshot's position when none).
    pub fn through_seq(&self) -> i64 {
        self.chain.through_seq
    }

    pub fn finish(self) -> Chain {
        self.chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(seq: i64) -> PitrBase {
        PitrBase { timeline: "t".into(), seq, schema_version: 8, through_at: None }
    }

    fn row(seq: i64, schema_version: u32, second: u32) -> Record {
        Record {
            seq,
            schema_version,
            committed_at: format!("2026-12-01T10:00:{second:02}.000Z"),
            changeset: vec![seq as u8],
        }
    }

    fn taken(chain: &Chain) -> Vec<i64> {
        chain.changes.iter().map(|(seq, _)| *seq).collect()
    }

    #[test]
    fn overlapping_segments_give_each_row_once_and_older_rows_are_skipped() {
        let mut walker = Walker::new(&base(2), Target::Latest);
        walker.feed(vec![row(1, 8, 1), row(2, 8, 2), row(3, 8, 3)]).unwrap();
        assert!(!walker.wants(3) && walker.wants(4));
        walker.feed(vec![row(3, 8, 3), row(4, 8, 4), row(5, 8, 5)]).unwrap();
        let chain = walker.finish();
        assert_eq!(taken(&chain), [3, 4, 5]);
        assert_eq!((chain.through_seq, chain.end), (5, End::Shipped));
    }

    #[test]
    fn a_missing_segment_is_refused_not_stepped_over() {
        let mut walker = Walker::new(&base(0), Target::Latest);
        walker.feed(vec![row(1, 8, 1), row(2, 8, 2)]).unwrap();
        let refused = walker.feed(vec![row(5, 8, 5)]).unwrap_err();
        assert!(refused.contains("changes 3 to 4 are missing"), "{refused}");
        let refused = Walker::new(&base(0), Target::Latest).feed(vec![row(2, 8, 2)]).unwrap_err();
        assert!(refused.contains("changes 1 to 1"), "{refused}");
    }

    #[test]
    fn the_chain_stops_at_the_target_time() {
        let target = Target::parse("2026-12-01T10:00:03Z").unwrap();
        let mut walker = Walker::new(&base(0), target);
        walker.feed(vec![row(1, 8, 1), row(2, 8, 3), row(3, 8, 4), row(4, 8, 2)]).unwrap();
        let chain = walker.finish();
        assert_eq!(taken(&chain), [1, 2], "a prefix: row 4, though earlier by its clock, comes after row 3");
        assert_eq!(chain.end, End::Target);
        assert_eq!(chain.through_at.as_deref(), Some("2026-12-01T10:00:03.000Z"));
    }

    #[test]
    fn a_migration_ends_the_chain() {
        let mut walker = Walker::new(&base(0), Target::Latest);
        walker.feed(vec![row(1, 8, 1), row(2, 9, 2), row(3, 9, 3)]).unwrap();
        let chain = walker.finish();
        assert_eq!(taken(&chain), [1]);
        assert_eq!(
            chain.end,
            End::Migration { seq: 2, schema_version: 9, committed_at: "2026-12-01T10:00:02.000Z".into() }
        );
    }
}
