//! `lakegate check`: run the suites and report.

use std::path::PathBuf;

use clap::Args;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::exit::{self, CliError, FailOn};
use crate::outputs::{self, ReportTarget};
use crate::results::{self, junit, text};
use crate::run::{self, Outcome, RunOptions};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Datasets to check (default: every suite's dataset).
    pub datasets: Vec<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// What fails the run: `error` (default) or also `warn`.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Write the HTML report (a static site) into this directory; overrides `[report] dir`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Report templates that replace the built-in ones (`reports/`), file by file.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Read only the files that are new or changed since the last incremental run (their numbers
    /// are kept in the history store); the answers are a full scan's. Default: `[engine] incremental`.
    #[arg(long, conflicts_with = "full")]
    pub incremental: bool,
    /// Read every file, even with `[engine] incremental = true` (the stored numbers are left alone).
    #[arg(long)]
    pub full: bool,
    /// The run's id instead of a fresh one; for reproducible reports in tests.
    #[arg(long, hide = true, env = "LAKEGATE_RUN_ID", value_parser = parse_run_id)]
    pub run_id: Option<String>,
}

/// A run id names files in the history store and the report: letters, digits, `-`, `_` only.
fn parse_run_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err("a run id is 1 to 64 letters, digits, `-` or `_`".into())
    }
}

pub async fn run(global: &Global, args: &CheckArgs) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    global.engine_ready(&project)?;
    // The id is known before the run so that lineage's START events carry it.
    let run_id = args.run_id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let started = crate::outputs::lineage_start(&project, &suites, &args.datasets, &run_id, global.clock().wall());
    let opts = RunOptions {
        datasets: args.datasets.clone(),
        clock: global.clock(),
        command: "check".into(),
        files: None,
        history: global.history(&project),
        record: true,
        run_id: Some(run_id.clone()),
        incremental: !args.full && (args.incremental || project.engine.incremental == Some(true)),
    };
    let mut run = match run::check(&project, &suites, &opts).await {
        Outcome::Config(d) => {
            crate::outputs::lineage_abort(&project, &suites, &args.datasets, &run_id, global.clock().wall(), &d);
            return Err(CliError::Config(d));
        }
        Outcome::Ran(run) => run,
    };
    run.lineage = started;
    let report = ReportTarget {
        dir: args.report.as_deref().or(project.report_dir.as_deref()),
        templates: args.templates.as_deref().or(project.report_templates.as_deref()),
    };
    outputs::deliver(
        &project,
        &suites,
        &mut run,
        opts.history.as_ref(),
        !global.no_alerts,
        report,
    )
    .await
    .map_err(CliError::RunFailed)?;
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit::render(&run))
    {
        return Err(CliError::RunFailed(format!(
            "cannot write the JUnit report to {}: {e}",
            path.display()
        )));
    }
    match global.format {
        OutputFormat::Json => print_stdout(&results::to_json(&run)),
        OutputFormat::Text if global.quiet => print_stdout(&text::verdict(&run)),
        OutputFormat::Text => print_stdout(&text::render(&run, global.verbose > 0)),
    }
    Ok(exit::Outcome::Ran(Box::new(run), args.fail_on))
}
