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
    global.engine_ready(&project)?;
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
    if !args.dry_run {
        promotion_lineage(&project, &suites, &mut report);
    }
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

/// The promotion's OpenLineage events (`[lineage]`), when its gate ran; their outcomes go into the
/// run's result.
fn promotion_lineage(
    project: &crate::config::Project,
    suites: &[crate::suite::Suite],
    report: &mut promote::PromoteReport,
) {
    use sha2::{Digest, Sha256};
    let Some(cfg) = &project.lineage else { return };
    let Some(suite) = suites.iter().find(|s| s.dataset.name.get_ref() == &report.dataset) else {
        return;
    };
    let location = |zone: &str| {
        project.zone_dir(zone).map(|d| {
            let d = d.join(suite.dataset.path.get_ref());
            std::path::absolute(&d).unwrap_or(d).to_string_lossy().into_owned()
        })
    };
    let (Some(source), Some(run)) = (location(&report.from_zone), report.results.as_ref()) else {
        return;
    };
    let mut lines: Vec<String> = report
        .batch
        .iter()
        .map(|f| format!("{}:{}", f.path, f.sha256))
        .collect();
    lines.sort();
    let version: String = Sha256::digest(lines.join("\n").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let events = crate::lineage::promotion_events(
        cfg,
        &crate::lineage::Promotion {
            run_id: &report.run_id,
            source: crate::lineage::Job {
                dataset: report.dataset.clone(),
                zone: report.from_zone.clone(),
                location: source,
            },
            target: (!report.published.is_empty())
                .then(|| location(&report.to_zone))
                .flatten(),
            batch_version: version,
            checked: run.datasets.iter().find(|d| d.name == report.dataset),
            refused: report.failed(),
            started: run.started_at,
            finished: run.finished_at,
        },
    );
    let outcomes = crate::lineage::emit(project, &events);
    if let Some(run) = report.results.as_mut() {
        run.lineage.extend(outcomes);
    }
}
