//! `lakegate schema accept|show|history DATASET`: the versioned schema catalog.

use std::fmt::Write as _;

use clap::{Args, Subcommand};

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::config::Project;
use crate::diag::Diags;
use crate::exit::{CliError, Outcome};
use crate::history::Store;
use crate::history::catalog::Catalog;
use crate::run::{self, RunOptions};
use crate::schemas::{SchemaVersion, columns_of, diff};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    pub action: SchemaAction,
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Accept the dataset's current schema as a new version (a deliberate change).
    Accept { dataset: String },
    /// Show the latest accepted version, or `--version N`.
    Show {
        dataset: String,
        #[arg(long)]
        version: Option<u32>,
    },
    /// List every version with what changed from the one before.
    History { dataset: String },
}

fn render(v: &SchemaVersion) -> String {
    let mut out = format!(
        "{} schema version {} — accepted {} by {}\n",
        v.dataset,
        v.version,
        v.accepted_at.format("%Y-%m-%d %H:%M:%S UTC"),
        v.accepted_by
    );
    for c in &v.columns {
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {}",
            c.name,
            c.family,
            if c.nullable { "nullable" } else { "not null" }
        );
    }
    out
}

/// Runs one `schema` subcommand against the project's catalog.
pub async fn run(global: &Global, args: &SchemaArgs) -> CmdResult {
    let project = global.project_only()?;
    let catalog = Store {
        dir: project.history_dir.clone(),
    }
    .catalog();
    match &args.action {
        SchemaAction::Accept { dataset } => accept(global, &project, &catalog, dataset).await,
        SchemaAction::Show { dataset, version } => show(global, &catalog, dataset, *version),
        SchemaAction::History { dataset } => history(global, &catalog, dataset),
    }
}

/// `schema accept`: opens the dataset and records its current schema as a new version, if it changed.
async fn accept(global: &Global, project: &Project, catalog: &Catalog, dataset: &str) -> CmdResult {
    let diags = Diags::default();
    let suites = run::load_suites(project, &diags);
    if !diags.is_empty() {
        return Err(CliError::Config(diags.into_vec()));
    }
    let opts = RunOptions {
        run_id: None,
        incremental: false,
        datasets: vec![dataset.to_string()],
        clock: global.clock(),
        command: "schema accept".into(),
        files: None,
        history: None,
        record: true,
    };
    let prepared = run::prepare(project, &suites, &opts).await.map_err(CliError::Config)?;
    let ds = match prepared.opened.first() {
        Some(Ok(ds)) => ds,
        Some(Err(e)) => return Err(CliError::RunFailed(e.to_string())),
        // `prepare` refuses a dataset no suite declares, so this is not reached.
        None => {
            return Err(CliError::usage(
                format!("no suite declares a dataset named `{dataset}`"),
                None,
            ));
        }
    };
    let previous = catalog
        .read_latest(dataset)
        .map_err(|e| CliError::RunFailed(e.to_string()))?;
    match catalog.accept(
        dataset,
        columns_of(&ds.schema),
        "schema accept",
        None,
        global.clock().wall(),
    ) {
        Ok((v, true)) => {
            let changes = previous
                .map(|p| diff(&p.columns, &columns_of(&ds.schema)))
                .unwrap_or_default();
            let what: Vec<String> = changes.iter().map(crate::schemas::Change::describe).collect();
            print_stdout(&format!(
                "Accepted the current schema of `{dataset}` as version {v}{}",
                if what.is_empty() {
                    ".".to_string()
                } else {
                    format!(": {}.", what.join(", "))
                }
            ));
            Ok(Outcome::Done)
        }
        Ok((v, false)) => {
            print_stdout(&format!(
                "The current schema of `{dataset}` is already the accepted version {v}; nothing to do."
            ));
            Ok(Outcome::Done)
        }
        Err(e) => Err(CliError::RunFailed(e.to_string())),
    }
}

/// `schema show`: prints the latest accepted version, or the one `--version` names.
fn show(global: &Global, catalog: &Catalog, dataset: &str, version: Option<u32>) -> CmdResult {
    let versions = catalog
        .versions(dataset)
        .map_err(|e| CliError::RunFailed(e.to_string()))?;
    let v = match version {
        Some(n) => versions.into_iter().find(|v| v.version == n),
        None => versions.into_iter().last(),
    };
    let Some(v) = v else {
        return Err(CliError::usage(
            format!(
                "no accepted schema version{} of `{dataset}` in the catalog",
                version.map(|n| format!(" {n}")).unwrap_or_default()
            ),
            Some(&format!(
                "a dataset's first recorded `lakegate check` accepts version 1; `lakegate schema accept {dataset}` adds one"
            )),
        ));
    };
    match global.format {
        OutputFormat::Json => print_stdout(&serde_json::to_string_pretty(&v).unwrap_or_default()),
        OutputFormat::Text => print_stdout(&render(&v)),
    }
    Ok(Outcome::Done)
}

/// `schema history`: lists every version with what changed from the one before.
fn history(global: &Global, catalog: &Catalog, dataset: &str) -> CmdResult {
    let versions = catalog
        .versions(dataset)
        .map_err(|e| CliError::RunFailed(e.to_string()))?;
    if versions.is_empty() {
        print_stdout(&format!("No accepted schema versions of `{dataset}`."));
        return Ok(Outcome::Done);
    }
    if global.format == OutputFormat::Json {
        let items: Vec<_> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let changes = if i == 0 { Vec::new() } else { diff(&versions[i - 1].columns, &v.columns) };
                serde_json::json!({ "version": v.version, "accepted_at": v.accepted_at, "accepted_by": v.accepted_by, "columns": v.columns.len(), "changes": changes })
            })
            .collect();
        print_stdout(&serde_json::to_string_pretty(&items).unwrap_or_default());
        return Ok(Outcome::Done);
    }
    let mut out = String::new();
    for (i, v) in versions.iter().enumerate() {
        let _ = writeln!(
            out,
            "version {} — {} by {}, {}",
            v.version,
            v.accepted_at.format("%Y-%m-%d %H:%M:%S UTC"),
            v.accepted_by,
            crate::checks::count_of(v.columns.len() as u64, "column", "columns")
        );
        if i > 0 {
            for c in diff(&versions[i - 1].columns, &v.columns) {
                let _ = writeln!(out, "  {}", c.describe());
            }
        }
    }
    print_stdout(&out);
    Ok(Outcome::Done)
}
