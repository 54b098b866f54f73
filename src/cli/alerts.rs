//! `lakegate alerts test`: send a test message through every configured channel and say what
//! happened to each (exit 0 when every one was delivered, 3 when one was not; `exit::code`).

use std::fmt::Write as _;

use clap::{Args, Subcommand};

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::alerts::probe::{self, Delivery};
use crate::exit::{CliError, Outcome};

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
