//! Pure domain types: ids, records, the closed command enum and its validation. Nothing here knows about
//! actors, SQLite or HTTP, so it can be read and tested on its own.

pub mod clock;
pub mod command;
pub mod entities;
pub mod error;
pub mod ids;

pub use clock::{format_timestamp, Clock, ManualClock, SystemClock};
pub use command::{
    Actor, Applied, Command, CommandOutcome, NewProject, NewTask, ProjectPatch, TaskPatch,
};
pub use entities::{Project, ProjectStatus, Task, TaskStatus};
pub use error::CommandError;
pub use ids::{ProjectId, TaskId};
