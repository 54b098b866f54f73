//! Alerts: after a run, one digest per channel and recipient set, sent through the `[[alerts.email]]`
//! relays and posted to the `[[alerts.webhook]]` endpoints, with nothing lost when one is down.
//!
//! The run has judged and recorded itself before this module is called (from the CLI edge, after
//! `check` or `promote`), so an alert can never change a verdict or the exit code; what became of
//! each message is returned for the run's JSON result. The policy (`[alerts] on`) picks the datasets
//! and checks that fire ([`policy`]); [`render`] writes the subject, text and HTML parts;
//! [`email`] builds and sends the message; every message goes through the [`outbox`] first, so a
//! relay that is down (or a process that dies mid-send) leaves it there for the next run.
//! [`probe`] sends `lakegate alerts test`'s test message through every channel.

pub(crate) mod email;
pub(crate) mod outbox;
pub(crate) mod policy;
pub(crate) mod probe;
pub(crate) mod render;
pub(crate) mod webhook;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Project;
use crate::config::alerts::AlertOn;
use crate::results::{AlertOutcome, RunResult};
use crate::suite::Suite;

/// Renders the HTML part of a digest's email. The CLI passes the report's summary renderer
/// (`report::summary`, through `outputs::email_html`): `alerts` and `report` share a layer and
/// import neither each other, and the HTML part has one renderer, the report's template.
pub(crate) type HtmlPart<'a> = &'a dyn Fn(&policy::Digest<'_>, &RunResult) -> Result<String, String>;

/// Why a message was not delivered. It never holds a secret: a password a server echoes is
/// scrubbed, and a webhook is named by its URL's scheme and host only.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum SendError {
    /// The server answered and said no (its reply is the reason); `permanent` when trying again
    /// cannot help (a 5xx mail reply, an HTTP 4xx other than 408 and 429).
    #[error("{reason}")]
    Refused { reason: String, permanent: bool },
    /// No conversation: the server could not be reached, or not securely (TLS), or it stalled.
    #[error("{0}")]
    Unreachable(String),
    /// Nothing was sent: something lakegate needs is missing (a variable, a CA file, a channel).
    #[error("{0}")]
    NotSent(String),
}

impl SendError {
    /// Whether trying again later cannot help (the message moves to `outbox/failed/`).
    pub(crate) fn permanent(&self) -> bool {
        matches!(self, SendError::Refused { permanent: true, .. })
    }
}

/// Where undelivered messages wait: `[alerts] outbox`, or `outbox` beside the history store.
pub(crate) fn outbox_dir(project: &Project) -> PathBuf {
    project.alerts.outbox.clone().unwrap_or_else(|| {
        project
            .history_dir
            .parent()
            .map_or_else(|| project.dir.join("outbox"), |p| p.join("outbox"))
    })
}

/// Sends the run's alerts and records what became of them in the run's result and, unless
/// `history` is `None` (`--no-history`), in the history store.
pub(crate) async fn deliver_and_record(
    project: &Project,
    suites: &[Suite],
    run: &mut RunResult,
    history: Option<&crate::history::Store>,
    html: HtmlPart<'_>,
) {
    run.alerts = deliver(project, suites, run, html).await;
    if let Some(store) = history
        && let Err(e) = store.append_alerts(run)
    {
        tracing::error!(dir = %store.dir.display(), error = %e, "Could not record the alerts in the history store.");
    }
}

/// Sends the run's alerts (and retries earlier ones waiting in the outbox); returns what became of
/// each message. Sending blocks on the network, so it runs on a blocking thread.
pub(crate) async fn deliver(
    project: &Project,
    suites: &[Suite],
    run: &RunResult,
    html: HtmlPart<'_>,
) -> Vec<AlertOutcome> {
    let cfg = &project.alerts;
    if cfg.on == AlertOn::Never || (cfg.email.is_empty() && cfg.webhook.is_empty()) {
        return Vec::new();
    }
    let owners: BTreeMap<String, Vec<String>> = suites
        .iter()
        .map(|s| (s.dataset.name.get_ref().clone(), s.dataset.owners.clone()))
        .collect();
    let history = crate::history::Store {
        dir: project.history_dir.clone(),
    };
    let digests = policy::digests(cfg, run, &owners, &history);
    let mut fresh = Vec::new();
    for d in &digests {
        let channel = &cfg.email[d.channel];
        match email::compose(channel, d, run, html) {
            Ok(m) => fresh.push(m),
            Err(e) => tracing::error!(error = %e, "Could not compose an alert message."),
        }
    }
    for d in &policy::webhook_digests(cfg, run, &history) {
        fresh.push(webhook::compose(&cfg.webhook[d.channel], d, run));
    }
    let dir = outbox_dir(project);
    if fresh.is_empty() && !dir.exists() {
        return Vec::new();
    }
    let channels = cfg.email.clone();
    let hooks = cfg.webhook.clone();
    let run_id = run.run_id.clone();
    tokio::task::spawn_blocking(move || outbox::send_all(&dir, &channels, &hooks, fresh, &run_id))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "The alert sender stopped.");
            Vec::new()
        })
}
