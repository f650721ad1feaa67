//! The Housekeeper actor: upkeep jobs on Atlas's own records, run by the scheduler. Today the approval
//! sweep: closing as superseded the pending approvals that can never apply (on every configuration), and
//! expiring those left pending longer than `approvals.expire_after_h` (when it is set).

use crate::domain::{format_timestamp, Actor as Requester, Applied, Clock, Command};
use crate::registry::{names, ActorRegistry};
use crate::scheduler::RunJob;
use crate::store::WriterHandle;
use actix::prelude::*;
use actix::Supervisor;
use std::sync::Arc;

/// The job names this actor owns.
pub const APPROVAL_EXPIRY: &str = "approval_expiry";

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HousekeepingConfig {
    /// Pending approvals older than this expire; `None` keeps them pending.
    pub approval_expire_after: Option<chrono::Duration>,
}

struct Housekeeper {
    config: HousekeepingConfig,
    writer: WriterHandle,
    clock: Arc<dyn Clock>,
    registry: ActorRegistry,
}

crate::guarded_actor!(Housekeeper, names::HOUSEKEEPER);

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(Housekeeper);

impl Actor for Housekeeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::HOUSEKEEPER, ctx);
    }
}

impl actix::Supervised for Housekeeper {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::HOUSEKEEPER, None);
    }
}

impl Handler<RunJob> for Housekeeper {
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, RunJob { job, by }: RunJob, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| crate::guard::detached(actor, ctx, actor.sweep(job, by)))
    }
}

impl Housekeeper {
    /// The sweep, recorded under `by` (`scheduler`, or whoever ran the job now).
    fn sweep(&self, job: &'static str, by: Requester) -> impl std::future::Future<Output = Result<String, String>> {
        let (writer, after, now) = (self.writer.clone(), self.config.approval_expire_after, self.clock.now());
        let registry = self.registry.clone();
        async move {
            crate::fault_point!(registry, names::HOUSEKEEPER);
            if job != APPROVAL_EXPIRY {
                return Err(format!("the housekeeper does not own job {job}"));
            }
            // Without expiry the cutoff is "": nothing was requested before it, and the sweep still closes
            // the approvals that can never apply.
            let cutoff = after.map(|after| format_timestamp(now - after)).unwrap_or_default();
            let sweep = Command::ExpireApprovals { requested_before: cutoff };
            match (writer.submit(sweep, by).await.map_err(|err| err.to_string())?.applied, after) {
                (Applied::Expired(count), Some(_)) => Ok(format!("expired {count} approval(s)")),
                (_, None) => {
                    Ok("closed what can never apply; approvals never expire (approvals.expire_after_h = 0)".into())
                }
                _ => Ok("done".into()),
            }
        }
    }
}

/// The housekeeper's door: the `RunJob` recipient the scheduler sends to.
#[derive(Clone)]
pub struct HousekeeperHandle {
    addr: Addr<Housekeeper>,
}

impl HousekeeperHandle {
    pub fn start(
        config: HousekeepingConfig,
        writer: WriterHandle,
        clock: Arc<dyn Clock>,
        registry: ActorRegistry,
    ) -> Self {
        Self { addr: Supervisor::start(move |_| Housekeeper { config, writer, clock, registry }) }
    }

    pub fn jobs(&self) -> Recipient<RunJob> {
        self.addr.clone().recipient()
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}
