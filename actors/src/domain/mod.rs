//! Pure domain types: ids, records, the closed command enum and its validation, the approval state
//! machine, roles and the approval policy. Nothing here knows about actors, SQLite or HTTP.

#[macro_use]
mod macros;

pub mod access;
pub mod approval;
pub mod clock;
pub mod command;
pub mod entities;
pub mod env;
pub mod error;
pub mod hotlist;
pub mod ids;
pub mod policy;
pub mod run;
pub mod schedule;
pub mod secret;
pub mod text;

pub use access::{token_hash, ApiToken, Permission, Role};
pub use approval::{Approval, ApprovalStatus, ItemAction, ItemType, Note};
pub use clock::{format_timestamp, parse_timestamp, Clock, ManualClock, SystemClock};
pub use command::{
    Actor, Applied, Command, CommandOutcome, NewProject, NewTask, ProjectPatch, Record, Restored, RunCommand,
    SheetCommand, TaskPatch,
};
pub use entities::{Project, ProjectStatus, Task, TaskStatus};
pub use env::{EnvValue, RunEnv};
pub use error::CommandError;
pub use hotlist::{HotlistError, Severity};
pub use ids::{ApprovalId, ErrorId, ProjectId, RunId, TaskId};
pub use policy::{ApprovalPolicy, Quorum};
pub use run::{Run, RunStatus, RunStep, RunStepError};
pub use secret::Secret;
