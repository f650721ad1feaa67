//! Work on the writer's connection that is not a command: maintenance people ask for (audited, in their
//! name) and the writer's own bookkeeping for the shipper and the sinks (not audited, for the reasons
//! given on [`Bookkeeping`]). Both run after everything already queued, so neither overtakes an
//! acknowledged order of commands, and both are refused like any write on a damaged database.

use super::{Checkpointer, WriterActor};
use crate::domain::Record;
use crate::domain::{format_timestamp, Actor, Command, CommandError};
use crate::registry::names;
use actix::prelude::*;
use rusqlite::Connection;
use std::sync::atomic::Ordering;

/// Database maintenance a person asks for. SQLite runs neither inside a transaction, so its audit event
/// (`db.maintained`, in the asker's name, with what it did) is written in the writer's same turn, right
/// after it: no command can come between, and a request whose event cannot be written fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maintenance {
    /// `PRAGMA wal_checkpoint(TRUNCATE)`: fold the WAL into the database file.
    Checkpoint,
    /// `VACUUM`: rebuild the file, returning free pages to the disk.
    Vacuum,
}

impl Maintenance {
    /// The `action` its audit event records.
    pub fn name(self) -> &'static str {
        match self {
            Self::Checkpoint => "checkpoint",
            Self::Vacuum => "vacuum",
        }
    }
}

/// The writer's own bookkeeping for other actors. Not audited, on purpose: each would feed itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bookkeeping {
    /// Drop the outbox rows up to `through_seq`, confirmed off-site, if the database is still on
    /// `timeline` (a restore in between forked it, and its rows are not the ones shipped). An audit event
    /// would itself be a change to ship, forever.
    TrimOutbox { timeline: String, through_seq: i64 },
    /// A sink delivery's outcome (`store/sinks.rs`). An event about a delivery would itself be an event
    /// to deliver.
    SinkOutcome(crate::store::sinks::Outcome),
    /// The Notifier has told people about every event up to this id. An event about it would be one
    /// more to read.
    NotifyCursor(i64),
    /// A recipient took an event's news (`notify_sent`), so a retry or a restart skips it.
    NotifySent { event_id: i64, target: String },
}

#[derive(Message)]
#[rtype(result = "Result<String, CommandError>")]
pub(super) struct Maintain(pub Maintenance, pub Actor);

#[derive(Message)]
#[rtype(result = "Result<String, CommandError>")]
pub(super) struct KeepBooks(pub Bookkeeping);

impl WriterActor {
    /// Applies everything queued first; refused like a write on a damaged database.
    fn drain(&mut self, ctx: &mut Context<Self>) -> Result<(), CommandError> {
        while !self.pending.is_empty() {
            self.flush(ctx);
        }
        self.storage.refusal().map_or(Ok(()), Err)
    }

    fn connection(&self) -> Result<&Connection, CommandError> {
        self.conn.as_ref().ok_or_else(|| CommandError::Unavailable("the writer has no database connection".into()))
    }

    fn maintain(&mut self, what: Maintenance, by: Actor, ctx: &mut Context<Self>) -> Result<String, CommandError> {
        let failed = |err: rusqlite::Error| super::super::storage::classify(&err);
        self.drain(ctx)?;
        let _busy = self.registry.busy(names::WRITER, what.name());
        // The background checkpointer waits meanwhile: a PASSIVE pass under way would make a TRUNCATE
        // checkpoint answer "busy" (seen in CI) and leave the WAL as it was.
        let _still = self.checkpointer.as_ref().map(Checkpointer::hold_still);
        let conn = self.connection()?;
        let detail = match what {
            Maintenance::Checkpoint => conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })
                .map(|(busy, log, done)| format!("checkpoint: busy {busy}, {log} WAL frames, {done} checkpointed"))
                .map_err(failed)?,
            Maintenance::Vacuum => {
                let pages = |c: &Connection| c.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0));
                let before = pages(conn).map_err(failed)?;
                conn.execute_batch("VACUUM").map_err(failed)?;
                self.stats.wal_writes.fetch_add(1, Ordering::Relaxed);
                let after = pages(conn).map_err(failed)?;
                format!("vacuum: {before} pages before, {after} after")
            }
        };
        let audit = Command::Record(Record::Maintenance { action: what.name().to_owned(), detail: detail.clone() });
        let now = format_timestamp(self.clock.now());
        let capture = self.config.capture_changes;
        let mut results = super::apply_batch(conn, &[(&audit, &by)], &now, false, capture).map_err(failed)?;
        self.stats.wal_writes.fetch_add(1, Ordering::Relaxed);
        results.pop().unwrap_or_else(|| Err(CommandError::Storage("the audit was not written".into())))?;
        Ok(detail)
    }

    fn keep_books(&mut self, what: Bookkeeping, ctx: &mut Context<Self>) -> Result<String, CommandError> {
        let failed = |err: rusqlite::Error| super::super::storage::classify(&err);
        self.drain(ctx)?;
        let conn = self.connection()?;
        match what {
            Bookkeeping::TrimOutbox { timeline, through_seq } => conn
                .prepare_cached(
                    "DELETE FROM pitr_outbox WHERE seq <= ?1
                       AND (SELECT timeline FROM pitr_timeline WHERE id = 1) = ?2",
                )
                .and_then(|mut trim| trim.execute(rusqlite::params![through_seq, timeline]))
                .map(|rows| format!("{rows} outbox rows trimmed"))
                .map_err(failed),
            Bookkeeping::SinkOutcome(outcome) => crate::store::sinks::record(conn, &outcome).map_err(failed),
            Bookkeeping::NotifyCursor(last) => conn
                .prepare_cached(
                    "INSERT INTO notify_cursor (id, last_event_id) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id)",
                )
                .and_then(|mut keep| keep.execute([last]))
                .and_then(|_| conn.prepare_cached("DELETE FROM notify_sent WHERE event_id <= ?1")?.execute([last]))
                .map(|_| format!("notified through event {last}"))
                .map_err(failed),
            Bookkeeping::NotifySent { event_id, target } => conn
                .prepare_cached("INSERT OR IGNORE INTO notify_sent (event_id, target) VALUES (?1, ?2)")
                .and_then(|mut keep| keep.execute(rusqlite::params![event_id, target]))
                .map(|_| format!("event {event_id} told to {target}"))
                .map_err(failed),
        }
    }
}

impl Handler<Maintain> for WriterActor {
    type Result = Result<String, CommandError>;

    fn handle(&mut self, Maintain(what, by): Maintain, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| actor.maintain(what, by, ctx))
    }
}

impl Handler<KeepBooks> for WriterActor {
    type Result = Result<String, CommandError>;

    fn handle(&mut self, KeepBooks(what): KeepBooks, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| actor.keep_books(what, ctx))
    }
}
