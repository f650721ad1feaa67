//! Event sinks (`[[sinks]]`): the domain events a sink subscribes to are delivered to its URL, signed,
//! in order per aggregate, at least once. The writer's routing (`store/sinks.rs`) puts a delivery row in
//! `sink_outbox` in each matching event's own transaction; this actor (`queue.rs` picks what is due,
//! `deliver.rs` posts it) sends up to `concurrency` deliveries of different aggregates at once (each
//! aggregate's in order), counts an attempt before it is sent (so one a crash cuts counts too), marks a
//! row delivered only on a 2xx, retries with exponential backoff (1 s doubling, at most an hour) or when
//! the receiver's `Retry-After` says, dead-letters it after `max_attempts`, and stops delivering to a sink
//! whose receiver answers 410 Gone until an admin enables it. Outcomes are writer maintenance, not
//! commands: an event about a delivery would be one more event to deliver.

pub mod deliver;
pub mod queue;

use crate::backoff::Backoff;
use crate::domain::{format_timestamp, Clock};
use crate::registry::{names, ActorRegistry};
use crate::store::sinks::{Outcome, SinkRoute};
use crate::store::{Bookkeeping, ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How often the queue is looked at.
const EVERY: Duration = Duration::from_secs(1);
const MAX_BACKOFF_S: i64 = 3600;

/// One `[[sinks]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkConfig {
    pub name: String,
    pub url: String,
    /// Event-type globs (`approval.*`, `*`).
    pub events: Vec<String>,
    /// The signing keys: the first signs `X-Atlas-Signature`, each signs `webhook-signature` (two while
    /// one is rotated out).
    pub keys: Vec<deliver::SigningKey>,
    /// Whether deliveries also carry the `X-Atlas-*` headers.
    pub atlas_headers: bool,
    pub max_attempts: u32,
    pub timeout: Duration,
    /// Deliveries (of different aggregates) in flight at once.
    pub concurrency: usize,
}

impl SinkConfig {
    pub fn route(&self) -> SinkRoute {
        SinkRoute { sink: self.name.clone(), events: self.events.clone() }
    }
}

/// The wait before attempt `attempts + 1`: 1 s doubling, at most an hour (`crate::backoff`).
pub fn backoff(attempts: i64) -> chrono::Duration {
    let schedule =
        Backoff::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(MAX_BACKOFF_S as u64));
    let failures = u32::try_from(attempts.saturating_add(1)).unwrap_or(u32::MAX);
    chrono::Duration::from_std(schedule.after(failures)).unwrap_or(chrono::Duration::seconds(MAX_BACKOFF_S))
}

/// How often a round looks at the queue again while it awaits answers (a slow one must not hold back
/// the other aggregates' deliveries).
const TOP_UP_EVERY: Duration = Duration::from_millis(250);

