//! `[alerts]` and `[[alerts.email]]` in `lakegate.toml`: when alerts go out and through which relays.
//!
//! Read with spans like the rest of the file, so a typo in a key or an address points at its line.
//! A relay's password is never in the file: `password_env` names the environment variable that holds
//! it, read by [`secret`] when a message is sent, so `validate` works without it and the value is
//! never part of the configuration that is logged or recorded.

use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::diag::{Code, did_you_mean};
use crate::spanned::TableReader;

/// When a run sends alerts (`[alerts] on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlertOn {
    /// A check failed or could not be evaluated (the default).
    Failure,
    /// Also when a warn-severity check failed.
    Warning,
    /// When a check starts failing and when it recovers (needs the history store).
    Change,
    /// After every run, passing or not.
    Always,
    /// Never (the configuration stays, nothing is sent).
    Never,
}

const ON_CHOICES: &[&str] = &["failure", "warning", "change", "always", "never"];

/// How a `smtp://` relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmtpSecurity {
    /// `smtp://`: STARTTLS when the server offers it, plain otherwise (a local relay).
    Opportunistic,
    /// `smtp://` with `starttls = "required"`: refuse a server that does not offer STARTTLS.
    StartTlsRequired,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// One `[[alerts.email]]` relay and its recipients.
#[derive(Debug, Clone)]
pub(crate) struct EmailChannel {
    /// The URL as written (it holds no secret: credentials in the URL are refused).
    pub url: String,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// A PEM file of certificates to trust besides the public roots (a relay with a private CA).
    pub tls_ca_file: Option<PathBuf>,
}

/// One `[[alerts.webhook]]`: a JSON POST endpoint (Slack-compatible `text` plus the structured result).
#[derive(Debug, Clone)]
pub(crate) struct WebhookChannel {
    /// The URL as written (credentials in it are refused).
    pub url: String,
    pub host: String,
    pub port: u16,
    /// The path and query to POST to (`/` when the URL has none).
    pub target: String,
    /// `https://`: TLS (rustls) with the public roots plus `tls_ca_file`.
    pub tls: bool,
    /// A PEM file of certificates to trust besides the public roots (an endpoint with a private CA).
    pub tls_ca_file: Option<PathBuf>,
    /// The environment variable holding the HMAC-SHA256 secret that signs each body.
    pub secret_env: Option<String>,
}

/// `[alerts]`: the policy and the channels.
#[derive(Debug, Clone)]
pub(crate) struct AlertsConfig {
    pub on: AlertOn,
    /// Under `on = "change"`: remind after this long while a check keeps firing (`None`: never).
    pub repeat: Option<std::time::Duration>,
    /// Where undelivered messages wait (default: `outbox` beside the history store).
    pub outbox: Option<PathBuf>,
    pub email: Vec<EmailChannel>,
    pub webhook: Vec<WebhookChannel>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            on: AlertOn::Failure,
            repeat: None,
            outbox: None,
            email: Vec::new(),
            webhook: Vec::new(),
        }
    }
}

