//! Email through an SMTP relay (lettre): a digest becomes a multipart text + HTML message with a
//! stable Message-ID, and a queued message is sent as the bytes it was queued as.
//!
//! `smtp://` upgrades with STARTTLS when the server offers it (a local relay without TLS is
//! allowed), `starttls = "required"` refuses one that does not, `smtps://` is TLS from the first
//! byte; `tls_ca_file` adds a private CA to the public roots. The password is read from the
//! environment variable `password_env` names at the moment of sending and is never part of a
//! message, a log line or an error (errors are scrubbed of it in case a server echoes it).

use std::time::Duration;

use chrono::{DateTime, Utc};

use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use sha2::{Digest as _, Sha256};

use super::outbox::Queued;
use super::policy::{Digest, DigestKind};
use super::render;
use super::{HtmlPart, SendError};
use crate::config::alerts::{EmailChannel, SmtpSecurity, secret};
use crate::results::RunResult;

/// Attempts per message within one run, and the pauses between them (bounded backoff); a message
/// still undelivered after them waits in the outbox for the next run.
const BACKOFF: &[Duration] = &[Duration::from_millis(200), Duration::from_millis(800)];
/// How long one SMTP conversation may stall.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The Message-ID of a digest: the same for the same run, channel, kind and recipients, so a
/// message sent twice (see the outbox's guarantee) carries one id that mail systems deduplicate on.
fn message_id(run: &RunResult, d: &Digest<'_>, from: &Mailbox) -> String {
    let mut h = Sha256::new();
    for t in &d.to {
        h.update(t.as_bytes());
        h.update([0]);
    }
    let hash: String = h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let kind = match d.kind {
        DigestKind::Firing => "firing",
        DigestKind::Resolved => "resolved",
        DigestKind::Passing => "passing",
    };
    format!(
        "<lakegate.{}.{}.{kind}.{hash}@{}>",
        run.run_id,
        d.channel,
        from.email.domain()
    )
}

/// Builds the message of a digest, ready to queue.
pub(crate) fn compose(
    channel: &EmailChannel,
    d: &Digest<'_>,
    run: &RunResult,
    html: HtmlPart<'_>,
) -> Result<Queued, String> {
    let from: Mailbox = channel.from.parse().map_err(|e| format!("`from`: {e}"))?;
    let parse = |list: &[String]| -> Result<Vec<Mailbox>, String> {
        list.iter()
            .map(|a| a.parse::<Mailbox>().map_err(|e| format!("`{a}`: {e}")))
            .collect()
    };
    let to = parse(&d.to)?;
    let cc = parse(&channel.cc)?;
    let id = message_id(run, d, &from);
    let subject = render::subject(d);
    let mut b = Message::builder()
        .from(from.clone())
        .subject(subject.clone())
        .message_id(Some(id.clone()))
        .date(std::time::SystemTime::from(run.finished_at))
        .header(header::MIME_VERSION_1_0);
    for m in &to {
        b = b.to(m.clone());
    }
    for m in &cc {
        b = b.cc(m.clone());
    }
    let text = render::text(d, run);
    let html = html(d, run).unwrap_or_else(|e| {
        tracing::error!(error = %e, "Could not render the HTML part of an alert; sending the text in it.");
        render::fallback_html(&text, &e)
    });
    let message = b
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())?;
    let raw = String::from_utf8(message.formatted()).map_err(|e| e.to_string())?;
    Ok(Queued {
        message_id: id,
        run_id: run.run_id.clone(),
        channel: "email".into(),
        via: channel.url.clone(),
        from: from.email.to_string(),
        to: d.to.clone(),
        rcpt: to.iter().chain(&cc).map(|m| m.email.to_string()).collect(),
        subject,
        raw,
        attempts: 0,
        last_error: None,
    })
}