/// A round goes on while it delivers, up to this long: an aggregate's backlog drains in one round instead
/// of one delivery a second.
const ROUND_BUDGET: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Work {
    sink: Arc<SinkConfig>,
    readers: ReaderPool,
    writer: WriterHandle,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl Work {
    /// One round of this sink (each sink has its own, so a slow receiver delays only itself): up to
    /// `concurrency` deliveries in flight, each of a different aggregate (the queue hands out only each
    /// aggregate's oldest), topped up from the queue when half have ended and every `TOP_UP_EVERY` while
    /// one is awaited, so a slow answer holds back only its own aggregate. Nothing new is begun once a
    /// receiver answers 410 Gone, nor past the budget once nothing is in flight; the round ends when
    /// nothing is in flight and nothing is due.
    async fn round(&self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let started = std::time::Instant::now();
        let concurrency = self.sink.concurrency.max(1);
        let gone = AtomicBool::new(false);
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        // The outbox rows in flight: one taking longer than its retry wait is due again meanwhile.
        let mut busy = std::collections::HashSet::new();
        let mut ticked = false;
        loop {
            let may_begin = !gone.load(Ordering::SeqCst) && (started.elapsed() < ROUND_BUDGET || !in_flight.is_empty());
            // Not a read of the queue per delivery: when half the room is free, or a tick went by.
            if may_begin && in_flight.len() < concurrency && (ticked || in_flight.len() <= concurrency / 2) {
                let at = format_timestamp(self.clock.now());
                let sink = self.sink.name.clone();
                match self.readers.read(move |conn| queue::due(conn, &sink, &at)).await {
                    Ok(due) => {
                        let room = concurrency - in_flight.len();
                        let fresh: Vec<queue::Due> =
                            due.into_iter().filter(|d| !busy.contains(&d.id)).take(room).collect();
                        for delivery in fresh {
                            busy.insert(delivery.id);
                            let gone = &gone;
                            in_flight.push(async move {
                                self.attempt(&delivery, gone).await;
                                delivery.id
                            });
                        }
                    }
                    Err(err) => {
                        tracing::warn!(sink = %self.sink.name, error = %err, "Cannot read the sink deliveries waiting.");
                        if in_flight.is_empty() {
                            return;
                        }
                    }
                }
            }
            // With room left, the queue is looked at again shortly even while answers are awaited.
            let room = may_begin && in_flight.len() < concurrency;
            let ended = if room && !in_flight.is_empty() {
                tokio::select! {
                    ended = in_flight.next() => ended.map(Some),
                    _ = tokio::time::sleep(TOP_UP_EVERY) => Some(None),
                }
            } else {
                in_flight.next().await.map(Some)
            };
            ticked = matches!(ended, Some(None));
            match ended {
                Some(Some(id)) => {
                    busy.remove(&id);
                }
                Some(None) => {}
                None => return,
            }
        }
    }

    /// One attempt: counted, sent, its outcome recorded through the writer; none once `gone` is set.
    async fn attempt(&self, delivery: &queue::Due, gone: &std::sync::atomic::AtomicBool) {
        use std::sync::atomic::Ordering;
        if gone.load(Ordering::SeqCst) {
            return;
        }
        let sink = &self.sink;
        let attempts = delivery.attempts + 1;
        let dead = attempts >= i64::from(sink.max_attempts);
        if attempts > i64::from(sink.max_attempts) {
            // Its last attempt was cut short (a crash, a stop): it used what it was given.
            let error = "every attempt was used (the last was cut short by a stop)".to_owned();
            tracing::error!(sink = %sink.name, delivery = %delivery.delivery_id, %error, "A sink delivery is dead-lettered.");
            let at = format_timestamp(self.clock.now());
            let outcome = Outcome::Failed { id: delivery.id, error, retry_at: at.clone(), dead: true, at };
            self.record(outcome).await;
            return;
        }
        let retry_at = format_timestamp(self.clock.now() + backoff(attempts - 1));
        if !self.record(Outcome::Started { id: delivery.id, retry_at }).await {
            return;
        }
        if gone.load(Ordering::SeqCst) {
            // Counted a moment ago; given back, as a 410's own attempt is.
            let at = format_timestamp(self.clock.now());
            let error = "not sent: the receiver answered 410 Gone to another delivery".to_owned();
            self.record(Outcome::Gone { id: delivery.id, sink: sink.name.clone(), error, at }).await;
            return;
        }
        let now = self.clock.now();
        let signing = deliver::Signing { keys: &sink.keys, atlas_headers: sink.atlas_headers };
        let sent = deliver::post(&self.http, &sink.url, &signing, delivery, sink.timeout, now).await;
        let at = format_timestamp(self.clock.now());
        let outcome = match sent {
            Ok(()) => Outcome::Delivered { id: delivery.id, at },
            Err(deliver::Undelivered::Gone(error)) => {
                gone.store(true, Ordering::SeqCst);
                tracing::error!(sink = %sink.name, delivery = %delivery.delivery_id, %error,
                    "A sink's receiver answered 410 Gone: the sink is disabled until an admin enables it.");
                Outcome::Gone { id: delivery.id, sink: sink.name.clone(), error, at }
            }
            Err(deliver::Undelivered::Failed { error, retry_after }) => {
                if dead {
                    tracing::error!(sink = %sink.name, delivery = %delivery.delivery_id, %error, attempts,
                        "A sink delivery is dead-lettered.");
                } else {
                    tracing::warn!(sink = %sink.name, delivery = %delivery.delivery_id, %error, attempts,
                        "A sink delivery failed; retrying with backoff.");
                }
                // The receiver's Retry-After when it gave one (at least a second: one saying 0 is not
                // hammered); the backoff otherwise.
                let wait = retry_after
                    .map(|wait| wait.max(std::time::Duration::from_secs(1)))
                    .and_then(|wait| chrono::Duration::from_std(wait).ok())
                    .unwrap_or_else(|| backoff(attempts - 1));
                let retry_at = format_timestamp(self.clock.now() + wait);
                Outcome::Failed { id: delivery.id, error, retry_at, dead, at }
            }
        };
        self.record(outcome).await;
    }

    /// Records an outcome; answers whether it was recorded.
    async fn record(&self, outcome: Outcome) -> bool {
        match self.writer.keep_books(Bookkeeping::SinkOutcome(outcome)).await {
            Ok(_) => true,
            Err(err) => {
                // Not recorded: the delivery stays due and goes again (at least once; the same delivery id).
                tracing::warn!(error = %err, "Cannot record a sink delivery's outcome.");
                false
            }
        }
    }
}

/// Delivers for every sink, each on a round of its own.
struct Deliverer {
    sinks: Vec<Work>,
    registry: ActorRegistry,
    /// One round at a time per sink.
    turns: Vec<Arc<tokio::sync::Mutex<()>>>,
}

crate::guarded_actor!(Deliverer, names::SINKS);

#[cfg(feature = "fault-injection")]
crate::panic_on_inject!(Deliverer);

impl Actor for Deliverer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.registry.beat::<Self>(names::SINKS, ctx);
        for (index, turn) in self.turns.iter().enumerate() {
            crate::guard::every(ctx, EVERY, turn.clone(), move |actor: &Self| {
                let work = actor.sinks[index].clone();
                async move { work.round().await }
            });
        }
    }
}

