//! Webhooks: a digest becomes one JSON POST — a Slack-compatible `text` (at most [`TEXT_CAP`]
//! characters) and the structured alert under `lakegate` — signed with HMAC-SHA256 when the
//! channel names a secret.
//!
//! The body is composed once and queued in the outbox like an email; the signature is computed when
//! it is sent, from the environment variable `secret_env` names, so the secret is never in the
//! outbox, a log line, an error or the run's result. HTTP/1.1 over TCP, with TLS (rustls, the
//! public roots plus `tls_ca_file`) for `https://`: a 2xx answer is delivery, a 4xx other than 408 and 429 a refusal for good,
//! anything else (no connection, timeout, 5xx) a transient failure retried with bounded backoff
//! within the run and by later runs.

use std::fmt::Write as _;
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::SendError;
use super::outbox::Queued;
use super::policy::{Digest, DigestKind};
use super::render;
use crate::config::alerts::{Endpoint, WebhookChannel, secret};
use crate::results::RunResult;

/// Slack's limit on a message's `text`.
pub(crate) const TEXT_CAP: usize = 3000;
/// Pauses between attempts within one run.
const BACKOFF: &[Duration] = &[Duration::from_millis(200), Duration::from_millis(800)];
/// How long connecting, writing or waiting for the answer may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `X-Lakegate-Signature` value of a body: `sha256=<hex>`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), body)))
}

/// The Slack-compatible summary: the subject, then one line per listed check, cut to
/// [`TEXT_CAP`] characters with "… and K more".
pub(crate) fn summary(d: &Digest<'_>) -> String {
    let mut out = render::subject(d);
    let lines: Vec<String> = d
        .datasets
        .iter()
        .flat_map(|a| {
            let err = a
                .dataset
                .error
                .as_ref()
                .map(|e| format!("• {} could not be checked: {e}", a.dataset.name));
            err.into_iter().chain(a.checks.iter().map(|c| {
                let rows = c
                    .failing_rows
                    .map(|n| format!(" ({n} failing rows)"))
                    .unwrap_or_default();
                format!("• {} `{}`: {}{rows}", c.status.as_str().to_uppercase(), c.id, c.message)
            }))
        })
        .collect();
    let mut used = out.chars().count();
    for (i, line) in lines.iter().enumerate() {
        let left = lines.len() - i;
        let tail = if left > 1 {
            format!("\n… and {} more", left - 1).chars().count()
        } else {
            0
        };
        let n = line.chars().count() + 1;
        if used + n + tail > TEXT_CAP {
            let more = format!("\n… and {left} more");
            if used + more.chars().count() > TEXT_CAP {
                // Even the subject is too long: cut it.
                let keep = TEXT_CAP.saturating_sub(more.chars().count());
                out = out.chars().take(keep).collect();
            }
            out.push_str(&more);
            return out;
        }
        out.push('\n');
        out.push_str(line);
        used += n;
    }
    if used > TEXT_CAP {
        out = out.chars().take(TEXT_CAP).collect();
    }
    out
}

