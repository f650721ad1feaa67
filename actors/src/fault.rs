//! Planned failures for drills (`fault-injection` feature, enabled only by the test suite).
//! `panic_on_inject!` gives an actor the standard drill handler; `Fault::PanicInHandler` arms the
//! `fault_point!`s (`guard.rs`) placed in each actor's real handler bodies, compiled away without the feature.

/// What to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the handler that receives the fault.
    PanicNow,
    /// Panic in the next real handler body (or its future) that passes a `fault_point!`.
    PanicInHandler,
    /// Panic in the middle of the next write batch, after some of its commands were applied.
    PanicInNextBatch,
    /// Block the actor's thread this long (a stuck handler: no heartbeat, no answers).
    Stall(std::time::Duration),
}

/// The drill message for actors without special faults.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Inject(pub Fault);

/// Implements `Handler<Inject>` for a [`crate::guard::Guarded`] actor: `PanicNow` panics under the
/// handler boundary, `PanicInHandler` arms the actor's fault points, `Stall` blocks its thread.
#[macro_export]
macro_rules! panic_on_inject {
    ($actor:ty) => {
        impl actix::Handler<$crate::fault::Inject> for $actor {
            type Result = ();

            fn handle(&mut self, $crate::fault::Inject(fault): $crate::fault::Inject, ctx: &mut Self::Context) {
                use $crate::guard::Guarded;
                $crate::guard::handle(self, ctx, |actor, _| match fault {
                    $crate::fault::Fault::Stall(duration) => std::thread::sleep(duration),
                    $crate::fault::Fault::PanicInHandler | $crate::fault::Fault::PanicInNextBatch => {
                        actor.registry().arm_panic(<$actor>::NAME)
                    }
                    $crate::fault::Fault::PanicNow => panic!("injected fault: {} {fault:?}", <$actor>::NAME),
                })
            }
        }
    };
}
