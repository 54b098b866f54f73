//! `lakegate alerts test`: send a test message through every configured channel and say what
//! happened to each (exit 0 when every one was delivered, 3 when one was not; `exit::code`). Also
//! the join between alerts and the report: an alert email's HTML part is the report's summary
//! ([`email_html`]).

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::alerts::policy::{Digest, DigestKind};
use crate::alerts::probe::{self, Delivery};
use crate::alerts::render;
use crate::exit::{CliError, Outcome};
use crate::report::summary::{Part, Site, Summary, summary_html};
use crate::results::{RunResult, Status};

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test message through every `[[alerts.email]]` and `[[alerts.webhook]]` now (not
    /// queued) and say per channel whether it was delivered, refused or unreachable.
    Test,
}

pub async fn run(global: &Global, args: &AlertsArgs) -> CmdResult {
    match args.command {
        AlertsCommand::Test => test(global).await,
    }
}

async fn test(global: &Global) -> CmdResult {
    let project = global.project_only()?;
    let cfg = project.alerts.clone();
    if cfg.email.is_empty() && cfg.webhook.is_empty() {
        return Err(CliError::usage(
            format!("{} configures no alert channel", global.config.display()),
            Some("add an `[[alerts.email]]` or `[[alerts.webhook]]` table (docs/alerts.md)"),
        ));
    }
    let at = global.clock().now();
    let tests = tokio::task::spawn_blocking(move || probe::test_channels(&cfg, at))
        .await
        .map_err(|e| CliError::RunFailed(format!("the alert test stopped: {e}")))?;
    let delivered = tests.iter().filter(|t| t.status == Delivery::Delivered).count();
    match global.format {
        OutputFormat::Json => print_stdout(
            &serde_json::to_string_pretty(&serde_json::json!({
                "lakegate": env!("CARGO_PKG_VERSION"),
                "status": if delivered == tests.len() { "delivered" } else { "undelivered" },
                "channels": tests,
            }))
            .unwrap_or_default(),
        ),
        OutputFormat::Text => {
            let mut out = String::new();
            for t in &tests {
                let to = if t.to.is_empty() {
                    String::new()
                } else {
                    format!(" → {}", t.to.join(", "))
                };
                let _ = write!(out, "{} {}{to}: {}", t.channel, t.via, t.status.as_str());
                if let Some(r) = &t.reason {
                    let _ = write!(out, " — {r}");
                }
                out.push('\n');
            }
            let _ = write!(
                out,
                "{delivered} of {} {} delivered the test message",
                tests.len(),
                if tests.len() == 1 { "channel" } else { "channels" }
            );
            print_stdout(&out);
        }
    }
    Ok(Outcome::AlertsTested {
        undelivered: delivered < tests.len(),
    })
}

/// The HTML part of an alert email: the report's summary of the digest (`report::summary`, from the
/// `summary.html` template or its replacement in `templates`), with a link to each dataset's run
/// page when this run wrote the report. The CLI joins the two because `alerts` and `report` share a
/// layer and import neither each other.
pub(crate) fn email_html(
    d: &Digest<'_>,
    run: &RunResult,
    templates: Option<&Path>,
    site: Site<'_>,
) -> Result<String, String> {
    let status = match d.kind {
        DigestKind::Firing => d
            .datasets
            .iter()
            .map(|a| a.dataset.status)
            .max()
            .unwrap_or(Status::Pass),
        DigestKind::Resolved | DigestKind::Passing => Status::Pass,
    };
    let summary = Summary {
        run,
        status,
        // The subject without `[lakegate]` and the status word, which the badge shows.
        headline: render::subject(d)
            .trim_start_matches("[lakegate] ")
            .split_once(' ')
            .map_or_else(String::new, |(_, rest)| rest.to_string()),
        datasets: d
            .datasets
            .iter()
            .map(|a| Part {
                dataset: a.dataset,
                checks: a.checks.clone(),
                since: &a.since,
            })
            .collect(),
        full: render::FULL,
        listed: render::LISTED,
        site,
    };
    summary_html(&summary, templates).map_err(|e| e.to_string())
}
