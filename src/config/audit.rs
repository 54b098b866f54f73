//! `[audit]` in `lakegate.toml`: the default schedule and time zone of `lakegate audit`, what happens
//! when a suite is still running at its next slot, how many suites run at once, how long a stopping
//! daemon waits for running suites, and the heartbeat URL pinged after each tick.
//!
//! A suite's own `schedule` and `timezone` (in its `[dataset]`) win over these defaults. Cron
//! expressions and time zones are checked here, so a typo is a configuration error with its line and
//! column, not a daemon that silently never runs.

use std::time::Duration;

use crate::diag::{Code, did_you_mean};
use crate::schedule::Schedule;
use crate::spanned::TableReader;

/// What the daemon does when a suite's slot comes while its previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// Skip the slot (said in the log); the next slot runs as usual. The default.
    Skip,
    /// Run once more as soon as the running one finishes (slots that pile up meanwhile count once).
    Queue,
}

const OVERLAP_CHOICES: &[&str] = &["skip", "queue"];

/// `[audit]`: defaults for `lakegate audit`.
#[derive(Debug, Clone)]
pub(crate) struct AuditConfig {
    /// The schedule of suites that name none (`None`: such suites run only with `--once`).
    pub schedule: Option<String>,
    /// The time zone schedules are read in (IANA name); UTC when `None`.
    pub timezone: Option<String>,
    pub overlap: Overlap,
    /// Suites run at the same time (`--jobs` overrides).
    pub jobs: usize,
    /// How long a stopping daemon waits for running suites.
    pub grace: Duration,
    /// Pinged (HTTP POST) after each tick whose runs happened, so a stopped daemon is noticed.
    pub heartbeat: Option<crate::config::alerts::WebhookChannel>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            schedule: None,
            timezone: None,
            overlap: Overlap::Skip,
            jobs: 2,
            grace: Duration::from_secs(60),
            heartbeat: None,
        }
    }
}

/// Checks a cron expression and a time zone (either may be absent), pushing diagnostics at their
/// values. Shared by `[audit]` and a suite's `[dataset]`.
pub(crate) fn check_schedule(
    t: &TableReader<'_, '_>,
    schedule: Option<&toml::Spanned<String>>,
    timezone: Option<&toml::Spanned<String>>,
) {
    if let Some(tz) = timezone
        && let Err(e) = Schedule::parse("0 0 * * *", Some(tz.get_ref()))
    {
        t.push(
            t.error(Code::InvalidValue, tz.span(), e.to_string())
                .label("not a time zone")
                .help(e.help()),
        );
    }
    if let Some(s) = schedule
        && let Err(e) = Schedule::parse(s.get_ref(), None)
    {
        t.push(
            t.error(Code::InvalidValue, s.span(), e.to_string())
                .label("not a schedule")
                .help(e.help()),
        );
    }
}

/// Reads `[audit]`; the defaults when the table is absent.
pub(super) fn read(top: &mut TableReader<'_, '_>) -> AuditConfig {
    let mut cfg = AuditConfig::default();
    let Some(mut a) = top.table("audit", "`[audit]`") else {
        return cfg;
    };
    let schedule = a.str("schedule");
    let timezone = a.str("timezone");
    check_schedule(&a, schedule.as_ref(), timezone.as_ref());
    cfg.schedule = schedule.map(toml::Spanned::into_inner);
    cfg.timezone = timezone.map(toml::Spanned::into_inner);
    if let Some(o) = a.str("overlap") {
        cfg.overlap = match o.get_ref().as_str() {
            "skip" => Overlap::Skip,
            "queue" => Overlap::Queue,
            other => {
                a.push(
                    a.error(
                        Code::InvalidChoice,
                        o.span(),
                        format!("`{other}` is not an overlap policy"),
                    )
                    .label("not a policy")
                    .help(did_you_mean(other, OVERLAP_CHOICES, "policies:")),
                );
                Overlap::Skip
            }
        };
    }
    if let Some(j) = a.uint("jobs") {
        if *j.get_ref() == 0 {
            a.push(
                a.error(Code::OutOfRange, j.span(), "`jobs` must be at least 1")
                    .label("no suite could run")
                    .help("the number of suites that run at the same time, e.g. 2"),
            );
        } else {
            cfg.jobs = usize::try_from(*j.get_ref()).unwrap_or(usize::MAX);
        }
    }
    if let Some(g) = a.str("grace") {
        match crate::duration::parse(g.get_ref()) {
            Ok(d) => cfg.grace = d,
            Err(msg) => a.push(
                a.error(
                    Code::InvalidValue,
                    g.span(),
                    format!("`grace` is not a duration: {msg}"),
                )
                .label("not a duration")
                .help(crate::duration::DURATION_HELP),
            ),
        }
    }
    cfg.heartbeat = read_heartbeat(&mut a);
    a.finish();
    cfg
}

/// `heartbeat_url`: an http(s) URL without credentials in it (the webhook rules).
fn read_heartbeat(a: &mut TableReader<'_, '_>) -> Option<crate::config::alerts::WebhookChannel> {
    use crate::config::alerts::{UrlSource, WEBHOOK_URLS, WebhookChannel};
    let u = a.str("heartbeat_url")?;
    match WEBHOOK_URLS.parse(u.get_ref()) {
        Ok(endpoint) => Some(WebhookChannel {
            url: u.get_ref().clone(),
            source: UrlSource::Literal(endpoint),
            tls_ca_file: None,
            secret_env: None,
            bearer_env: None,
            timeout: None,
        }),
        Err(e) => {
            a.push(
                a.error(Code::InvalidValue, u.span(), format!("`heartbeat_url`: {e}"))
                    .label("not a heartbeat URL")
                    .help("write it like \"https://hc-ping.com/your-uuid\" or \"http://127.0.0.1:8080/ping\""),
            );
            None
        }
    }
}
