//! The Notifier actor: takes what is firing (from Health), de-duplicates, and delivers it where the
//! routes send alerts and approval reminders (`notify/`); once a second it also looks at the audit trail
//! for news to tell (`notify/tail.rs`). One evaluation and one look at a time, so two checks never
//! announce the same alert twice; deliveries run off the actor's loop, so a slow channel never stops its
//! heartbeat. Each notice is also an audit event (`Record::Alert`: `alert.fired`, `alert.reminded`,
//! `alert.resolved`), with whether a target took it.

use super::{Dedupe, Kind, REMINDER_PREFIX};
use crate::domain::Record;
use crate::domain::{Actor as Requester, Command};
use crate::notify::links::LinkKey;
use crate::notify::tail::{self, Feed};
use crate::notify::teller::Teller;
use crate::notify::Kind as News;
use crate::registry::{names, ActorRegistry};
use crate::store::ReaderPool;
use crate::store::WriterHandle;
use actix::prelude::*;
use actix::Supervisor;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct AlertsConfig {
    /// The channels, the routes and the reviewers' addresses (`notify/`).
    pub notify: crate::notify::NotifyConfig,
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
            notify: crate::notify::NotifyConfig::default(),
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
    config: Arc<AlertsConfig>,
    /// What was announced when; locked from choosing the notices until they are marked delivered, by
    /// the evaluation's detached task (one evaluation at a time, surviving a restart of the actor).
    dedupe: Arc<tokio::sync::Mutex<Dedupe>>,
    http: reqwest::Client,
    writer: WriterHandle,
    readers: ReaderPool,
    key: LinkKey,
    /// The feed's look, one at a time (a slow channel makes the next look wait, not overlap).
    feed: Arc<tokio::sync::Mutex<Feed>>,
    stopping: Arc<AtomicBool>,
    registry: ActorRegistry,
}

crate::guarded_actor!(Notifier, names::NOTIFIER);

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
        ctx.run_interval(FEED_EVERY, |_, ctx| ctx.notify(Tail));
    }
}

impl actix::Supervised for Notifier {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::NOTIFIER, None);
    }
}

impl Notifier {
    fn teller(&self) -> Teller {
        Teller {
            config: self.config.clone(),
            http: self.http.clone(),
            writer: self.writer.clone(),
            readers: self.readers.clone(),
            key: self.key.clone(),
            stopping: self.stopping.clone(),
        }
    }
}

/// How often the Notifier looks at the audit trail for news (`notify/feed.rs`).
const FEED_EVERY: Duration = Duration::from_secs(1);

/// A look at the audit trail's news.
#[derive(Message)]
#[rtype(result = "()")]
struct Tail;

impl Handler<Tail> for Notifier {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Tail, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| {
            let (teller, feed) = (actor.teller(), actor.feed.clone());
            let work = async move {
                // A look still going (a slow channel) is not overlapped: this one is skipped.
                let Ok(mut feed) = feed.try_lock() else { return };
                tail::look(&teller, &mut feed, chrono::Utc::now()).await;
            };
            crate::guard::detached(actor, ctx, work)
        })
    }
}

impl Handler<Evaluate> for Notifier {
    type Result = ResponseFuture<Delivery>;

    fn handle(&mut self, evaluate: Evaluate, ctx: &mut Context<Self>) -> Self::Result {
        crate::guard::handle(self, ctx, |actor, ctx| {
            let work = deliver(
                actor.dedupe.clone(),
                actor.teller(),
                {
                    let registry = actor.registry.clone();
                    move || crate::fault_point!(registry, names::NOTIFIER)
                },
                evaluate,
            );
            crate::guard::detached(actor, ctx, work)
        })
    }
}

/// Chooses what is new, due again or cleared, sends it to every channel, and marks what was handled.
async fn deliver(
    dedupe: Arc<tokio::sync::Mutex<Dedupe>>,
    tell: Teller,
    fault_point: impl FnOnce(),
    Evaluate { firing, now }: Evaluate,
) -> Delivery {
    let mut dedupe = dedupe.lock().await;
    fault_point();
    let notices = dedupe.evaluate(&firing, now, tell.config.repeat_every);
    let mut delivery = Delivery::default();
    for notice in notices {
        let kind = if notice.key.starts_with(REMINDER_PREFIX) { News::ApprovalReminder } else { News::Alert };
        let targets = tell.config.notify.targets(kind);
        let mut delivered = false;
        let mut errors = Vec::new();
        for target in &targets {
            match tell.notice(target, &notice, kind, now).await {
                Ok(()) => delivered = true,
                Err(mut why) => errors.append(&mut why),
            }
        }
        // The audit trail answers "what alerted last night?" (and whether anyone was told).
        let record = Command::Record(Record::Alert {
            key: notice.key.clone(),
            kind: notice.kind.verb().to_owned(),
            detail: notice.detail.clone(),
            delivered,
        });
        if let Err(err) = tell.writer.submit(record, Requester::new("notifier")).await {
            tracing::warn!(error = %err, "Could not audit an alert.");
        }
        let line = format!("{} {}", notice.kind.label(), notice.key);
        if notice.kind == Kind::Resolved {
            tracing::info!(alert = %notice.key, "Alert resolved.");
        } else {
            tracing::warn!(alert = %notice.key, detail = %notice.detail, kind = notice.kind.label(), "Alert.");
        }
        for why in &errors {
            tracing::error!(alert = %notice.key, error = %why, "Alert delivery failed.");
        }
        // With no channel there is nobody to retry for: the audit event is the whole delivery.
        if delivered || targets.is_empty() {
            dedupe.delivered(&notice.key, now);
            delivery.sent.push(line);
        } else {
            delivery.failed.extend(errors);
        }
    }
    delivery
}

/// The only door to the Notifier.
#[derive(Clone)]
pub struct NotifierHandle {
    addr: Addr<Notifier>,
    feed: Arc<tokio::sync::Mutex<Feed>>,
    stopping: Arc<AtomicBool>,
}

impl NotifierHandle {
    /// Fails when the HTTP client cannot be made as configured (a default one would drop the timeout).
    pub fn start(
        config: AlertsConfig,
        writer: WriterHandle,
        readers: ReaderPool,
        key: LinkKey,
        registry: ActorRegistry,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|err| format!("the alerts' HTTP client could not be made: {err}"))?;
        let (config, dedupe) = (Arc::new(config), Arc::default());
        let (feed, stopping): (Arc<tokio::sync::Mutex<Feed>>, Arc<AtomicBool>) = Default::default();
        let handle_parts = (feed.clone(), stopping.clone());
        let addr = Supervisor::start(move |_| Notifier {
            config,
            dedupe,
            http,
            writer,
            readers,
            key,
            feed,
            stopping,
            registry,
        });
        Ok(Self { addr, feed: handle_parts.0, stopping: handle_parts.1 })
    }

    /// For a stop: no send begins from now on; waits (at most `within`) for the sends in flight to end,
    /// so what they sent is remembered before the writer closes.
    pub async fn drain(&self, within: Duration) {
        self.stopping.store(true, Ordering::Release);
        if tokio::time::timeout(within, self.feed.lock()).await.is_err() {
            tracing::warn!("A notification still being sent at the stop may be sent again after the restart.");
        }
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
