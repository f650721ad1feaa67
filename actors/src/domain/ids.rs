//! Typed identifiers. Ids are `<prefix>-<ULID>`: sortable by creation time, readable in a spreadsheet,
//! and impossible to confuse across kinds.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// One monotonic generator for the process, so "newest first" never depends on random bits.
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

fn next_ulid() -> ulid::Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh, unique id; ids made later sort after earlier ones, even within a millisecond.
            pub fn generate() -> Self {
                Self(format!("{}-{}", $prefix, next_ulid().to_string().to_lowercase()))
            }

            /// Accepts an id given by a caller; only its shape is checked, not its existence.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let valid = raw.len() <= 64
                    && !raw.is_empty()
                    && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if valid {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(format!(
                        "must be 1 to 64 characters of letters, digits, '-' or '_' (like {}-01j…), got {}",
                        $prefix,
                        $crate::domain::text::clip(raw)
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// A project's id (`project-…`).
    ProjectId,
    "project"
);
typed_id!(
    /// A task's id (`task-…`).
    TaskId,
    "task"
);
typed_id!(
    /// An approval's id (`approval-…`).
    ApprovalId,
    "approval"
);
typed_id!(
    /// A run's id (`run-…`).
    RunId,
    "run"
);
typed_id!(
    /// An Errors_Hotlist entry's id (`err-…`).
    ErrorId,
    "err"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_differ() {
        let a = ProjectId::generate();
        let b = ProjectId::generate();
        assert!(a.as_str().starts_with("project-"));
        assert_ne!(a, b);
    }

    #[test]
    fn ids_sort_in_the_order_they_were_made() {
        let ids: Vec<TaskId> = (0..1000).map(|_| TaskId::generate()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn parse_rejects_odd_characters_and_names_the_shape() {
        assert!(TaskId::parse("task-1").is_ok());
        let err = TaskId::parse("task 1; drop").unwrap_err();
        assert!(err.contains("letters, digits"), "{err}");
        assert!(TaskId::parse("").is_err());
        assert!(TaskId::parse(&"x".repeat(65)).is_err());
    }
}
