//! `[alerts]`, `[[alerts.email]]` and `[[alerts.webhook]]` in `lakegate.toml`: when alerts go out
//! and through which channels.
//!
//! Read with spans like the rest of the file, so a typo in a key or an address points at its line.
//! Both kinds of channel share their URL and TLS keys, read by one reader (`read_common`) under
//! each kind's [`UrlRules`]. Secrets are never in the file: `password_env`, `secret_env` and
//! `url_env` name environment variables, read by [`secret`] when a message is sent, so `validate`
//! works without them and their values are never part of the configuration that is logged or
//! recorded.

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
    /// The channel's identity in the outbox: the URL as written (credentials in it are refused),
    /// or `env:NAME` for `url_env`, so a URL from the environment is never written to disk.
    pub url: String,
    /// Where the URL comes from.
    pub source: UrlSource,
    /// A PEM file of certificates to trust besides the public roots (an endpoint with a private CA).
    pub tls_ca_file: Option<PathBuf>,
    /// The environment variable holding the HMAC-SHA256 secret that signs each body.
    pub secret_env: Option<String>,
    /// The environment variable holding a token sent as `Authorization: Bearer` (`[lineage]
    /// api_key_env`).
    pub bearer_env: Option<String>,
    /// How long one try may take to connect, send and be answered (`[lineage] timeout`); the
    /// client's own limit when `None`.
    pub timeout: Option<std::time::Duration>,
}

/// Why a webhook's URL cannot be had when sending (`url_env`).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error("the environment variable `{0}` (named by `url_env`) is not set")]
    Unset(String),
    #[error("the environment variable `{name}` (named by `url_env`) holds a URL lakegate cannot use: {error}")]
    Invalid { name: String, error: UrlError },
}

impl WebhookChannel {
    /// Where to POST: the URL from the file, or from the environment at the moment of sending.
    pub(crate) fn endpoint(&self) -> Result<Endpoint, EndpointError> {
        match &self.source {
            UrlSource::Literal(e) => Ok(e.clone()),
            UrlSource::Env(name) => {
                let text = secret(name)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| EndpointError::Unset(name.clone()))?;
                WEBHOOK_URLS.parse(text.trim()).map_err(|error| EndpointError::Invalid {
                    name: name.clone(),
                    error,
                })
            }
        }
    }
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

/// How a channel's URL must look: its schemes (with default ports) and the words of its diagnostics.
pub(crate) struct UrlRules {
    /// "relay" or "webhook", in messages.
    what: &'static str,
    schemes: &'static [(&'static str, u16)],
    example: &'static str,
    scheme_help: &'static str,
    secret_help: &'static str,
}

const SMTP_URLS: UrlRules = UrlRules {
    what: "relay",
    schemes: &[("smtp", 25), ("smtps", 465)],
    example: "smtp://mail.example.com:587",
    scheme_help: "use smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)",
    secret_help: "remove them from the URL and use `username` and `password_env` (the variable that holds the password)",
};

pub(crate) const WEBHOOK_URLS: UrlRules = UrlRules {
    what: "webhook",
    schemes: &[("http", 80), ("https", 443)],
    example: "http://127.0.0.1:8080/hooks/lakegate",
    scheme_help: "use https://host/path or http://host:port/path",
    secret_help: "remove them from the URL; `secret_env` names the variable holding the signing secret",
};

/// Where a channel sends: a URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// The path and query (`/` when the URL has none).
    pub target: String,
}

