//! `lakegate report`: rebuild the HTML report's index and trend pages from the history store.
//!
//! No data is read and no check runs: the pages come from the run and check records alone. A run's
//! own page (its step table and failing rows) needs the run's full result, so it is written by
//! `check --report` and kept; the rebuilt index and trend pages link to the run pages the site has.

use std::path::PathBuf;

use clap::Args;

use super::{CmdResult, Global, print_stdout};
use crate::exit::{CliError, Outcome};
use crate::history::Store;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report's directory (default: `[report] dir`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Report templates that replace the built-in ones (`reports/`), file by file.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

pub async fn run(global: &Global, args: &ReportArgs) -> CmdResult {
    let project = global.project_only()?;
    let Some(dir) = args.dir.as_ref().or(project.report_dir.as_ref()) else {
        return Err(CliError::Usage {
            message: "no report directory: pass --dir DIR or set `[report] dir` in lakegate.toml".into(),
            help: Some("lakegate report --dir site".into()),
        });
    };
    let templates = args.templates.as_deref().or(project.report_templates.as_deref());
    let store = Store {
        dir: project.history_dir.clone(),
    };
    match crate::report::rebuild(dir, templates, &store, project.report_keep_runs) {
        Ok(pages) => {
            if !global.quiet {
                print_stdout(&format!("Wrote {} pages to {}.", pages.len(), dir.display()));
            }
            Ok(Outcome::Done)
        }
        Err(e) => Err(CliError::RunFailed(e.to_string())),
    }
}
