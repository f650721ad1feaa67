//! The Notifier actor: takes what is firing (from Health), de-duplicates, and delivers to every channel.
//! One evaluation at a time, so two checks never announce the same alert twice; deliveries run off the
//! actor's loop, so a slow channel never stops its heartbeat.

use super::channels::{self, Channel};
use super::{Dedupe, Kind};
use crate::domain::{Actor as Requester, Command};
use crate::registry::{names, ActorRegistry};
use crate::store::WriterHandle;
use actix::prelude::*;
use actix::Supervisor;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct AlertsConfig {
    pub channels: Vec<Channel>,
    /// A firing alert is sent again at most this often until it clears.
    pub repeat_every: chrono::Duration,
    /// Per send.
    pub timeout: Duration,
    /// Named in every message (defaults to the machine's host name).
    pub host: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            channels: Vec::new(),
            repeat_every: chrono::Duration::hours(1),
            timeout: Duration::from_secs(10),
            host: "atlas".into(),
        }
    }
}

/// What a round of evaluation did: `"FIRING key"`, `"RESOLVED key"`, … per notice delivered, and failures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delivery {
    pub sent: Vec<String>,
    pub failed: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "Delivery")]
struct Evaluate {
    firing: BTreeMap<String, String>,
    now: chrono::DateTime<chrono::Utc>,
}

struct Notifier {
    config: AlertsConfig,
    dedupe: Dedupe,
    http: reqwest::Client,
    writer: WriterHandle,
    registry: ActorRegistry,
    /// Held from choosing the notices until they are marked delivered.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl crate::guard::Guarded for Notifier {
    const NAME: &'static str = names::NOTIFIER;
    fn registry(&self) -> &ActorRegistry {
        &self.registry
    }
}

impl crate::guard::PanicAnswer for Delivery {
    fn from_panic(message: String) -> Self {
        Self { sent: Vec::new(), failed: vec![message] }
    }
}

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(Notifier);

impl Actor for Notifier {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::NOTIFIER, ctx);
    }
}

impl actix::Supervised for Notifier {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::NOTIFIER, None);
    }
}

impl Handler<Evaluate> for Notifier {
    type Result = ResponseActFuture<Self, Delivery>;

    fn handle(&mut self, evaluate: Evaluate, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle_future(self, ctx, |actor, _| {
            let turn = actor.turn.clone();
            async move { turn.lock_owned().await }.into_actor(actor).then(move |turn, actor, _| {
                actor.deliver(evaluate).map(move |delivery, _, _| {
                    drop(turn);
                    delivery
                })
            })
        })
    }
}

impl Notifier {
    /// Chooses what is new, due again or cleared, sends it to every channel, and marks what was handled.
    fn deliver(&mut self, Evaluate { firing, now }: Evaluate) -> impl ActorFuture<Self, Output = Delivery> {
        crate::fault_point!(self.registry, names::NOTIFIER);
        let notices = self.dedupe.evaluate(&firing, now, self.config.repeat_every);
        let (config, http, writer) = (self.config.clone(), self.http.clone(), self.writer.clone());
        let work = async move {
            let mut results = Vec::new();
            for notice in notices {
                let mut delivered = false;
                let mut errors = Vec::new();
                for channel in &config.channels {
                    match channels::send(channel, &notice, &config.host, &http, config.timeout).await {
                        Ok(()) => delivered = true,
                        Err(why) => errors.push(why),
                    }
                }
                // The audit trail answers "what alerted last night?" (and whether anyone was told).
                let record = Command::RecordAlert {
                    key: notice.key.clone(),
                    kind: notice.kind.verb().to_owned(),
                    detail: notice.detail.clone(),
                    delivered,
                };
                if let Err(err) = writer.submit(record, Requester::new("notifier")).await {
                    tracing::warn!(error = %err, "Could not audit an alert.");
                }
                // With no channel there is nobody to retry for: the audit event is the whole delivery.
                let handled = delivered || config.channels.is_empty();
                results.push((notice, handled, errors));
            }
            results
        };
        work.into_actor(self).map(move |results, actor, _| {
            let mut delivery = Delivery::default();
            for (notice, handled, errors) in results {
                let line = format!("{} {}", notice.kind.label(), notice.key);
                if notice.kind == Kind::Resolved {
                    tracing::info!(alert = %notice.key, "Alert resolved.");
                } else {
                    tracing::warn!(alert = %notice.key, detail = %notice.detail, kind = notice.kind.label(), "Alert.");
                }
                for why in &errors {
                    tracing::error!(alert = %notice.key, error = %why, "Alert delivery failed.");
                }
                if handled {
                    actor.dedupe.delivered(&notice.key, now);
                    delivery.sent.push(line);
                } else {
                    delivery.failed.extend(errors);
                }
            }
            delivery
        })
    }
}

/// The only door to the Notifier.
#[derive(Clone)]
pub struct NotifierHandle {
    addr: Addr<Notifier>,
}

impl NotifierHandle {
    pub fn start(config: AlertsConfig, writer: WriterHandle, registry: ActorRegistry) -> Self {
        let http = reqwest::Client::builder().timeout(config.timeout).build().unwrap_or_default();
        let turn = Arc::default();
        let addr =
            Supervisor::start(move |_| Notifier { config, dedupe: Dedupe::default(), http, writer, registry, turn });
        Self { addr }
    }

    /// Sends what is new, due again or cleared.
    pub async fn evaluate(
        &self,
        firing: BTreeMap<String, String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, String> {
        self.addr.send(Evaluate { firing, now }).await.map_err(|err| format!("the notifier is not running ({err})"))
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        let _ = self.addr.send(crate::fault::Inject(fault)).await;
    }

    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}
