//! The Notifier's look at the audit trail, once a second: each new piece of news (`feed.rs`) to each of
//! its recipients (`teller.rs`), in commit order.
//!
//! Each recipient that takes a piece of news is remembered in the database (`notify_sent`) at once, so a
//! restart or a retry sends only to those that have not (a crash between a send and its record repeats
//! that one message). A recipient that fails is tried again after 1, 2, 4, … 64 s; after `TRIES` (or at
//! a failure once the news is `GIVE_UP_AGE` old) it is given up, logged and audited
//! (`notify.undelivered`). A stop waits briefly for a look in flight (`NotifierHandle::drain`). The cursor passes a piece of news once every
//! recipient took it or was given up; later news does not wait for it meanwhile.

use super::feed;
use super::teller::{Recipient, Teller};
use crate::domain::{Actor, Command, Record};
use crate::store::Bookkeeping;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Sends to one recipient of one piece of news before it is given up.
const TRIES: u32 = 8;

/// How often the cursor is kept when no news was told.
const KEEP_UP_EVERY: Duration = Duration::from_secs(60);

/// The feed's state between looks.
#[derive(Debug, Default)]
pub struct Feed {
    /// Failed sends, by (event id, recipient key): how many, and when to try again.
    failing: BTreeMap<(i64, String), (u32, Instant)>,
    /// When the cursor was last kept.
    kept: Option<Instant>,
}

/// News this old is given up at its first failure in a look (a retry count starts again with the
/// process, so a recipient dead across frequent restarts would otherwise hold the cursor for ever).
const GIVE_UP_AGE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// One look: tells what is new, then keeps the cursor (at once after news was told; at most once a minute
/// when only other events passed, so a busy database costs the writer one bookkeeping write a minute).
///
/// Each recipient is a lane of its own, in commit order, and the lanes go side by side: a mail server
/// that is slow to answer holds back only the mail, never the chat, and each send is bounded by
/// `alerts.send_timeout_s`.
pub async fn look(teller: &Teller, feed: &mut Feed, now: DateTime<Utc>) {
    // Atlas is stopping: nothing sent now could be remembered as sent.
    if teller.stopping() {
        return;
    }
    let routed = teller.config.notify.reads_the_feed();
    let read = teller
        .readers
        .read(move |conn| {
            let cursor = feed::cursor(conn)?;
            let newest = feed::newest(conn)?;
            let found = match cursor {
                Some(cursor) if routed => Some((feed::after(conn, cursor)?, feed::sent_after(conn, cursor)?)),
                _ => None,
            };
            Ok((cursor, newest, found))
        })
        .await;
    let (cursor, newest, found) = match read {
        Ok(read) => read,
        Err(err) => return tracing::warn!(error = %err, "Cannot read the events to notify of."),
    };
    let Some(cursor) = cursor else {
        // A database that never had a Notifier (the migration starts it at its newest event).
        return keep(teller, feed, newest).await;
    };
    let Some(((items, looked, full), sent)) = found else {
        // Nobody to tell: keep up, so routes added later do not tell old news.
        if newest > cursor && feed.kept.is_none_or(|at| at.elapsed() >= KEEP_UP_EVERY) {
            keep(teller, feed, newest).await;
        }
        return;
    };
    let mut unfinished = BTreeSet::new();
    let mut lanes: BTreeMap<String, Vec<(usize, Recipient)>> = BTreeMap::new();
    for (at, news) in items.iter().enumerate() {
        let recipients = match teller.recipients(news).await {
            Ok(recipients) => recipients,
            Err(why) => {
                tracing::warn!(event = news.event_id, error = %why, "Cannot tell who gets this news; trying again.");
                unfinished.insert(news.event_id);
                continue;
            }
        };
        for to in recipients {
            let key = (news.event_id, to.key());
            if sent.contains(&key) {
                continue;
            }
            if feed.failing.get(&key).is_some_and(|(_, again)| Instant::now() < *again) {
                unfinished.insert(news.event_id);
                continue;
            }
            lanes.entry(to.key()).or_default().push((at, to));
        }
    }
    let lane = |lane: Vec<(usize, Recipient)>| {
        let items = &items;
        async move {
            let mut results = Vec::new();
            for (at, to) in lane {
                if teller.stopping() {
                    results.push((at, to.key(), Err("Atlas is stopping".to_owned())));
                    continue;
                }
                let result = teller.send_news(&to, &items[at], now).await;
                if result.is_ok() {
                    let (event_id, target) = (items[at].event_id, to.key());
                    if let Err(err) = teller.writer.keep_books(Bookkeeping::NotifySent { event_id, target }).await {
                        tracing::warn!(error = %err, "Cannot remember a notification as sent; it may be sent again.");
                    }
                }
                results.push((at, to.key(), result));
            }
            results
        }
    };
    let results = futures_util::future::join_all(lanes.into_values().map(lane)).await;
    let mut told_any = false;
    for (at, recipient, result) in results.into_iter().flatten() {
        let news = &items[at];
        let key = (news.event_id, recipient);
        let why = match result {
            Ok(()) => {
                feed.failing.remove(&key);
                told_any = true;
                continue;
            }
            Err(_) if teller.stopping() => {
                unfinished.insert(news.event_id);
                continue;
            }
            Err(why) => why,
        };
        let tries = feed.failing.get(&key).map_or(0, |(tries, _)| *tries) + 1;
        tracing::error!(event = news.event_id, recipient = %key.1, tries, error = %why, "Notification failed.");
        let old = crate::domain::parse_timestamp(&news.at).is_some_and(|at| now - at > GIVE_UP_AGE);
        if tries >= TRIES || old {
            feed.failing.remove(&key);
            let reason = if old { "it is over 10 minutes old".to_owned() } else { format!("{TRIES} tries") };
            give_up(teller, news.event_id, key.1, format!("given up after {reason}: {why}")).await;
        } else {
            let again = Instant::now() + Duration::from_secs(1 << (tries - 1).min(6));
            feed.failing.insert(key, (tries, again));
            unfinished.insert(news.event_id);
        }
    }
    // Every event up to `newest` was read unless the batch was full.
    let read_through = if full { looked } else { looked.max(newest) };
    let told = unfinished.first().map_or(read_through, |event| event - 1);
    feed.failing.retain(|(event, _), _| *event > told);
    if told > cursor && (told_any || feed.kept.is_none_or(|at| at.elapsed() >= KEEP_UP_EVERY)) {
        keep(teller, feed, told).await;
    }
}

/// No retry got this news to `recipient`: said in the log and the audit trail.
async fn give_up(teller: &Teller, event_id: i64, recipient: String, why: String) {
    tracing::error!(event = event_id, recipient = %recipient, detail = %why, "Notification given up.");
    let record = Command::Record(Record::Undelivered { event_id, recipient, detail: why });
    if let Err(err) = teller.writer.submit(record, Actor::new("notifier")).await {
        tracing::warn!(error = %err, "Could not audit an undelivered notification.");
    }
}

async fn keep(teller: &Teller, feed: &mut Feed, through: i64) {
    match teller.writer.keep_books(Bookkeeping::NotifyCursor(through)).await {
        Ok(_) => feed.kept = Some(Instant::now()),
        Err(err) => tracing::warn!(error = %err, "Cannot keep the notifier's cursor."),
    }
}
