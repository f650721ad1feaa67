//! The writer's side of a restore: holding writes while a restore catches up, and the file swap itself
//! (`Replace`), after which the restored database takes commands again.
//!
//! Held writes are refused, not queued: `HoldWrites` commits what is already queued, then every command is
//! answered `Restoring` (HTTP 503 `restoring`, `Retry-After: 1`) until `Replace` swaps the copy in, or
//! `ReleaseWrites` ends a failed restore or a drill. A queue would hold callers for the whole catch-up with
//! no bound; a 503 with `Retry-After` is what every client of the API already retries. The restore's event
//! (`Restored`) is written in the transaction that opens the restored file to commands, so no held write
//! comes before it; that transaction also fails the restored database's queued and running runs, except one
//! this very process spawned whose leader still lives (its runner records its real end). If it cannot be
//! written, the swap rolls back.

use super::*;
use crate::domain::{Record, RunCommand};

/// Replaces the database file with `with` (a verified plain copy in the same directory) while the
/// writer holds everything queued; reopens and migrates; puts the original back if that fails.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub(super) struct Replace {
    pub(super) with: std::path::PathBuf,
    /// Makes the safety backup of the closed database (everything acknowledged is in it) and returns its
    /// id; it is complete, fsynced and listed before the swap begins.
    pub(super) safety: SafetyBackup,
    /// Who asked and what, recorded in the restored database (with the safety backup's id) in the
    /// transaction that opens it to commands: no restore serves without its event.
    pub(super) record: (Actor, Restored),
}

/// From now until the next `Replace` (or `ReleaseWrites`), commands are refused as `Restoring`: a restore
/// to `latest` takes its "latest" here, so nothing acknowledged afterwards goes into the file it replaces.
/// What was queued before is committed first.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct HoldWrites(pub String);

/// Ends a `HoldWrites` whose restore did not swap (it failed, or was a drill).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct ReleaseWrites;

/// Makes a complete, listed backup of the database file at the path given; returns its id.
pub type SafetyBackup = Box<dyn FnOnce(&std::path::Path) -> Result<String, String> + Send>;

impl WriterActor {
    /// The restore's file swap, crash-safe at every instant (see `swap`). Returns the safety backup's id.
    fn replace(
        &mut self,
        with: std::path::PathBuf,
        safety: SafetyBackup,
        (by, mut restored): (Actor, Restored),
        ctx: &mut Context<Self>,
    ) -> Result<String, String> {
        while !self.pending.is_empty() {
            self.flush(ctx);
        }
        let _busy = self.registry.busy(names::WRITER, "restore");
        let db = self.config.path.clone();
        // Nothing but this actor touches the file from here until it is reopened, whichever one it is.
        let _still = self.checkpointer.as_ref().map(Checkpointer::hold_still);
        if let Some(conn) = self.conn.take() {
            // Everything acknowledged goes into the file itself, checked: a partial fold is no base for a swap.
            let folded: Result<(i64, i64, i64), String> = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|err| err.to_string());
            match folded {
                Ok((0, _, _)) => {}
                other => {
                    self.conn = Some(conn);
                    return Err(format!("cannot fold the WAL into the database ({other:?}); nothing was restored"));
                }
            }
            if let Err((conn, err)) = conn.close() {
                self.conn = Some(conn);
                return Err(format!("cannot close the database before the restore: {err}; nothing was restored"));
            }
        }
        let migrate = self.storage.refusal().is_none();
        let reopen_original = |actor: &mut Self| match open_existing(&actor.config, actor.clock.as_ref(), migrate) {
            Ok(conn) => actor.conn = Some(conn),
            Err(fatal) => actor.registry.escalate(
                names::WRITER,
                format!("cannot reopen the original database after a failed restore: {fatal}"),
            ),
        };
        let safety_id = match safety(&db) {
            Ok(id) => id,
            Err(err) => {
                reopen_original(self);
                return Err(format!("cannot take the safety backup, nothing was restored: {err}"));
            }
        };
        restored.safety_backup = safety_id.clone();
        let now = format_timestamp(self.clock.now());
        // Before any command is taken again, in one transaction: the runs the backup held as queued or
        // running are marked never run, and the restore itself is recorded. Either fails, the swap rolls back.
        let recorded = |conn: Connection| {
            let record = Command::Record(Record::Restore(restored));
            apply_together(
                &conn,
                &[(&Command::Run(RunCommand::InterruptRestored), &Actor::system()), (&record, &by)],
                &now,
            )
            .map(|()| conn)
            .map_err(|err| format!("cannot record the restore in the restored database: {err}"))
        };
        let swapped = crate::store::swap::swap_in(&db, &with, &safety_id)
            .and_then(|()| open_existing(&self.config, self.clock.as_ref(), true))
            .and_then(recorded);
        match swapped {
            Ok(conn) => {
                self.stats.wal_writes.fetch_add(1, Ordering::Relaxed);
                self.conn = Some(conn);
                self.storage.restored();
                self.stats.tokens_generation.fetch_add(1, Ordering::Release); // the restored file's tokens
                if let Err(err) = crate::store::swap::finish(&db) {
                    // A marker left behind would roll this restore back at the next start.
                    self.registry.escalate(names::WRITER, format!("the restore could not be completed: {err}"));
                    return Err(format!("the restore could not be completed: {err}"));
                }
                tracing::warn!(database = %db.display(), safety = %safety_id, "Database replaced by a restore.");
                Ok(safety_id)
            }
            Err(why) => {
                if let Err(fatal) = crate::store::swap::roll_back(&db) {
                    self.registry.escalate(names::WRITER, fatal.clone());
                    return Err(format!("the restore failed ({why}) and the original could not be put back: {fatal}"));
                }
                reopen_original(self);
                Err(format!("the restore failed and the original database is back in place: {why}"))
            }
        }
    }
}

impl Handler<Replace> for WriterActor {
    type Result = Result<String, String>;

    fn handle(&mut self, Replace { with, safety, record }: Replace, ctx: &mut Context<Self>) -> Self::Result {
        // Swapped or not, the database that serves from here takes commands again.
        crate::guard::handle(self, ctx, |actor, ctx| {
            let swapped = actor.replace(with, safety, record, ctx);
            actor.held = None;
            swapped
        })
    }
}

impl Handler<HoldWrites> for WriterActor {
    type Result = ();

    fn handle(&mut self, HoldWrites(why): HoldWrites, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, ctx| {
            while !actor.pending.is_empty() {
                actor.flush(ctx);
            }
            actor.held = Some(why);
        })
    }
}

impl Handler<ReleaseWrites> for WriterActor {
    type Result = ();

    fn handle(&mut self, _: ReleaseWrites, ctx: &mut Context<Self>) {
        crate::guard::handle(self, ctx, |actor, _| actor.held = None)
    }
}