/// The message `lakegate alerts test` sends through a channel (never queued): to its `to` and `cc`,
/// plain text, with the Message-ID `<lakegate.test.ID@from-domain>`.
pub(crate) fn compose_test(channel: &EmailChannel, id: &str, at: DateTime<Utc>) -> Result<Queued, String> {
    let from: Mailbox = channel.from.parse().map_err(|e| format!("`from`: {e}"))?;
    let to = channel
        .to
        .iter()
        .chain(&channel.cc)
        .map(|a| a.parse::<Mailbox>().map_err(|e| format!("`{a}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let message_id = format!("<lakegate.test.{id}@{}>", from.email.domain());
    let subject = "[lakegate] test message".to_string();
    let mut b = Message::builder()
        .from(from.clone())
        .subject(subject.clone())
        .message_id(Some(message_id.clone()))
        .date(std::time::SystemTime::from(at))
        .header(header::MIME_VERSION_1_0);
    for m in &to {
        b = b.to(m.clone());
    }
    let text = format!(
        "This is a test message from lakegate (`lakegate alerts test`), sent through {} at {}.\n\n\
         Alerts sent through this relay reach these recipients.\n",
        channel.url,
        at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let message = b.body(text).map_err(|e| e.to_string())?;
    Ok(Queued {
        message_id,
        run_id: format!("test-{id}"),
        channel: "email".into(),
        via: channel.url.clone(),
        from: from.email.to_string(),
        to: channel.to.clone(),
        rcpt: to.iter().map(|m| m.email.to_string()).collect(),
        subject,
        raw: String::from_utf8(message.formatted()).map_err(|e| e.to_string())?,
        attempts: 0,
        last_error: None,
    })
}

/// Sends a queued message through its channel, retrying transient failures with backoff.
pub(crate) fn send(channel: &EmailChannel, q: &Queued) -> Result<(), SendError> {
    let password = match &channel.password_env {
        Some(var) => Some(secret(var).filter(|p| !p.is_empty()).ok_or_else(|| {
            SendError::NotSent(format!(
                "the environment variable `{var}` (named by `password_env`) is not set"
            ))
        })?),
        None => None,
    };
    let scrub = |s: String| match &password {
        Some(p) => s.replace(p.as_str(), "***"),
        None => s,
    };
    let transport = transport(channel, password.as_deref()).map_err(|e| SendError::NotSent(scrub(e)))?;
    let envelope = envelope(q).map_err(|reason| SendError::Refused {
        reason,
        permanent: true,
    })?;
    let mut attempt = 0;
    loop {
        match transport.send_raw(&envelope, q.raw.as_bytes()) {
            Ok(_) => return Ok(()),
            // A refused login (530, 534, 535, 538) is a configuration to fix, not a message to drop.
            Err(e)
                if e.is_permanent()
                    && !e
                        .status()
                        .is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538")) =>
            {
                return Err(SendError::Refused {
                    reason: scrub(format!("the relay refused the message: {e}")),
                    permanent: true,
                });
            }
            Err(e) => {
                if let Some(pause) = BACKOFF.get(attempt) {
                    tracing::debug!(attempt, error = %scrub(e.to_string()), "Sending an alert failed; trying again.");
                    std::thread::sleep(*pause);
                    attempt += 1;
                } else {
                    return Err(classify(channel, &e, scrub));
                }
            }
        }
    }
}

/// The last error of a send, in words: the relay's reply, or why there was no conversation.
fn classify(channel: &EmailChannel, e: &lettre::transport::smtp::Error, scrub: impl Fn(String) -> String) -> SendError {
    if e.is_permanent() || e.is_transient() {
        return SendError::Refused {
            reason: scrub(format!("the relay {} refused the message: {e}", channel.url)),
            permanent: false,
        };
    }
    let text = scrub(e.to_string());
    if channel.security == SmtpSecurity::StartTlsRequired && e.is_client() && text.contains("STARTTLS") {
        return SendError::Unreachable(format!(
            "the relay {} does not offer STARTTLS, and `starttls = \"required\"` forbids sending without it",
            channel.url
        ));
    }
    SendError::Unreachable(format!(
        "cannot deliver through {}: {text}{}",
        channel.url,
        untrusted_hint(&text)
    ))
}

/// What to do about a certificate the relay or endpoint presented that is not trusted.
pub(crate) fn untrusted_hint(error: &str) -> &'static str {
    if error.contains("invalid peer certificate") {
        " (the server's certificate is not trusted: add its CA to `tls_ca_file`)"
    } else {
        ""
    }
}

fn envelope(q: &Queued) -> Result<Envelope, String> {
    let from = q.from.parse().map_err(|e| format!("`{}`: {e}", q.from))?;
    let rcpt = q
        .rcpt
        .iter()
        .map(|a| a.parse().map_err(|e| format!("`{a}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from), rcpt).map_err(|e| e.to_string())
}

/// The relay's transport: host, port, TLS mode and trusted roots, login.
fn transport(channel: &EmailChannel, password: Option<&str>) -> Result<SmtpTransport, String> {
    let mut params = TlsParameters::builder(channel.host.clone());
    if let Some(file) = &channel.tls_ca_file {
        let pem = std::fs::read(file).map_err(|e| format!("cannot read `tls_ca_file` {}: {e}", file.display()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("`tls_ca_file` {}: {e}", file.display()))?;
        params = params.add_root_certificate(cert);
    }
    let params = params.build().map_err(|e| format!("cannot set up TLS: {e}"))?;
    let tls = match channel.security {
        SmtpSecurity::Opportunistic => Tls::Opportunistic(params),
        SmtpSecurity::StartTlsRequired => Tls::Required(params),
        SmtpSecurity::Implicit => Tls::Wrapper(params),
    };
    let mut b = SmtpTransport::builder_dangerous(channel.host.clone())
        .port(channel.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let (Some(user), Some(pw)) = (&channel.username, password) {
        b = b.credentials(Credentials::new(user.clone(), pw.to_string()));
    }
    Ok(b.build())
}
