//! `lakegate suggest PATH|DATASET`: profile a dataset and print (or `--write`) a starter suite.
//!
//! The suite is TOML on stdout (`--format text`, also spelled `toml`); `--format json` prints the
//! profile, the suggested checks with their evidence and the suite text. `--write` publishes it as
//! `checks/NAME.toml` and refuses to replace an existing file (exit 2).

use clap::Args;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::diag::Diags;
use crate::exit::{CliError, Outcome};
use crate::suggest::{self, Request, SuggestError};

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// A dataset some suite declares, or a file, directory or glob (relative to the working directory).
    #[arg(value_name = "PATH|DATASET")]
    pub target: String,
    /// The dataset name of the suggested suite (and of the file --write writes); default: the
    /// dataset's name, or the last part of PATH.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the suite to checks/NAME.toml (never over an existing file).
    #[arg(long)]
    pub write: bool,
}

fn to_cli(e: SuggestError) -> CliError {
    if e.is_usage() {
        let help = e.help();
        CliError::usage(e.to_string(), help.as_deref())
    } else {
        CliError::RunFailed(e.to_string())
    }
}

/// Profiles the target, prints or writes the suggested suite.
pub async fn run(global: &Global, args: &SuggestArgs) -> CmdResult {
    let project = global.project_only()?;
    global.engine_ready(&project)?;
    // Suites only name datasets here: a project whose other suites have problems (or has none
    // yet) can still be given a suggestion for a path.
    let diags = Diags::default();
    let suites = crate::run::load_suites(&project, &diags);
    let req = Request {
        target: &args.target,
        name: args.name.as_deref(),
        now: global.clock().now(),
    };
    let s = suggest::suggest(&project, &suites, &req).await.map_err(to_cli)?;
    let written = if args.write {
        Some(suggest::write(&project, &suites, &s).map_err(to_cli)?)
    } else {
        None
    };
    match (global.format, &written) {
        (OutputFormat::Json, _) => {
            let mut doc = s.json.clone();
            doc["written"] = written
                .as_ref()
                .map_or(serde_json::Value::Null, |p| crate::diag::display_path(p).into());
            print_stdout(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        (OutputFormat::Text, Some(path)) => print_stdout(&format!(
            "wrote {} ({}); `lakegate validate` checks it against the data",
            crate::diag::display_path(path),
            crate::results::numbers::count_of(s.checks as u64, "check", "checks")
        )),
        (OutputFormat::Text, None) => print_stdout(&s.toml),
    }
    Ok(Outcome::Done)
}
