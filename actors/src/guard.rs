//! The handler boundary: a panic inside an actor must answer its caller and restart the actor, never leave
//! a dead address behind (actix's Supervisor restarts only after `ctx.stop()`, not after a panic).
//!
//! Every handler body runs through [`handle`]: a panic in the body, or later while the future it returned
//! is polled ([`Watched`]), is caught, recorded as the actor's last error, answered with
//! [`PanicAnswer::from_panic`], and the actor is stopped so its Supervisor restarts it.

use crate::registry::ActorRegistry;
use actix::prelude::*;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

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

/// A handler's result type: plain answers pass through, futures are watched while they run.
pub trait HandlerAnswer<A: Guarded>: Sized {
    /// The answer to a caller whose handler body panicked; stops the actor once the answer is on its way.
    fn after_panic(message: String, ctx: &mut Context<A>) -> Self;
    fn watched(self) -> Self;
}

impl<A: Guarded, T: PanicAnswer> HandlerAnswer<A> for T {
    fn after_panic(message: String, ctx: &mut Context<A>) -> Self {
        ctx.stop(); // a plain answer is sent as this handler returns, before the context stops
        T::from_panic(message)
    }
    fn watched(self) -> Self {
        self
    }
}

impl<A: Guarded, T: PanicAnswer + 'static> HandlerAnswer<A> for ResponseActFuture<A, T> {
    fn after_panic(message: String, _: &mut Context<A>) -> Self {
        // A future answer stopped now would be dropped unsent: stop as it is polled, it is sent right after.
        Box::pin(actix::fut::ready(T::from_panic(message)).map(|answer, _, ctx: &mut Context<A>| {
            ctx.stop();
            answer
        }))
    }
    fn watched(self) -> Self {
        Box::pin(Watched(self))
    }
}

/// The one way a handler body runs: see the module doc.
pub fn handle<A, R>(actor: &mut A, ctx: &mut Context<A>, body: impl FnOnce(&mut A, &mut Context<A>) -> R) -> R
where
    A: Guarded,
    R: HandlerAnswer<A>,
{
    match catch_unwind(AssertUnwindSafe(|| body(actor, ctx))) {
        Ok(answer) => answer.watched(),
        Err(payload) => R::after_panic(record(actor, payload.as_ref()), ctx),
    }
}

/// [`handle`] for a body that answers later: its future is boxed and watched.
pub fn handle_future<A, T, F>(
    actor: &mut A,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut A, &mut Context<A>) -> F,
) -> ResponseActFuture<A, T>
where
    A: Guarded,
    T: PanicAnswer + 'static,
    F: ActorFuture<A, Output = T> + 'static,
{
    handle(actor, ctx, |actor, ctx| -> ResponseActFuture<A, T> { Box::pin(body(actor, ctx)) })
}

/// Records the panic (the restart reports it) and says so to the caller.
fn record<A: Guarded>(actor: &A, payload: &(dyn Any + Send)) -> String {
    let panic = panic_message(payload);
    tracing::error!(actor = A::NAME, %panic, "Handler panicked; restarting the actor.");
    actor.registry().failed_in_handler(A::NAME, &panic);
    format!("the {} actor failed while answering ({panic}); it is restarting, try again", A::NAME)
}

/// A handler's future, polled under the boundary (work continues on the actor's context after `handle`).
struct Watched<A: Actor, T>(ResponseActFuture<A, T>);

impl<A: Guarded, T: PanicAnswer> ActorFuture<A> for Watched<A, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, actor: &mut A, ctx: &mut Context<A>, task: &mut std::task::Context) -> Poll<T> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(actor, ctx, task))) {
            Ok(poll) => poll,
            Err(payload) => {
                let answer = T::from_panic(record(actor, payload.as_ref()));
                ctx.stop(); // the answer is sent as this poll returns, before the context stops
                Poll::Ready(answer)
            }
        }
    }
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
