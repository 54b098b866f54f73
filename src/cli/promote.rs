//! `lakegate promote`: check a batch and publish it into the next zone only if it passes.

use std::fmt::Write as _;
use std::time::Duration;

use clap::Args;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::exit::Outcome;
use crate::promote::{self, Mode, PromoteOptions};
use crate::report::summary::Site;
use crate::results::text;

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The dataset to promote (its suite says where it is and what it must satisfy).
    pub dataset: String,
    /// The target zone (default: the zone after the dataset's own, e.g. raw → cleaned).
    #[arg(long, value_name = "ZONE")]
    pub to: Option<String>,
    /// `batch`: all files or none; `split`: passing rows to the target, failing rows to quarantine.
    #[arg(long, value_enum, default_value_t = Mode::Batch)]
    pub mode: Mode,
    /// Remove the source files once the publish is durable.
    #[arg(long = "move")]
    pub move_sources: bool,
    /// Run the gate and say what would be published, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Only finish or clean up an interrupted promotion of the dataset.
    #[arg(long)]
    pub recover: bool,
    /// Seconds to wait for another promotion of the dataset to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

pub async fn run(global: &Global, args: &PromoteArgs) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    let opts = PromoteOptions {
        dataset: args.dataset.clone(),
        to: args.to.clone(),
        mode: args.mode,
        move_sources: args.move_sources,
        dry_run: args.dry_run,
        recover_only: args.recover,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        clock: global.clock(),
        history: global.history(&project),
    };
    let mut report = promote::promote(&project, &suites, &opts).await?;
    if !global.no_alerts
        && !args.dry_run
        && let Some(run) = report.results.as_mut()
    {
        // A promotion writes no report: the email has no page to link.
        let html = |d: &crate::alerts::policy::Digest<'_>, r: &crate::results::RunResult| {
            crate::outputs::email_html(d, r, project.report_templates.as_deref(), Site::default())
        };
        crate::alerts::deliver_and_record(&project, &suites, run, global.history(&project).as_ref(), &html).await;
    }
    match global.format {
        OutputFormat::Json => print_stdout(&serde_json::to_string_pretty(&report).unwrap_or_default()),
        OutputFormat::Text => {
            let mut out = String::new();
            for r in &report.recovered {
                let _ = writeln!(out, "recovery: {r}");
            }
            if let Some(run) = &report.results
                && !global.quiet
            {
                out.push_str(&text::render(run, global.verbose > 0));
                out.push('\n');
            }
            if global.verbose > 0 {
                for f in &report.published {
                    let _ = writeln!(out, "  published {f}");
                }
            }
            let _ = write!(
                out,
                "{} {} → {}: {}",
                report.dataset, report.from_zone, report.to_zone, report.message
            );
            print_stdout(&out);
        }
    }
    Ok(Outcome::Promoted {
        failed: report.failed(),
    })
}
