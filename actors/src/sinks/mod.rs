//! Event sinks (`[[sinks]]`): the domain events a sink subscribes to are delivered to its URL, signed,
//! in order per aggregate, at least once. The writer's routing (`store/sinks.rs`) puts a delivery row in
//! `sink_outbox` in each matching event's own transaction; this actor (`queue.rs` picks what is due,
//! `deliver.rs` posts it) marks a row delivered only on a 2xx, retries with exponential backoff (1 s
//! doubling, at most an hour) and dead-letters it after `max_attempts`. Outcomes are writer maintenance,
//! not commands: an event about a delivery would be one more event to deliver.

pub mod deliver;
pub mod queue;

use crate::backoff::Backoff;
use crate::domain::{format_timestamp, Clock, Secret};
use crate::registry::{names, ActorRegistry};
use crate::store::sinks::{Outcome, SinkRoute};
use crate::store::{Bookkeeping, ReaderPool, WriterHandle};
use actix::prelude::*;
use actix::Supervisor;
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
    pub secret: Secret,
    pub max_attempts: u32,
    pub timeout: Duration,
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
    /// One round of this sink (each sink has its own, so a slow receiver delays only itself): what is
    /// due, again while the last pass delivered something and the budget lasts.
    async fn round(&self) {
        let started = std::time::Instant::now();
        loop {
            let at = format_timestamp(self.clock.now());
            let sink = self.sink.name.clone();
            let due = match self.readers.read(move |conn| queue::due(conn, &sink, &at)).await {
                Ok(due) => due,
                Err(err) => {
                    tracing::warn!(sink = %self.sink.name, error = %err, "Cannot read the sink deliveries waiting.");
                    return;
                }
            };
            let mut delivered = 0;
            for delivery in &due {
                delivered += usize::from(self.attempt(delivery).await);
            }
            if delivered == 0 || started.elapsed() >= ROUND_BUDGET {
                return;
            }
        }
    }

    /// One attempt, its outcome recorded through the writer; answers whether it was delivered.
    async fn attempt(&self, delivery: &queue::Due) -> bool {
        let sink = &self.sink;
        let now = self.clock.now();
        let sent = deliver::post(&self.http, &sink.url, &sink.secret.0, delivery, sink.timeout, now).await;
        let at = format_timestamp(self.clock.now());
        let ok = sent.is_ok();
        let outcome = match sent {
            Ok(()) => Outcome::Delivered { id: delivery.id, at },
            Err(error) => {
                let attempts = delivery.attempts + 1;
                let dead = attempts >= i64::from(sink.max_attempts);
                if dead {
                    tracing::error!(sink = %sink.name, delivery = %delivery.delivery_id, %error, attempts,
                        "A sink delivery is dead-lettered.");
                } else {
                    tracing::warn!(sink = %sink.name, delivery = %delivery.delivery_id, %error, attempts,
                        "A sink delivery failed; retrying with backoff.");
                }
                let retry_at = format_timestamp(self.clock.now() + backoff(attempts - 1));
                Outcome::Failed { id: delivery.id, error, retry_at, dead, at }
            }
        };
        if let Err(err) = self.writer.keep_books(Bookkeeping::SinkOutcome(outcome)).await {
            // Not recorded: the delivery stays due and goes again (at least once; same X-Atlas-Delivery).
            tracing::warn!(error = %err, "Cannot record a sink delivery's outcome.");
            return false;
        }
        ok
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
