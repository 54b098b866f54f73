//! `lakegate alerts test`: one test message through every configured channel, and what became of
//! it — delivered, refused (with the server's reply), unreachable, or not sent (something lakegate
//! needs is missing, such as a password variable).
//!
//! A test message is sent directly, never through the outbox: it says whether the channel works
//! *now*, and one that cannot be delivered is not worth delivering later. It is sent whatever
//! `[alerts] on` says (even `never`), with the same transport, TLS settings, login and signature as
//! an alert, so a channel that passes the test delivers alerts. Secrets are read from the
//! environment when sending, as for an alert, and never appear in what this returns.

use serde::Serialize;

use super::{SendError, email, webhook};
use crate::config::alerts::AlertsConfig;

/// What happened to one channel's test message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Delivery {
    Delivered,
    Refused,
    Unreachable,
    NotSent,
}

impl Delivery {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Refused => "refused",
            Delivery::Unreachable => "unreachable",
            Delivery::NotSent => "not sent",
        }
    }
}

/// One channel's test.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChannelTest {
    /// `email` or `webhook`.
    pub channel: &'static str,
    /// The relay's URL, a webhook's scheme and host (or `env:NAME`).
    pub via: String,
    /// The recipients (empty for a webhook).
    pub to: Vec<String>,
    pub status: Delivery,
    /// Why it was not delivered: the server's reply, or what went wrong.
    pub reason: Option<String>,
}

fn outcome(channel: &'static str, via: String, to: Vec<String>, result: Result<(), SendError>) -> ChannelTest {
    let (status, reason) = match result {
        Ok(()) => (Delivery::Delivered, None),
        Err(e @ SendError::Refused { .. }) => (Delivery::Refused, Some(e.to_string())),
        Err(e @ SendError::Unreachable(_)) => (Delivery::Unreachable, Some(e.to_string())),
        Err(e @ SendError::NotSent(_)) => (Delivery::NotSent, Some(e.to_string())),
    };
    ChannelTest {
        channel,
        via,
        to,
        status,
        reason,
    }
}

/// Sends a test message through every channel, in the order of `lakegate.toml` (emails first).
/// Blocks on the network.
pub(crate) fn test_channels(cfg: &AlertsConfig, at: chrono::DateTime<chrono::Utc>) -> Vec<ChannelTest> {
    let id = uuid::Uuid::now_v7().to_string();
    let mut out = Vec::new();
    for (i, c) in cfg.email.iter().enumerate() {
        let result = email::compose_test(c, &format!("{id}.{i}"), at)
            .map_err(SendError::NotSent)
            .and_then(|q| email::send(c, &q));
        let to = c.to.iter().chain(&c.cc).cloned().collect();
        out.push(outcome("email", c.url.clone(), to, result));
    }
    for (i, h) in cfg.webhook.iter().enumerate() {
        let q = webhook::compose_test(h, &format!("{id}.{i}"), at);
        out.push(outcome(
            "webhook",
            webhook::shown_url(&h.url),
            Vec::new(),
            webhook::send(h, &q),
        ));
    }
    out
}
