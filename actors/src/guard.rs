//! The handler boundary: a panic inside an actor must answer its caller and restart the actor, never leave
//! a dead address behind (actix's Supervisor restarts only after `ctx.stop()`, not after a panic).
//!
//! Every handler body runs through [`handle`]: a panic in the body is caught, recorded as the actor's last
//! error, answered with [`PanicAnswer::from_panic`], and the actor is stopped so its Supervisor restarts it.
//!
//! A restart drops every future still running on the actor's context, with the callers they would have
//! answered. So no handler answers with a future on its context: work that answers later runs
//! [`detached`], a task of its own that survives a restart of its actor, still holds the actor's turn, and
//! answers its caller whatever happens to the actor meanwhile; a panic in it answers too, is recorded, and
//! asks the actor to restart ([`Restart`]).
//!
//! Hence no actor awaits long work on its own loop (no `AtomicResponse`, no `ctx.wait`, no future on its
//! context): backup, upload, restore, Sheets sync, alert delivery and Health's checks run [`detached`].
//! "One operation at a time" is an async mutex the running task holds (the Backup `turn`, the Sheets state
//! between syncs, the Notifier's de-duplication), taken in arrival order and kept across a restart of the
//! actor. The scheduler's jobs and the runner's claims report back by message the same way. An actor thus
//! keeps beating through a backup or upload of any length, and only a blocked thread stops the watchdog.

use crate::registry::ActorRegistry;
use actix::prelude::*;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; a panic comes back as `Err(message)` instead of unwinding through actix.
pub fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload, when it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

/// A drill's panic inside a real handler body (or its future), armed by `Fault::PanicInHandler`; compiled
/// away without the `fault-injection` feature.
#[macro_export]
macro_rules! fault_point {
    ($registry:expr, $name:expr) => {{
        #[cfg(feature = "fault-injection")]
        if $registry.take_armed($name) {
            panic!("injected fault: {} panicked inside a handler body", $name);
        }
        #[cfg(not(feature = "fault-injection"))]
        let _ = (&$registry, $name);
    }};
}

/// An actor whose handlers run under the boundary.
pub trait Guarded: Actor<Context = Context<Self>> {
    const NAME: &'static str;
    fn registry(&self) -> &ActorRegistry;
}

/// What a caller gets when the handler answering it panicked.
pub trait PanicAnswer {
    fn from_panic(message: String) -> Self;
}

/// A handler's result type: a plain answer, or a detached future.
pub trait HandlerAnswer<A: Guarded>: Sized {
    /// The answer to a caller whose handler body panicked; stops the actor once the answer is on its way.
    fn after_panic(message: String, ctx: &mut Context<A>) -> Self;
}

impl<A: Guarded, T: PanicAnswer> HandlerAnswer<A> for T {
    fn after_panic(message: String, ctx: &mut Context<A>) -> Self {
        ctx.stop(); // a plain answer is sent as this handler returns, before the context stops
        T::from_panic(message)
    }
}

impl<A: Guarded, T: PanicAnswer + 'static> HandlerAnswer<A> for ResponseFuture<T> {
    fn after_panic(message: String, ctx: &mut Context<A>) -> Self {
        ctx.stop(); // a detached answer does not depend on the context
        Box::pin(std::future::ready(T::from_panic(message)))
    }
}

/// Asks an actor to restart (a detached task of its panicked): the next restart point of its context.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restart;

/// Implements [`Guarded`] (the actor keeps its `registry` field) and the [`Restart`] handler.
#[macro_export]
macro_rules! guarded_actor {
    ($actor:ty, $name:expr) => {
        impl $crate::guard::Guarded for $actor {
            const NAME: &'static str = $name;
            fn registry(&self) -> &$crate::registry::ActorRegistry {
                &self.registry
            }
        }

        impl actix::Handler<$crate::guard::Restart> for $actor {
            type Result = ();
            fn handle(&mut self, _: $crate::guard::Restart, ctx: &mut Self::Context) {
                actix::ActorContext::stop(ctx);
            }
        }
    };
}

