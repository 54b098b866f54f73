//! The outbox: every alert (email or webhook) is written here before it is sent and removed once
//! the relay or endpoint accepted it (a 250, a 2xx), so nothing is lost when a relay is down or the process dies.
//!
//! One JSON file per message (`RUNID-HASH.json`, written with `fs_atomic`: temp, fsync, rename),
//! holding the exact bytes to send, the envelope and the Message-ID. Each run that sends alerts
//! first queues its own messages, then — holding an exclusive lock on `.lock`, so two runs never
//! send one message at the same time — sends every queued message, oldest first. A message the relay
//! refused for good (5xx) moves to `failed/` and is not retried.
//!
//! **Guarantee: at least once, with one Message-ID.** A message is removed from the outbox only
//! after the relay answered 250; if the process dies between that answer and the removal, the next
//! run sends it again, with the same Message-ID (mail systems and readers deduplicate on it). Outside
//! that window — relay down, timeouts, crashes before the 250 — every message is delivered exactly
//! once, by a later run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{SendError, email, webhook};
use crate::config::alerts::{EmailChannel, WebhookChannel};
use crate::fs_atomic;
use crate::results::AlertOutcome;

/// A message waiting to be sent (the content of one outbox file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Queued {
    pub message_id: String,
    /// The run that raised the alert.
    pub run_id: String,
    pub channel: String,
    /// The relay URL (no secret in it).
    pub via: String,
    /// Envelope sender and recipients (to and cc).
    pub from: String,
    pub rcpt: Vec<String>,
    /// The `To:` addresses as configured.
    pub to: Vec<String>,
    pub subject: String,
    /// The whole message as sent (RFC 5322).
    pub raw: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// The outbox file of a message: the run id (time-ordered, UUID v7) first, so names sort oldest first.
fn file_name(q: &Queued) -> String {
    let h = Sha256::digest(q.message_id.as_bytes());
    let hash: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hash}.json", q.run_id)
}

/// The messages waiting in the outbox, oldest first; damaged files are skipped with a warning.
pub(crate) fn pending(dir: &Path) -> Vec<(PathBuf, Queued)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.') && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let parsed = std::fs::read_to_string(&p)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Queued>(&t).map_err(|e| e.to_string()));
            match parsed {
                Ok(q) => Some((p, q)),
                Err(err) => {
                    tracing::warn!(file = %p.display(), %err, "Skipping an outbox file that is not a lakegate message.");
                    None
                }
            }
        })
        .collect()
}

/// Holds the outbox's lock while it lives (the OS releases it if the process dies).
fn lock(dir: &Path) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .and_then(|f| f.lock().map(|()| f));
    match file {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "Cannot lock the alert outbox; sending without the lock.");
            None
        }
    }
}

/// Queues `fresh`, then sends everything in the outbox; returns what became of each message.
pub(crate) fn send_all(
    dir: &Path,
    channels: &[EmailChannel],
    hooks: &[WebhookChannel],
    fresh: Vec<Queued>,
    run_id: &str,
) -> Vec<AlertOutcome> {
    if let Err(e) = fs_atomic::create_dir_all(dir) {
        tracing::error!(dir = %dir.display(), error = %e, "Cannot create the alert outbox; alerts that fail now are lost.");
    }
    let _lock = lock(dir);
    // Messages that could not be queued are still sent, from memory.
    let mut unqueued = Vec::new();
    for q in fresh {
        let path = dir.join(file_name(&q));
        match serde_json::to_vec_pretty(&q)
            .map_err(std::io::Error::other)
            .and_then(|b| fs_atomic::write_atomic(&path, &b))
        {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "Cannot queue an alert in the outbox; sending it without a copy.");
                unqueued.push(q);
            }
        }
    }
    let mut todo: Vec<(Option<PathBuf>, Queued)> = pending(dir).into_iter().map(|(p, q)| (Some(p), q)).collect();
    todo.extend(unqueued.into_iter().map(|q| (None, q)));
    let mut down: Vec<(String, SendError)> = Vec::new();
    todo.into_iter()
        .map(|(path, q)| send_one(dir, channels, hooks, path.as_deref(), q, run_id, &mut down))
        .collect()
}

