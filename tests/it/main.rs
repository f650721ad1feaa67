//! One integration-test binary (one link step) with a module per area.
//!
//! No mocks of Atlas's own parts. Google Sheets is a fake speaking its REST protocol, each modelled
//! behaviour traced to Google's documentation in `support/fake_sheets/mod.rs`; every Sheet test runs twice
//! (`sheet_test!`), with the owner listed among every range's editors as Google documents, and without.
//! S3 is moto's server; alert receivers are local HTTP and SMTP servers; systemd's notify socket is a real
//! datagram socket. `first_look.rs` runs the binary as the README tells a newcomer (empty directory, no
//! config, no flags) and fires every default job.
// Tests open the database files from outside, as an attacker, a damaged disk or an operator's sqlite3
// would: the rule that Atlas opens them only through `store::open` is for Atlas.
#![allow(clippy::disallowed_methods)]

/// A Sheet test, run twice: against a fake that lists the spreadsheet's owner among every protected
/// range's editors, as Google documents, and against one that does not (the fake's first version).
macro_rules! sheet_test {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use crate::support::fake_sheets::{under, EditorModel};

            $(#[$meta])*
            async fn body() $body

            #[actix_rt::test]
            async fn owner_listed_as_google_documents() {
                under(EditorModel::Google, body()).await
            }

            #[actix_rt::test]
            async fn owner_unlisted() {
                under(EditorModel::OwnerUnlisted, body()).await
            }
        }
    };
}

pub mod api;
mod attacks_detached;
mod attacks_ops;
mod attacks_restarts_storage;
mod attribution;
mod backup;
mod cli;
mod config_file;
pub mod console;
mod containment;
mod first_look;
mod health;
mod invariants;
mod long_work;
mod metrics;
mod notify;
mod offsite;
mod operations;
mod outcomes;
mod panic_drills;
mod pitr;
mod probes;
mod restore_crash;
mod runner;
mod scheduler;
mod secrets;
mod sheets;
mod sinks;
mod storage_faults;
pub mod supervision;
mod support;
pub mod writer;
