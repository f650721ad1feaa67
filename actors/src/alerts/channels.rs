//! Delivery: a webhook (Atlas's JSON, Slack's text or Block Kit, a Teams Workflows Adaptive Card, a
//! Google Chat card: `messages.rs`), e-mail over SMTP (text and HTML), and the Telegram Bot API. Every send has a timeout; an error says which channel failed, never with a secret.
//! HTTP client errors are reported `without_url`, because a Telegram bot token is part of its URL.

use super::messages::Message;
use super::Notice;
use crate::domain::Secret;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection (a local relay).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Channel {
    Webhook {
        url: String,
        style: super::messages::WebhookStyle,
    },
    Telegram {
        api_base: String,
        bot_token: Secret,
        chat_id: String,
    },
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        username: String,
        password: Secret,
        from: String,
        to: Vec<String>,
    },
}

impl Channel {
    /// This SMTP channel's server with other recipients; `None` for a channel that is not e-mail.
    pub fn mail_to(&self, recipients: Vec<String>) -> Option<Channel> {
        let Self::Smtp { host, port, security, username, password, from, .. } = self else { return None };
        Some(Self::Smtp {
            host: host.clone(),
            port: *port,
            security: *security,
            username: username.clone(),
            password: password.clone(),
            from: from.clone(),
            to: recipients,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Telegram { .. } => "telegram",
            Self::Smtp { .. } => "smtp",
        }
    }
}

/// The one-line text of a notice (the subject of an e-mail).
pub fn headline(notice: &Notice, host: &str) -> String {
    format!("[Atlas {}] {} on {host}", notice.kind.label(), notice.key)
}

/// Sends one message on one channel, within `timeout` as a whole (an SMTP server may accept the
/// connection and then take its time over each answer).
pub async fn send(
    channel: &Channel,
    message: &Message,
    http: &reqwest::Client,
    timeout: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(timeout, send_unbounded(channel, message, http, timeout)).await {
        Ok(sent) => sent,
        Err(_) => Err(format!("{} channel: no answer within {} s", channel.name(), timeout.as_secs_f32())),
    }
}

async fn send_unbounded(
    channel: &Channel,
    message: &Message,
    http: &reqwest::Client,
    timeout: Duration,
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("{} channel: {e}", channel.name());
    match channel {
        Channel::Webhook { url, style } => {
            let payload = super::messages::webhook_body(*style, message);
            let response =
                http.post(url).timeout(timeout).json(&payload).send().await.map_err(|e| failed(&e.without_url()))?;
            response.error_for_status().map(|_| ()).map_err(|e| failed(&e.without_url()))
        }
        Channel::Telegram { api_base, bot_token, chat_id } => {
            let url = format!("{}/bot{}/sendMessage", api_base.trim_end_matches('/'), bot_token.0);
            let payload = json!({ "chat_id": chat_id, "text": message.plain(), "disable_web_page_preview": true });
            // The token is part of the URL: errors are reported without it.
            let response =
                http.post(&url).timeout(timeout).json(&payload).send().await.map_err(|e| failed(&e.without_url()))?;
            response.error_for_status().map(|_| ()).map_err(|e| failed(&e.without_url()))
        }
        Channel::Smtp { host: server, port, security, username, password, from, to } => {
            let mut mail = lettre::Message::builder()
                .from(from.parse().map_err(|e| failed(&format!("alerts.smtp_from: {e}")))?)
                .subject(message.headline.clone())
                .message_id(message.message_id.clone());
            for recipient in to {
                mail = mail.to(recipient.parse().map_err(|e| failed(&format!("alerts.smtp_to {recipient:?}: {e}")))?);
            }
            let parts = lettre::message::MultiPart::alternative_plain_html(
                message.plain(),
                super::messages::email_html(message),
            );
            let mail = mail.multipart(parts).map_err(|e| failed(&e))?;
            let builder = match security {
                SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server),
                SmtpSecurity::StartTls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(server).map_err(|e| failed(&e))?
                }
                SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(server).map_err(|e| failed(&e))?,
            };
            let mut builder = builder.port(*port).timeout(Some(timeout));
            if !username.is_empty() {
                builder = builder.credentials(Credentials::new(username.clone(), password.0.clone()));
            }
            builder.build().send(mail).await.map(|_| ()).map_err(|e| failed(&e))
        }
    }
}

/// Whether `text` is an e-mail address the SMTP channel can use (for settings checks).
pub fn is_email_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}