/// Sends one message and updates the outbox: removed when sent, moved to `failed/` when refused
/// for good, rewritten with its error otherwise. A relay that failed once in this pass is not tried
/// again for the next messages (`down`), so an outage costs one backoff per run, not per message.
fn send_one(
    dir: &Path,
    channels: &[EmailChannel],
    hooks: &[WebhookChannel],
    path: Option<&Path>,
    q: Queued,
    run_id: &str,
    down: &mut Vec<(String, SendError)>,
) -> AlertOutcome {
    let outcome = AlertOutcome {
        channel: q.channel.clone(),
        via: if q.channel == "webhook" {
            super::webhook::shown_url(&q.via)
        } else {
            q.via.clone()
        },
        to: q.rcpt.clone(),
        subject: q.subject.clone(),
        message_id: q.message_id.clone(),
        status: "queued".into(),
        retry_of: (q.run_id != run_id).then(|| q.run_id.clone()),
        error: None,
    };
    let result = if q.channel == "webhook" {
        match (
            hooks.iter().find(|h| h.url == q.via),
            down.iter().find(|(via, _)| *via == q.via),
        ) {
            (None, _) => Err(SendError::NotSent(format!(
                "no `[[alerts.webhook]]` with url {} is configured now; the message waits",
                webhook::shown_url(&q.via)
            ))),
            (Some(_), Some((_, why))) => Err(why.clone()),
            (Some(h), None) => webhook::send(h, &q),
        }
    } else {
        send_email(channels, &q, down)
    };
    finish(dir, path, q, result, outcome, down)
}

/// Sends an email message through the configured relay it was queued for.
fn send_email(channels: &[EmailChannel], q: &Queued, down: &[(String, SendError)]) -> Result<(), SendError> {
    let channel = channels.iter().find(|c| {
        c.url == q.via
            && c.from
                .parse::<lettre::message::Mailbox>()
                .is_ok_and(|m| m.email.to_string() == q.from)
    });
    match (channel, down.iter().find(|(via, _)| *via == q.via)) {
        (None, _) => Err(SendError::NotSent(format!(
            "no `[[alerts.email]]` with url {} and this `from` is configured now; the message waits",
            q.via
        ))),
        (Some(_), Some((_, why))) => Err(why.clone()),
        (Some(c), None) => email::send(c, q),
    }
}

/// Updates the outbox after an attempt and completes the outcome.
fn finish(
    dir: &Path,
    path: Option<&Path>,
    mut q: Queued,
    result: Result<(), SendError>,
    mut outcome: AlertOutcome,
    down: &mut Vec<(String, SendError)>,
) -> AlertOutcome {
    q.attempts += 1;
    match result {
        Ok(()) => {
            outcome.status = "sent".into();
            // A crash here sends the message again on the next run (see the module docs).
            fs_atomic::fault_point("alert-sent");
            if let Some(p) = path
                && let Err(e) = fs_atomic::remove_file(p)
            {
                tracing::error!(file = %p.display(), error = %e, "Sent an alert but cannot remove it from the outbox; it may be sent again.");
            }
        }
        Err(e) if e.permanent() => {
            outcome.status = "failed".into();
            outcome.error = Some(e.to_string());
            q.last_error = Some(e.to_string());
            if let Some(p) = path {
                let to = dir.join("failed").join(p.file_name().unwrap_or_default());
                let moved = serde_json::to_vec_pretty(&q)
                    .map_err(std::io::Error::other)
                    .and_then(|b| fs_atomic::write_atomic(p, &b))
                    .and_then(|()| fs_atomic::rename_durable(p, &to));
                if let Err(err) = moved {
                    tracing::error!(file = %p.display(), error = %err, "Cannot move a refused alert out of the outbox.");
                }
            }
        }
        Err(e) => {
            outcome.error = Some(e.to_string());
            q.last_error = Some(e.to_string());
            if !down.iter().any(|(via, _)| *via == q.via) {
                down.push((q.via.clone(), e));
            }
            match path {
                Some(p) => {
                    if let Err(err) = serde_json::to_vec_pretty(&q)
                        .map_err(std::io::Error::other)
                        .and_then(|b| fs_atomic::write_atomic(p, &b))
                    {
                        tracing::warn!(file = %p.display(), error = %err, "Cannot record the attempt in the outbox.");
                    }
                }
                None => outcome.status = "failed".into(),
            }
        }
    }
    match outcome.status.as_str() {
        "sent" => tracing::info!(to = ?outcome.to, subject = %outcome.subject, "Sent an alert."),
        _ => {
            tracing::warn!(to = ?outcome.to, error = outcome.error.as_deref().unwrap_or(""), status = %outcome.status, "An alert was not delivered.")
        }
    }
    outcome
}