/// Runs `work` as a task of its own (see the module doc): a restart of the actor neither cancels it nor
/// loses its answer; a panic in it answers the caller, is recorded, and restarts the actor.
pub fn detached<A, T>(
    actor: &A,
    ctx: &mut Context<A>,
    work: impl std::future::Future<Output = T> + 'static,
) -> ResponseFuture<T>
where
    A: Guarded + Handler<Restart>,
    T: PanicAnswer + 'static,
{
    use futures_util::FutureExt;
    let (address, registry) = (ctx.address(), actor.registry().clone());
    Box::pin(async move {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(answer) => answer,
            Err(payload) => {
                let panic = panic_message(payload.as_ref());
                tracing::error!(actor = A::NAME, %panic, "Detached work panicked; restarting the actor.");
                registry.failed_in_handler(A::NAME, &panic);
                address.do_send(Restart);
                T::from_panic(format!(
                    "the {} actor failed while answering ({panic}); it is restarting, try again",
                    A::NAME
                ))
            }
        }
    })
}

/// Every `every`, `round` runs as detached work (see [`detached`]) unless the previous round still holds
/// `turn`: one round at a time, a tick that finds one running is skipped, a restart cancels none.
pub fn every<A, Fut>(
    ctx: &mut Context<A>,
    every: std::time::Duration,
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    round: impl Fn(&A) -> Fut + 'static,
) where
    A: Guarded + Handler<Restart>,
    Fut: std::future::Future<Output = ()> + 'static,
{
    use actix::AsyncContext;
    ctx.run_interval(every, move |actor, ctx| {
        let Ok(held) = turn.clone().try_lock_owned() else { return };
        let work = round(actor);
        actix::spawn(detached(actor, ctx, async move {
            let _held = held;
            work.await;
        }));
    });
}

/// The one way a handler body runs: see the module doc.
pub fn handle<A, R>(actor: &mut A, ctx: &mut Context<A>, body: impl FnOnce(&mut A, &mut Context<A>) -> R) -> R
where
    A: Guarded,
    R: HandlerAnswer<A>,
{
    match catch_unwind(AssertUnwindSafe(|| body(actor, ctx))) {
        Ok(answer) => answer,
        Err(payload) => R::after_panic(record(actor, payload.as_ref()), ctx),
    }
}

/// Records the panic (the restart reports it) and says so to the caller.
fn record<A: Guarded>(actor: &A, payload: &(dyn Any + Send)) -> String {
    let panic = panic_message(payload);
    tracing::error!(actor = A::NAME, %panic, "Handler panicked; restarting the actor.");
    actor.registry().failed_in_handler(A::NAME, &panic);
    format!("the {} actor failed while answering ({panic}); it is restarting, try again", A::NAME)
}

impl PanicAnswer for () {
    fn from_panic(_: String) -> Self {}
}

impl PanicAnswer for bool {
    fn from_panic(_: String) -> Self {
        false
    }
}

impl PanicAnswer for usize {
    fn from_panic(_: String) -> Self {
        0
    }
}

impl<T> PanicAnswer for Option<T> {
    fn from_panic(_: String) -> Self {
        None
    }
}

impl<T> PanicAnswer for Vec<T> {
    fn from_panic(_: String) -> Self {
        Vec::new()
    }
}

impl<T> PanicAnswer for Result<T, crate::domain::CommandError> {
    fn from_panic(message: String) -> Self {
        Err(crate::domain::CommandError::Unavailable(message))
    }
}

impl<T> PanicAnswer for Result<T, crate::backup::BackupError> {
    fn from_panic(message: String) -> Self {
        Err(crate::backup::BackupError::Failed(message))
    }
}

impl<T> PanicAnswer for Result<T, String> {
    fn from_panic(message: String) -> Self {
        Err(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        let err = catch_panic(|| -> i32 { panic!("disk on fire {}", 1) }).unwrap_err();
        assert_eq!(err, "disk on fire 1");
    }
}