impl actix::Supervised for Deliverer {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.registry.restarting(names::SINKS, None);
    }
}

/// The deliverer's door; without sinks, only their (empty) list.
#[derive(Clone)]
pub struct SinksHandle {
    addr: Option<Addr<Deliverer>>,
    pub names: Arc<Vec<String>>,
}

impl SinksHandle {
    pub fn start(
        sinks: Vec<SinkConfig>,
        readers: ReaderPool,
        writer: WriterHandle,
        clock: Arc<dyn Clock>,
        registry: ActorRegistry,
    ) -> Result<Self, String> {
        let names = Arc::new(sinks.iter().map(|s| s.name.clone()).collect());
        if sinks.is_empty() {
            return Ok(Self { addr: None, names });
        }
        // Never a default client instead: it would follow redirects, carrying signed events elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("the event sinks' HTTP client could not be made: {err}"))?;
        let turns = sinks.iter().map(|_| Arc::default()).collect();
        let sinks = sinks
            .into_iter()
            .map(|sink| Work {
                sink: Arc::new(sink),
                readers: readers.clone(),
                writer: writer.clone(),
                http: http.clone(),
                clock: clock.clone(),
            })
            .collect();
        let addr = Supervisor::start(move |_| Deliverer { sinks, registry, turns });
        Ok(Self { addr: Some(addr), names })
    }

    #[cfg(feature = "fault-injection")]
    pub async fn inject(&self, fault: crate::fault::Fault) {
        if let Some(addr) = &self.addr {
            let _ = addr.send(crate::fault::Inject(fault)).await;
        }
    }

    pub fn is_alive(&self) -> bool {
        self.addr.as_ref().is_none_or(Addr::connected)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_from_a_second_to_an_hour() {
        let seconds: Vec<i64> = [0, 1, 2, 5, 12, 40].iter().map(|&a| super::backoff(a).num_seconds()).collect();
        assert_eq!(seconds, [1, 2, 4, 32, 3600, 3600]);
    }
}