/// Reads a secret from the environment: the one place lakegate does (clippy forbids `env::var`
/// elsewhere). `None` when the variable is unset or not Unicode.
#[allow(clippy::disallowed_methods)]
pub(crate) fn secret(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads `[alerts]`; the defaults when the table is absent.
pub(super) fn read(top: &mut TableReader<'_, '_>, dir: &Path) -> AlertsConfig {
    let mut cfg = AlertsConfig::default();
    let Some(mut a) = top.table("alerts", "`[alerts]`") else {
        return cfg;
    };
    if let Some(on) = a.str("on") {
        cfg.on = match on.get_ref().as_str() {
            "failure" => AlertOn::Failure,
            "warning" => AlertOn::Warning,
            "change" => AlertOn::Change,
            "always" => AlertOn::Always,
            "never" => AlertOn::Never,
            other => {
                a.push(
                    a.error(
                        Code::InvalidChoice,
                        on.span(),
                        format!("`{other}` is not an alert policy"),
                    )
                    .label("not a policy")
                    .help(did_you_mean(other, ON_CHOICES, "policies:")),
                );
                AlertOn::Failure
            }
        };
    }
    if let Some(r) = a.str("repeat") {
        match r.get_ref().as_str() {
            "0" => {}
            text => match crate::duration::parse(text) {
                Ok(d) if !d.is_zero() => cfg.repeat = Some(d),
                Ok(_) => {}
                Err(msg) => a.push(
                    a.error(
                        Code::InvalidValue,
                        r.span(),
                        format!("`repeat` is not a duration: {msg}"),
                    )
                    .label("not a duration")
                    .help(format!("{}; \"0\" never repeats", crate::duration::DURATION_HELP)),
                ),
            },
        }
    }
    cfg.outbox = a.str("outbox").map(|o| dir.join(o.get_ref()));
    for mut e in a.table_array("email") {
        e.rename(format!("`[[alerts.email]]` #{}", cfg.email.len() + 1));
        if let Some(c) = read_email(&mut e, dir) {
            cfg.email.push(c);
        }
        e.finish();
    }
    for mut w in a.table_array("webhook") {
        w.rename(format!("`[[alerts.webhook]]` #{}", cfg.webhook.len() + 1));
        if let Some(c) = read_webhook(&mut w, dir) {
            cfg.webhook.push(c);
        }
        w.finish();
    }
    a.finish();
    cfg
}

/// One `[[alerts.webhook]]`; `None` (with diagnostics) when it cannot be used.
fn read_webhook(w: &mut TableReader<'_, '_>, dir: &Path) -> Option<WebhookChannel> {
    let Some(u) = w.str("url") else {
        w.missing("url", Some("add `url = \"http://host:port/path\"`".into()));
        return None;
    };
    let secret_env = w.str("secret_env").map(Spanned::into_inner);
    let tls_ca_file = w.str("tls_ca_file").map(|f| dir.join(f.get_ref()));
    let bad = |msg: String, help: &str| {
        w.push(
            w.error(Code::InvalidValue, u.span(), msg)
                .label("not a webhook URL")
                .help(help.to_string()),
        );
    };
    let parsed = match url::Url::parse(u.get_ref()) {
        Ok(p) => p,
        Err(err) => {
            bad(
                format!("the webhook URL does not parse: {err}"),
                "write it like \"http://127.0.0.1:8080/hooks/lakegate\"",
            );
            return None;
        }
    };
    let tls = match parsed.scheme() {
        "http" => false,
        "https" => true,
        other => {
            bad(
                format!("`{other}://` is not a webhook URL"),
                "use https://host/path or http://host:port/path",
            );
            return None;
        }
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bad(
            "the webhook URL holds credentials; secrets never belong in lakegate.toml".into(),
            "remove them from the URL; `secret_env` names the variable holding the signing secret",
        );
        return None;
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        bad(
            "the webhook URL names no host".into(),
            "write it like \"http://host:8080/path\"",
        );
        return None;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let mut target = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    Some(WebhookChannel {
        url: u.into_inner(),
        host,
        port: parsed.port().unwrap_or(if tls { 443 } else { 80 }),
        target,
        tls,
        tls_ca_file,
        secret_env,
    })
}

/// One `[[alerts.email]]`; `None` (with diagnostics) when it cannot be used.
fn read_email(e: &mut TableReader<'_, '_>, dir: &Path) -> Option<EmailChannel> {
    let url = match (e.str("url"), e.str("smtp_url")) {
        (Some(u), None) | (None, Some(u)) => Some(u),
        (Some(_), Some(second)) => {
            e.push(
                e.error(
                    Code::ConflictingKeys,
                    second.span(),
                    "both `url` and `smtp_url` are given",
                )
                .label("the second relay URL")
                .help("keep one of them (`smtp_url` is another name for `url`)"),
            );
            None
        }
        (None, None) => {
            e.missing(
                "url",
                Some("add `url = \"smtp://host:port\"` (or smtps:// for implicit TLS)".into()),
            );
            None
        }
    };
    let relay = url.as_ref().and_then(|u| read_url(e, u));
    let from = e.req_str("from");
    if let Some(f) = &from {
        check_mailbox(e, f, "from");
    }
    let to = match e.str_list("to") {
        Some(t) if t.get_ref().is_empty() => {
            e.push(
                e.error(Code::EmptyValue, t.span(), "`to` lists no recipient")
                    .label("empty list")
                    .help("name at least one address, e.g. to = [\"data-oncall@example.com\"]"),
            );
            None
        }
        Some(t) => Some(t.into_inner()),
        None => {
            e.missing("to", Some("add `to = [\"data-oncall@example.com\"]`".into()));
            None
        }
    };
    let cc = e.str_list("cc").map(Spanned::into_inner).unwrap_or_default();
    for a in to.iter().flatten().chain(&cc) {
        check_mailbox(e, a, "recipient");
    }
    let username = e.str("username");
    let password_env = e.str("password_env");
    match (&username, &password_env) {
        (Some(u), None) => e.push(
            e.error(Code::MissingKey, u.span(), "`username` is given without `password_env`")
                .label("a login needs a password")
                .help("add `password_env = \"NAME\"`, the environment variable that holds the password"),
        ),
        (None, Some(p)) => e.push(
            e.error(Code::MissingKey, p.span(), "`password_env` is given without `username`")
                .label("a password needs a login")
                .help("add `username = \"...\"`"),
        ),
        _ => {}
    }
    let mut security = relay.as_ref().map(|r| r.2);
    if let Some(s) = e.str("starttls") {
        match (s.get_ref().as_str(), security) {
            ("required", Some(SmtpSecurity::Opportunistic)) => security = Some(SmtpSecurity::StartTlsRequired),
            ("opportunistic" | "required", _) => {}
            (other, _) => e.push(
                e.error(
                    Code::InvalidChoice,
                    s.span(),
                    format!("`{other}` is not a STARTTLS mode"),
                )
                .label("not a mode")
                .help(did_you_mean(other, &["opportunistic", "required"], "modes:")),
            ),
        }
    }
    let tls_ca_file = e.str("tls_ca_file").map(|f| dir.join(f.get_ref()));
    let (host, port, _) = relay?;
    Some(EmailChannel {
        url: url?.into_inner(),
        host,
        port,
        security: security?,
        from: from?.into_inner(),
        to: to?.into_iter().map(Spanned::into_inner).collect(),
        cc: cc.into_iter().map(Spanned::into_inner).collect(),
        username: username.map(Spanned::into_inner),
        password_env: password_env.map(Spanned::into_inner),
        tls_ca_file,
    })
}

/// `smtp://host[:port]` or `smtps://host[:port]`: host, port and security; credentials refused.
fn read_url(e: &TableReader<'_, '_>, u: &Spanned<String>) -> Option<(String, u16, SmtpSecurity)> {
    let bad = |msg: String, help: &str| {
        e.push(
            e.error(Code::InvalidValue, u.span(), msg)
                .label("not a relay URL")
                .help(help.to_string()),
        );
    };
    let parsed = match url::Url::parse(u.get_ref()) {
        Ok(p) => p,
        Err(err) => {
            bad(
                format!("the relay URL does not parse: {err}"),
                "write it like \"smtp://127.0.0.1:2525\"",
            );
            return None;
        }
    };
    let (security, default_port) = match parsed.scheme() {
        "smtp" => (SmtpSecurity::Opportunistic, 25),
        "smtps" => (SmtpSecurity::Implicit, 465),
        other => {
            bad(
                format!("`{other}://` is not an SMTP relay URL"),
                "use smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)",
            );
            return None;
        }
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bad(
            "the relay URL holds credentials; secrets never belong in lakegate.toml".into(),
            "remove them from the URL and use `username` and `password_env` (the variable that holds the password)",
        );
        return None;
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        bad(
            "the relay URL names no host".into(),
            "write it like \"smtp://mail.example.com:587\"",
        );
        return None;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Some((host, parsed.port().unwrap_or(default_port), security))
}

/// Reports an address that is not a mailbox (`a@b.c` or `Name <a@b.c>`).
fn check_mailbox(e: &TableReader<'_, '_>, a: &Spanned<String>, what: &str) {
    if let Err(err) = a.get_ref().parse::<lettre::message::Mailbox>() {
        e.push(
            e.error(
                Code::InvalidValue,
                a.span(),
                format!("`{}` is not a valid {what} address: {err}", a.get_ref()),
            )
            .label("not an email address")
            .help("write it like \"data-oncall@example.com\" or \"Data On-call <data-oncall@example.com>\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diags;

    fn parse(text: &str) -> (Option<crate::config::Project>, Vec<crate::diag::Diagnostic>) {
        let d = Diags::default();
        let p = crate::config::parse(
            Path::new("/p/lakegate.toml"),
            &format!("[lake]\nroot = \"l\"\n{text}"),
            &d,
        );
        (p, d.into_vec())
    }

    #[test]
    fn reads_a_relay_and_its_recipients() {
        let (p, d) = parse(
            "[alerts]\non = \"warning\"\n[[alerts.email]]\nurl = \"smtp://127.0.0.1:2525\"\nfrom = \"lakegate@example.com\"\nto = [\"a@example.com\"]\ncc = \"b@example.com\"\nusername = \"u\"\npassword_env = \"PW\"\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let a = p.unwrap().alerts;
        assert_eq!(a.on, AlertOn::Warning);
        let e = &a.email[0];
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("127.0.0.1", 2525, SmtpSecurity::Opportunistic)
        );
        assert_eq!((e.to.len(), e.cc.len()), (1, 1));
        assert_eq!(e.password_env.as_deref(), Some("PW"));
    }

    #[test]
    fn reads_a_webhook() {
        let (p, d) = parse("[[alerts.webhook]]\nurl = \"http://127.0.0.1:9/hooks/x?a=1\"\nsecret_env = \"S\"\n");
        assert!(d.is_empty(), "{d:?}");
        let w = &p.unwrap().alerts.webhook[0];
        assert_eq!(
            (w.host.as_str(), w.port, w.target.as_str(), w.secret_env.as_deref()),
            ("127.0.0.1", 9, "/hooks/x?a=1", Some("S"))
        );
    }

    #[test]
    fn every_mistake_is_a_diagnostic_with_a_code() {
        for (text, code, want) in [
            (
                "[alerts]\non = \"failur\"\n",
                Code::InvalidChoice,
                "did you mean `failure`?",
            ),
            ("[alerts]\nonn = \"failure\"\n", Code::UnknownKey, "did you mean `on`?"),
            (
                "[[alerts.email]]\nurl = \"smtp://u:secret@h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\n",
                Code::InvalidValue,
                "holds credentials",
            ),
            (
                "[[alerts.email]]\nurl = \"http://h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\n",
                Code::InvalidValue,
                "not an SMTP relay URL",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nfrom = \"a@b.c\"\nto = [\"nobody\"]\n",
                Code::InvalidValue,
                "not a valid recipient",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nfrom = \"a@b.c\"\n",
                Code::MissingKey,
                "`to`",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nfrom = \"a@b.c\"\nto = []\n",
                Code::EmptyValue,
                "no recipient",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\npassword = \"x\"\n",
                Code::UnknownKey,
                "did you mean `password_env`?",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\nusername = \"u\"\n",
                Code::MissingKey,
                "without `password_env`",
            ),
            (
                "[[alerts.webhook]]\nurl = \"ftp://h/x\"\n",
                Code::InvalidValue,
                "not a webhook URL",
            ),
            (
                "[[alerts.webhook]]\nurl = \"http://u:p@h/x\"\n",
                Code::InvalidValue,
                "holds credentials",
            ),
            ("[[alerts.webhook]]\nsecret = \"x\"\n", Code::MissingKey, "`url`"),
        ] {
            let (p, d) = parse(text);
            assert!(p.is_none(), "{text}");
            assert!(
                d.iter().any(|x| x.code == code
                    && (x.message.contains(want) || x.help.as_deref().is_some_and(|h| h.contains(want)))),
                "{text}: {d:?}"
            );
        }
    }
}
