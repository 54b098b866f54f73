//! `lakegate check`: run the suites and report.

use std::path::PathBuf;

use clap::Args;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::exit::{self, CliError, FailOn};
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
}

pub async fn run(global: &Global, args: &CheckArgs) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    let opts = RunOptions {
        datasets: args.datasets.clone(),
        clock: global.clock(),
        command: "check".into(),
        files: None,
        history: global.history(&project),
        record: true,
    };
    let mut run = match run::check(&project, &suites, &opts).await {
        Outcome::Config(d) => return Err(CliError::Config(d)),
        Outcome::Ran(run) => run,
    };
    if !global.no_alerts {
        crate::alerts::deliver_and_record(&project, &suites, &mut run, opts.history.as_ref()).await;
    }
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
