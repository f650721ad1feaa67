//! Planned failures for drills (`fault-injection` feature, enabled only by the test suite).

/// What to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the handler that receives the fault.
    PanicNow,
    /// Panic in the middle of the next write batch, after some of its commands were applied.
    PanicInNextBatch,
}
