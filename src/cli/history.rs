//! `lakegate history`: a dataset's recent runs, or SQL over the whole history store.

use std::fmt::Write as _;

use clap::Args;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::exit::{CliError, Outcome};
use crate::history::{Store, query};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The dataset whose runs to show (not needed with --sql).
    pub dataset: Option<String>,
    /// How many recent runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// A read-only SQL query over the tables `runs` and `checks` (see docs/history.md).
    #[arg(long, value_name = "QUERY")]
    pub sql: Option<String>,
    /// How long a --sql query may run before it is stopped (exit 3), e.g. 30s, 5m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub timeout: std::time::Duration,
}

pub async fn run(global: &Global, args: &HistoryArgs) -> CmdResult {
    let project = global.project_only()?;
    let store = Store {
        dir: project.history_dir.clone(),
    };
    if let Some(sql) = &args.sql {
        return match query::query(&store, sql, &project.engine, args.timeout).await {
            Ok(batches) => {
                match global.format {
                    OutputFormat::Json => print_stdout(
                        &serde_json::to_string_pretty(&crate::engine::batches_to_json(&batches)).unwrap_or_default(),
                    ),
                    OutputFormat::Text => match datafusion::arrow::util::pretty::pretty_format_batches(&batches) {
                        Ok(t) => print_stdout(&t.to_string()),
                        Err(e) => super::print_error(e),
                    },
                }
                Ok(Outcome::Done)
            }
            Err(e @ query::QueryError::Invalid(_)) => Err(CliError::usage(
                e.to_string(),
                Some("tables are `runs` and `checks`; see docs/history.md for their columns"),
            )),
            // The query was valid and ran: its failure is not a configuration problem.
            Err(e) => Err(CliError::RunFailed(e.to_string())),
        };
    }
    let Some(dataset) = &args.dataset else {
        return Err(CliError::usage("name a dataset, or pass --sql \"SELECT …\"", None));
    };
    let runs = store.runs(dataset);
    let checks = store.checks(dataset);
    let shown: Vec<_> = runs.iter().rev().take(args.limit).collect();
    match global.format {
        OutputFormat::Json => print_stdout(&serde_json::to_string_pretty(&shown).unwrap_or_default()),
        OutputFormat::Text => {
            if runs.is_empty() {
                print_stdout(&format!(
                    "No runs of `{dataset}` are recorded in {}.",
                    crate::diag::display_path(&store.dir)
                ));
                return Ok(Outcome::Done);
            }
            let mut out = format!(
                "{:<25}  {:<6}  {:>9}  {:>8}  {:<7}  failed checks\n",
                "started (UTC)", "status", "rows", "ms", "command"
            );
            for r in shown {
                let failed: Vec<&str> = checks
                    .iter()
                    .filter(|c| {
                        c.run_id == r.run_id
                            && matches!(c.status, crate::results::Status::Fail | crate::results::Status::Error)
                    })
                    .map(|c| c.check_id.as_str())
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<25}  {:<6}  {:>9}  {:>8}  {:<7}  {}",
                    r.started_at.format("%Y-%m-%d %H:%M:%S"),
                    r.status.as_str(),
                    r.rows.map_or("-".into(), |n| n.to_string()),
                    r.duration_ms,
                    r.command,
                    if failed.is_empty() {
                        "-".to_string()
                    } else {
                        failed.join(", ")
                    }
                );
            }
            print_stdout(&out);
        }
    }
    Ok(Outcome::Done)
}
