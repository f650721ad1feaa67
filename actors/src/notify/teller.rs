//! Sending: an alert or reminder to one route's target, a piece of news to one recipient (a channel, or
//! a reviewer's own mail with links). Runs off the Notifier's loop (a slow channel never stops its
//! heartbeat).

use super::feed::{self, News};
use super::links::LinkKey;
use super::{compose, Kind, Target};
use crate::alerts::actor::AlertsConfig;
use crate::alerts::channels;
use crate::alerts::messages::Message;
use crate::alerts::{Notice, REMINDER_PREFIX};
use crate::store::{ReaderPool, WriterHandle};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What sending needs, cloned off the actor for a detached task.
#[derive(Clone)]
pub struct Teller {
    pub config: Arc<AlertsConfig>,
    pub http: reqwest::Client,
    pub writer: WriterHandle,
    pub readers: ReaderPool,
    pub key: LinkKey,
    /// Set when Atlas begins to stop (`NotifierHandle::drain`): no send begins after it.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Teller {
    /// Whether Atlas is stopping (or its writer closed): what is sent now might not be remembered as sent.
    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Acquire) || self.writer.is_closed()
    }

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

    /// Who a piece of news goes to, each a recipient of its own (a channel, or one reviewer who may decide
    /// the approval now).
    pub async fn recipients(&self, news: &News) -> Result<Vec<Recipient>, String> {
        let mut out = Vec::new();
        for target in self.config.notify.targets(news.kind) {
            match target {
                Target::Channel(name) => out.push(Recipient::Channel(name.clone())),
                Target::Reviewers if news.kind.is_for_reviewers() => {
                    let id = news.record.get("id").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
                    let addresses = self.config.notify.reviewer_addresses.clone();
                    let reviewers = self.readers.read(move |conn| feed::reviewers(conn, &id, &addresses)).await;
                    let reviewers = reviewers.map_err(|err| format!("reviewers: {err}"))?;
                    out.extend(reviewers.into_iter().map(|(name, token_hash, address)| Recipient::Reviewer {
                        name,
                        token_hash,
                        address,
                    }));
                }
                Target::Reviewers => {}
            }
        }
        Ok(out)
    }

    /// A piece of news to one recipient.
    pub async fn send_news(&self, to: &Recipient, news: &News, now: DateTime<Utc>) -> Result<(), String> {
        match to {
            Recipient::Channel(name) => {
                let mut message = compose::for_channel(news, &self.config.notify, &self.config.host);
                message.message_id = Some(self.message_id(news, to));
                self.channel(name, &message).await.map_err(|why| why.join("; "))
            }
            Recipient::Reviewer { name, token_hash, address } => {
                // Read again right before: the approval may have been decided, or the token revoked, while
                // earlier mail went out.
                let (id, reviewer) = (news.record.get("id").and_then(serde_json::Value::as_str), name.clone());
                let id = id.unwrap_or_default().to_owned();
                let still = self.readers.read(move |conn| feed::may_decide(conn, &id, &reviewer)).await;
                match still {
                    Ok(true) => {
                        let id = Some(self.message_id(news, to));
                        self.mail_reviewer(news.kind, &news.record, (name, token_hash, address), id, now).await
                    }
                    Ok(false) => Ok(()),
                    Err(err) => Err(format!("reviewer {name}: {err}")),
                }
            }
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
        let (approval_id, addresses) = (id.to_owned(), self.config.notify.reviewer_addresses.clone());
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
            if let Err(why) = self.mail_reviewer(kind, &record, (&reviewer, &token_hash, &address), None, now).await {
                errors.push(why);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// One reviewer's e-mail with their own links.
    async fn mail_reviewer(
        &self,
        kind: Kind,
        record: &serde_json::Value,
        (reviewer, token_hash, address): (&str, &str, &str),
        message_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let notify = &self.config.notify;
        let mail = notify.mail.as_ref().and_then(|server| server.mail_to(vec![address.to_owned()]));
        let (Some(mail), Some(links)) = (mail, &notify.links) else {
            return Err("reviewers: no SMTP server or console.public_url is set".into());
        };
        let mut message =
            compose::for_reviewer(kind, record, (reviewer, token_hash), links, &self.key, now, &self.config.host);
        message.message_id = message_id;
        let id = record.get("id").and_then(serde_json::Value::as_str).unwrap_or_default();
        channels::send(&mail, &message, &self.http, self.config.timeout)
            .await
            .map(|()| tracing::info!(approval = %id, reviewer = %reviewer, "Approval links sent."))
            .map_err(|why| format!("reviewer {reviewer}: {why}"))
    }
}

impl Teller {
    /// The `Message-ID` of a piece of news to one recipient: the same on every try.
    fn message_id(&self, news: &News, to: &Recipient) -> String {
        let safe =
            |text: &str| text.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>();
        format!("<atlas.{}.{}@{}>", news.event_id, safe(&to.key()), safe(&self.config.host))
    }
}

/// One recipient of a piece of news.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    Channel(String),
    Reviewer { name: String, token_hash: String, address: String },
}

impl Recipient {
    /// How the database remembers that it took a piece of news (`notify_sent.target`).
    pub fn key(&self) -> String {
        match self {
            Self::Channel(name) => format!("channel:{name}"),
            Self::Reviewer { name, .. } => format!("reviewer:{name}"),
        }
    }
}
