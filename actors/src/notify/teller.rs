//! Sending: one alert, reminder or piece of news to one route's target, and the feed's look at the
//! audit trail. Runs off the Notifier's loop (a slow channel never stops its heartbeat).

use super::feed::{self, News};
use super::links::LinkKey;
use super::{compose, Kind, Target};
use crate::alerts::actor::AlertsConfig;
use crate::alerts::channels::{self, Channel};
use crate::alerts::messages::Message;
use crate::alerts::{Notice, REMINDER_PREFIX};
use crate::store::{Bookkeeping, ReaderPool, WriterHandle};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A piece of news every target failed to take is looked at again this many times, then passed over
/// (one broken channel must not hold every later message back).
const TRIES: u32 = 5;

/// How often the cursor is kept when no news was told.
const KEEP_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// What sending needs, cloned off the actor for a detached task.
#[derive(Clone)]
pub struct Teller {
    pub config: Arc<AlertsConfig>,
    pub http: reqwest::Client,
    pub writer: WriterHandle,
    pub readers: ReaderPool,
    pub key: LinkKey,
}

/// The feed's state between looks.
#[derive(Debug, Default)]
pub struct Feed {
    /// Failed looks at the oldest untold piece of news: (event id, tries).
    failing: Option<(i64, u32)>,
    /// When the cursor was last kept.
    kept: Option<std::time::Instant>,
}

impl Teller {
    /// An alert (or an approval's reminder) to one target.
    pub async fn notice(
        &self,
        target: &Target,
        notice: &Notice,
        kind: Kind,
        now: DateTime<Utc>,
    ) -> Result<(), Vec<String>> {
        let host = &self.config.host;
        let approval = notice.key.strip_prefix(REMINDER_PREFIX);
        match target {
            Target::Channel(name) => {
                let mut message = Message::of_notice(notice, host);
                if let Some(url) = approval.and_then(|id| self.config.notify.page(&format!("/console/approvals/{id}")))
                {
                    message.actions.push(("Open in Atlas".into(), url));
                }
                self.channel(name, &message).await
            }
            // A reminder that cleared (decided) leaves nothing for a reviewer to do.
            Target::Reviewers => match approval {
                Some(id) if notice.kind != crate::alerts::Kind::Resolved => self.reviewers(kind, id, now).await,
                _ => Ok(()),
            },
        }
    }

    /// A piece of news from the feed to one target.
    pub async fn news(&self, target: &Target, news: &News, now: DateTime<Utc>) -> Result<(), Vec<String>> {
        match target {
            Target::Channel(name) => {
                self.channel(name, &compose::for_channel(news, &self.config.notify, &self.config.host)).await
            }
            Target::Reviewers if news.kind.is_for_reviewers() => {
                let id = news.record.get("id").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
                self.reviewers(news.kind, &id, now).await
            }
            Target::Reviewers => Ok(()),
        }
    }

    async fn channel(&self, name: &str, message: &Message) -> Result<(), Vec<String>> {
        let Some(channel) = self.config.notify.channels.get(name) else {
            return Err(vec![format!("no channel named {name}")]);
        };
        channels::send(channel, message, &self.http, self.config.timeout)
            .await
            .map_err(|why| vec![format!("{name}: {why}")])
    }

    /// Each reviewer who may decide approval `id` (read now: who reviewed, who was revoked) gets an e-mail
    /// with links of their own. Ok when every one was sent (none to send included).
    async fn reviewers(&self, kind: Kind, id: &str, now: DateTime<Utc>) -> Result<(), Vec<String>> {
        let notify = &self.config.notify;
        let (Some(mail), Some(links)) = (&notify.mail, &notify.links) else {
            return Err(vec!["reviewers: no SMTP server or console.public_url is set".into()]);
        };
        let (approval_id, addresses) = (id.to_owned(), notify.reviewer_addresses.clone());
        let read = self
            .readers
            .read(move |conn| {
                Ok((feed::approval(conn, &approval_id)?, feed::reviewers(conn, &approval_id, &addresses)?))
            })
            .await;
        let (record, reviewers) = match read {
            Ok((Some(record), reviewers)) => (record, reviewers),
            Ok((None, _)) => return Ok(()),
            Err(err) => return Err(vec![format!("reviewers: {err}")]),
        };
        let mut errors = Vec::new();
        for (reviewer, token_hash, address) in reviewers {
            let message = compose::for_reviewer(
                kind,
                &record,
                (&reviewer, &token_hash),
                links,
                &self.key,
                now,
                &self.config.host,
            );
            let to = match mail {
                Channel::Smtp { .. } => {
                    let mut channel = mail.clone();
                    if let Channel::Smtp { to, .. } = &mut channel {
                        *to = vec![address.clone()];
                    }
                    channel
                }
                other => other.clone(),
            };
            match channels::send(&to, &message, &self.http, self.config.timeout).await {
                Ok(()) => tracing::info!(approval = %id, reviewer = %reviewer, "Approval links sent."),
                Err(why) => errors.push(format!("reviewer {reviewer}: {why}")),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// One look at the audit trail: tells each new piece of news to its targets, then keeps the cursor
    /// (at once after news was told; at most once a minute when only other events passed, so a busy
    /// database costs the writer one bookkeeping write a minute and a look reads a minute of events).
    pub async fn tail(&self, feed: &mut Feed, now: DateTime<Utc>) {
        let routed = self.config.notify.reads_the_feed();
        let read = self
            .readers
            .read(move |conn| {
                let cursor = feed::cursor(conn)?;
                let newest = feed::newest(conn)?;
                let found = match cursor {
                    Some(cursor) if routed => Some(feed::after(conn, cursor)?),
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
            // A database that never had a Notifier: its history is not news.
            return self.keep(feed, newest).await;
        };
        let Some((items, looked, full)) = found else {
            // Nobody to tell: keep up, so routes added later do not tell old news.
            if newest > cursor && feed.kept.is_none_or(|at| at.elapsed() >= KEEP_UP_EVERY) {
                self.keep(feed, newest).await;
            }
            return;
        };
        // Every event up to `newest` was read unless the batch was full.
        let mut told = if full { looked } else { looked.max(newest) };
        for news in &items {
            let targets = self.config.notify.targets(news.kind);
            let mut taken = targets.is_empty();
            for target in &targets {
                match self.news(target, news, now).await {
                    Ok(()) => taken = true,
                    Err(errors) => {
                        for why in errors {
                            tracing::error!(event = news.event_id, kind = news.kind.as_str(), error = %why, "Notification failed.");
                        }
                    }
                }
            }
            if !taken {
                let tries = match feed.failing {
                    Some((event, tries)) if event == news.event_id => tries + 1,
                    _ => 1,
                };
                if tries < TRIES {
                    feed.failing = Some((news.event_id, tries));
                    told = news.event_id - 1;
                    break;
                }
                tracing::error!(
                    event = news.event_id,
                    "No channel took this notification after {TRIES} tries; passing it over."
                );
            }
            feed.failing = None;
        }
        let news_told = items.first().is_some_and(|first| told >= first.event_id);
        if told > cursor && (news_told || feed.kept.is_none_or(|at| at.elapsed() >= KEEP_UP_EVERY)) {
            self.keep(feed, told).await;
        }
    }

    async fn keep(&self, feed: &mut Feed, through: i64) {
        match self.writer.keep_books(Bookkeeping::NotifyCursor(through)).await {
            Ok(_) => feed.kept = Some(std::time::Instant::now()),
            Err(err) => tracing::warn!(error = %err, "Cannot keep the notifier's cursor."),
        }
    }
}
