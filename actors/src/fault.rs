//! Planned failures for drills (`fault-injection` feature, enabled only by the test suite).

/// What to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the handler that receives the fault.
    PanicNow,
    /// Panic in the middle of the next write batch, after some of its commands were applied.
    PanicInNextBatch,
    /// Block the writer's thread this long (a stuck handler: no heartbeat, no answers). Other actors panic.
    Stall(std::time::Duration),
}

/// The drill message for actors without special faults: any fault is a panic in the handler, caught at
/// the boundary and turned into `ctx.stop()` so the Supervisor restarts the actor.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Inject(pub Fault);

/// Implements `Handler<Inject>` for an actor (`Context<Self>`): the panic is caught, kept in `$keep`
/// when given (for `restarting()` to report), and the actor stopped so its Supervisor restarts it.
#[macro_export]
macro_rules! panic_on_inject {
    ($actor:ty, $name:expr $(, $keep:ident)?) => {
        impl actix::Handler<$crate::fault::Inject> for $actor {
            type Result = ();

            fn handle(&mut self, $crate::fault::Inject(fault): $crate::fault::Inject, ctx: &mut Self::Context) {
                if let Err(panic) = $crate::guard::catch_panic(|| panic!("injected fault: {} {fault:?}", $name)) {
                    tracing::warn!(actor = $name, %panic, "Handler panicked; restarting the actor.");
                    $(self.$keep = Some(panic);)?
                    actix::ActorContext::stop(ctx);
                }
            }
        }
    };
}