/// Why a channel URL cannot be used. The messages never quote the URL: a webhook URL read from
/// the environment (`url_env`) is a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum UrlError {
    #[error("the {what} URL does not parse: {error}")]
    Parse { what: &'static str, error: url::ParseError },
    #[error("`{scheme}://` is not a {what} URL")]
    Scheme { what: &'static str, scheme: String },
    #[error("the {what} URL holds credentials; secrets never belong in lakegate.toml")]
    Credentials { what: &'static str },
    #[error("the {what} URL names no host")]
    NoHost { what: &'static str },
}

impl UrlRules {
    /// Takes a URL apart: a scheme of these rules, a host, no credentials.
    pub(crate) fn parse(&self, text: &str) -> Result<Endpoint, UrlError> {
        let what = self.what;
        let parsed = url::Url::parse(text).map_err(|error| UrlError::Parse { what, error })?;
        let Some(&(_, default_port)) = self.schemes.iter().find(|(s, _)| *s == parsed.scheme()) else {
            return Err(UrlError::Scheme {
                what,
                scheme: parsed.scheme().to_string(),
            });
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlError::Credentials { what });
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(UrlError::NoHost { what })?;
        let mut target = parsed.path().to_string();
        if let Some(q) = parsed.query() {
            target.push('?');
            target.push_str(q);
        }
        Ok(Endpoint {
            scheme: parsed.scheme().to_string(),
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port: parsed.port().unwrap_or(default_port),
            target,
        })
    }

    /// The `help:` line for a problem.
    fn help(&self, e: &UrlError) -> String {
        match e {
            UrlError::Parse { .. } | UrlError::NoHost { .. } => format!("write it like \"{}\"", self.example),
            UrlError::Scheme { .. } => self.scheme_help.to_string(),
            UrlError::Credentials { .. } => self.secret_help.to_string(),
        }
    }
}

/// A webhook's URL: written in the file, or read from an environment variable when sending.
#[derive(Debug, Clone)]
pub(crate) enum UrlSource {
    Literal(Endpoint),
    /// `url_env`: the variable's name (the URL is a secret, e.g. a Slack token in its path).
    Env(String),
}

/// The keys every channel shares: where it sends (`url`, or the second key `alt` names) and
/// `tls_ca_file`. Exactly one of the two URL keys; the URL is checked against `rules`.
struct Common {
    /// The URL as written, or `env:NAME` for `url_env` (the channel's identity in the outbox).
    id: String,
    source: UrlSource,
    tls_ca_file: Option<PathBuf>,
}

/// The second key a channel may give its URL by.
#[derive(Clone, Copy)]
enum AltUrl {
    /// Another name for `url` (`smtp_url`).
    Alias(&'static str),
    /// The name of an environment variable that holds the URL (`url_env`).
    Env(&'static str),
}

fn read_common(t: &mut TableReader<'_, '_>, dir: &Path, rules: &UrlRules, alt: AltUrl) -> Option<Common> {
    let alt_key = match alt {
        AltUrl::Alias(k) | AltUrl::Env(k) => k,
    };
    let tls_ca_file = t.str("tls_ca_file").map(|f| dir.join(f.get_ref()));
    let (u, via_env) = match (t.str("url"), t.str(alt_key)) {
        (Some(u), None) => (u, false),
        (None, Some(u)) => (u, matches!(alt, AltUrl::Env(_))),
        (Some(_), Some(second)) => {
            let help = match alt {
                AltUrl::Alias(k) => format!("keep one of them (`{k}` is another name for `url`)"),
                AltUrl::Env(k) => format!("keep one: `url` written here, or `{k}`, the variable that holds it"),
            };
            t.push(
                t.error(
                    Code::ConflictingKeys,
                    second.span(),
                    format!("both `url` and `{alt_key}` are given"),
                )
                .label(format!("the second {} URL", rules.what))
                .help(help),
            );
            return None;
        }
        (None, None) => {
            let help = match alt {
                AltUrl::Alias(_) => format!("add `url = \"{}\"`", rules.example),
                AltUrl::Env(k) => format!(
                    "add `url = \"{}\"`, or `{k} = \"NAME\"` to read it from the environment variable NAME",
                    rules.example
                ),
            };
            t.missing("url", Some(help));
            return None;
        }
    };
    if via_env {
        let name = u.get_ref().trim();
        if name.is_empty() || name.contains(['=', '\0']) {
            t.push(
                t.error(
                    Code::InvalidValue,
                    u.span(),
                    format!("`{alt_key}` is not an environment variable name"),
                )
                .label("not a variable name")
                .help("name the variable that holds the URL, e.g. \"LAKEGATE_SLACK_WEBHOOK_URL\""),
            );
            return None;
        }
        // Checked now when it is set (`validate` works without it); otherwise when sending.
        if let Some(Err(e)) = secret(name).map(|v| rules.parse(&v)) {
            t.push(
                t.error(
                    Code::InvalidValue,
                    u.span(),
                    format!("the variable `{name}` holds a URL lakegate cannot use: {e}"),
                )
                .label(format!("not a {} URL", rules.what))
                .help(rules.help(&e)),
            );
            return None;
        }
        return Some(Common {
            id: format!("env:{name}"),
            source: UrlSource::Env(name.to_string()),
            tls_ca_file,
        });
    }
    match rules.parse(u.get_ref()) {
        Ok(endpoint) => Some(Common {
            id: u.into_inner(),
            source: UrlSource::Literal(endpoint),
            tls_ca_file,
        }),
        Err(e) => {
            t.push(
                t.error(Code::InvalidValue, u.span(), e.to_string())
                    .label(format!("not a {} URL", rules.what))
                    .help(rules.help(&e)),
            );
            None
        }
    }
}

/// One `[[alerts.webhook]]`; `None` (with diagnostics) when it cannot be used.
fn read_webhook(w: &mut TableReader<'_, '_>, dir: &Path) -> Option<WebhookChannel> {
    let common = read_common(w, dir, &WEBHOOK_URLS, AltUrl::Env("url_env"));
    let secret_env = w.str("secret_env").map(Spanned::into_inner);
    let common = common?;
    Some(WebhookChannel {
        url: common.id,
        source: common.source,
        tls_ca_file: common.tls_ca_file,
        secret_env,
        bearer_env: None,
        timeout: None,
    })
}

/// One `[[alerts.email]]`; `None` (with diagnostics) when it cannot be used.
fn read_email(e: &mut TableReader<'_, '_>, dir: &Path) -> Option<EmailChannel> {
    let common = read_common(e, dir, &SMTP_URLS, AltUrl::Alias("smtp_url"));
    let relay = common.as_ref().and_then(|c| match &c.source {
        UrlSource::Literal(ep) => Some(ep.clone()),
        UrlSource::Env(_) => None,
    });
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
    let mut security = relay.as_ref().map(|r| match r.scheme.as_str() {
        "smtps" => SmtpSecurity::Implicit,
        _ => SmtpSecurity::Opportunistic,
    });
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
    let relay = relay?;
    let common = common?;
    Some(EmailChannel {
        url: common.id,
        host: relay.host,
        port: relay.port,
        security: security?,
        from: from?.into_inner(),
        to: to?.into_iter().map(Spanned::into_inner).collect(),
        cc: cc.into_iter().map(Spanned::into_inner).collect(),
        username: username.map(Spanned::into_inner),
        password_env: password_env.map(Spanned::into_inner),
        tls_ca_file: common.tls_ca_file,
    })
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
        let e = w.endpoint().unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.target.as_str(), w.secret_env.as_deref()),
            ("127.0.0.1", 9, "/hooks/x?a=1", Some("S"))
        );
    }

    #[test]
    fn a_webhook_url_from_the_environment_is_named_not_written() {
        let (p, d) = parse("[[alerts.webhook]]\nurl_env = \"LAKEGATE_TEST_UNSET_HOOK_URL\"\n");
        assert!(d.is_empty(), "{d:?}");
        let w = &p.unwrap().alerts.webhook[0];
        assert_eq!(w.url, "env:LAKEGATE_TEST_UNSET_HOOK_URL");
        assert!(matches!(w.endpoint(), Err(EndpointError::Unset(_))));
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
                "not a relay URL",
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
            (
                "[[alerts.webhook]]\nurl = \"http://h/x\"\nurl_env = \"HOOK\"\n",
                Code::ConflictingKeys,
                "both `url` and `url_env`",
            ),
            (
                "[[alerts.webhook]]\nurl_env = \"\"\n",
                Code::InvalidValue,
                "not an environment variable name",
            ),
            (
                "[[alerts.email]]\nurl = \"smtp://h\"\nsmtp_url = \"smtp://h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\n",
                Code::ConflictingKeys,
                "both `url` and `smtp_url`",
            ),
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