/// Builds the POST body of a digest, ready to queue.
pub(crate) fn compose(channel: &WebhookChannel, d: &Digest<'_>, run: &RunResult) -> Queued {
    let kind = match d.kind {
        DigestKind::Firing => "firing",
        DigestKind::Resolved => "resolved",
        DigestKind::Passing => "passing",
    };
    let url_hash: String = hex(&Sha256::digest(channel.url.as_bytes())[..6]);
    let message_id = format!("lakegate.{}.webhook.{kind}.{url_hash}", run.run_id);
    let datasets: Vec<_> = d
        .datasets
        .iter()
        .map(|a| {
            json!({
                "name": a.dataset.name,
                "zone": a.dataset.zone,
                "status": a.dataset.status,
                "error": a.dataset.error,
                "checks": a.checks.iter().map(|c| json!({
                    "id": c.id,
                    "status": c.status,
                    "message": c.message,
                    "failing_rows": c.failing_rows,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let body = json!({
        "text": summary(d),
        "lakegate": {
            "run_id": run.run_id,
            "message_id": message_id,
            "kind": kind,
            "status": run.status,
            "command": run.command,
            "finished_at": run.finished_at,
            "datasets": datasets,
        },
    });
    Queued {
        message_id,
        run_id: run.run_id.clone(),
        channel: "webhook".into(),
        via: channel.url.clone(),
        from: String::new(),
        rcpt: Vec::new(),
        to: Vec::new(),
        subject: render::subject(d),
        raw: body.to_string(),
        attempts: 0,
        last_error: None,
    }
}

/// The body `lakegate alerts test` posts (never queued): a `text` saying so, and `kind = "test"`.
pub(crate) fn compose_test(channel: &WebhookChannel, id: &str, at: chrono::DateTime<chrono::Utc>) -> Queued {
    let message_id = format!("lakegate.test.{id}");
    let subject = "[lakegate] test message".to_string();
    let body = json!({
        "text": format!("{subject} (`lakegate alerts test`): alerts posted here arrive."),
        "lakegate": { "message_id": message_id, "kind": "test", "sent_at": at },
    });
    Queued {
        message_id,
        run_id: format!("test-{id}"),
        channel: "webhook".into(),
        via: channel.url.clone(),
        from: String::new(),
        rcpt: Vec::new(),
        to: Vec::new(),
        subject,
        raw: body.to_string(),
        attempts: 0,
        last_error: None,
    }
}

/// Posts a JSON body that is not an alert (a heartbeat, a lineage event) through the same client:
/// `id` is its `X-Lakegate-Message-Id`, `channel` names it in logs.
pub(crate) fn post_json(channel: &WebhookChannel, label: &str, id: &str, body: String) -> Result<(), SendError> {
    let q = Queued {
        message_id: id.to_string(),
        run_id: id.to_string(),
        channel: label.to_string(),
        via: shown_url(&channel.url),
        from: String::new(),
        rcpt: Vec::new(),
        to: Vec::new(),
        subject: String::new(),
        raw: body,
        attempts: 0,
        last_error: None,
    };
    send(channel, &q)
}

/// Posts a queued body to its webhook, retrying transient failures with backoff.
pub(crate) fn send(channel: &WebhookChannel, q: &Queued) -> Result<(), SendError> {
    let ep = channel.endpoint().map_err(|e| SendError::NotSent(e.to_string()))?;
    let sig = match &channel.secret_env {
        Some(var) => Some(signature(
            &secret(var).filter(|s| !s.is_empty()).ok_or_else(|| {
                SendError::NotSent(format!(
                    "the environment variable `{var}` (named by `secret_env`) is not set"
                ))
            })?,
            q.raw.as_bytes(),
        )),
        None => None,
    };
    let mut headers = String::new();
    if let Some(sig) = &sig {
        let _ = write!(headers, "X-Lakegate-Signature: {sig}\r\n");
    }
    if let Some(var) = &channel.bearer_env {
        // A value with a line break would smuggle headers in: refused, never sent.
        let token = secret(var)
            .filter(|t| !t.is_empty() && !t.contains(['\r', '\n']))
            .ok_or_else(|| {
                SendError::NotSent(format!(
                    "the environment variable `{var}` (named by `api_key_env`) is not set, or holds a line break"
                ))
            })?;
        let _ = write!(headers, "Authorization: Bearer {token}\r\n");
    }
    let tls = match ep.scheme.as_str() {
        "https" => Some(tls_config(channel).map_err(SendError::NotSent)?),
        _ => None,
    };
    let shown = shown_url(&channel.url);
    let mut attempt = 0;
    loop {
        let result = post(&ep, tls.as_ref(), q, &headers, channel.timeout.unwrap_or(TIMEOUT));
        match &result {
            Ok((code, _)) if (200..300).contains(code) => return Ok(()),
            Ok((code, status)) if (400..500).contains(code) && *code != 408 && *code != 429 => {
                return Err(SendError::Refused {
                    reason: format!("the webhook {shown} refused the message: {status}"),
                    permanent: true,
                });
            }
            _ => {}
        }
        if let Some(pause) = BACKOFF.get(attempt) {
            tracing::debug!(attempt, answer = ?result.as_ref().map(|r| &r.1), "Posting an alert failed; trying again.");
            std::thread::sleep(*pause);
            attempt += 1;
            continue;
        }
        return Err(match result {
            Ok((_, status)) => SendError::Refused {
                reason: format!("the webhook {shown} answered {status}"),
                permanent: false,
            },
            Err(e) => SendError::Unreachable(format!(
                "cannot deliver to {shown}: {e}{}",
                super::email::untrusted_hint(&e)
            )),
        });
    }
}

/// One POST (over TLS with `tls`), each of connecting, sending and awaiting the answer limited to
/// `timeout`; the answer's status code and status line.
fn post(
    ep: &Endpoint,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    q: &Queued,
    headers: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let addrs: Vec<_> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", ep.host))?
        .collect();
    let mut last = format!("{} resolves to no address", ep.host);
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    let s = stream.ok_or(last)?;
    let io = |e: std::io::Error| e.to_string();
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    if let Some(config) = tls {
        let name = rustls::pki_types::ServerName::try_from(ep.host.clone())
            .map_err(|e| format!("`{}` is not a TLS server name: {e}", ep.host))?;
        let conn =
            rustls::ClientConnection::new(config.clone(), name).map_err(|e| format!("cannot set up TLS: {e}"))?;
        exchange(ep, q, headers, rustls::StreamOwned::new(conn, s))
    } else {
        exchange(ep, q, headers, s)
    }
}

/// The TLS client configuration: the public roots (webpki-roots) and the `tls_ca_file` certificates.
fn tls_config(channel: &WebhookChannel) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = &channel.tls_ca_file {
        let pem = std::fs::read(file).map_err(|e| format!("cannot read `tls_ca_file` {}: {e}", file.display()))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("`tls_ca_file` {}: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("`tls_ca_file` {}: {e}", file.display()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// Writes the request and reads the status line of the answer (its code, and the line without
/// the protocol: "403 Forbidden").
fn exchange(
    ep: &Endpoint,
    q: &Queued,
    headers: &str,
    mut s: impl std::io::Read + std::io::Write,
) -> Result<(u16, String), String> {
    let io = |e: std::io::Error| e.to_string();
    let host = if ep.host.contains(':') {
        format!("[{}]:{}", ep.host, ep.port)
    } else {
        format!("{}:{}", ep.host, ep.port)
    };
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lakegate/{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nX-Lakegate-Message-Id: {}\r\nConnection: close\r\n",
        ep.target,
        env!("CARGO_PKG_VERSION"),
        q.raw.len(),
        q.message_id
    );
    head.push_str(headers);
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).map_err(io)?;
    s.write_all(q.raw.as_bytes()).map_err(io)?;
    s.flush().map_err(io)?;
    // The status line is all that is needed: read until its end (or the connection closes).
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.contains(&b'\n') {
        let n = s.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    let line = line.lines().next().unwrap_or("");
    let status: String = line.split_once(' ').map_or("", |(_, s)| s).chars().take(120).collect();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .filter(|_| line.starts_with("HTTP/"))
        .map(|code| (code, format!("HTTP {}", status.trim())))
        .ok_or_else(|| format!("not an HTTP answer: {:?}", line.chars().take(80).collect::<String>()))
}

/// A webhook URL as results, history and messages show it: scheme and host only. The path and
/// query of a webhook URL often are its credential (a Slack incoming webhook's token), so they are
/// never written out; the outbox keeps the whole URL, since it must send there. A URL from the
/// environment (`url_env`) is shown as `env:NAME` and is never written anywhere.
pub(crate) fn shown_url(url: &str) -> String {
    if url.starts_with("env:") {
        // `url_env`: the variable's name is all there is to show.
        return url.to_string();
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return "…".to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.len() == rest.len() || rest[authority.len()..] == *"/" {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}/…")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_webhook_url_is_shown_without_its_path() {
        assert_eq!(
            super::shown_url("https://hooks.slack.com/services/T0/B0/secret-token"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(super::shown_url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(super::shown_url("http://h:1?token=x"), "http://h:1/…");
        assert_eq!(super::shown_url("not a url"), "…");
    }
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
