//! `lakegate explain [DATASET...]`: what `check` will do per dataset, without reading a row — which
//! checks the Parquet footers answer, which columns the one fused scan reads, how many queries run,
//! and how many files and bytes are read.

use clap::Args;
use serde_json::json;

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::engine::explain::{Answer, Explanation};
use crate::exit::{CliError, Outcome};
use crate::run::{self, RunOptions};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Datasets to explain (default: every suite's dataset).
    pub datasets: Vec<String>,
}

pub async fn run(global: &Global, args: &ExplainArgs) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    let opts = RunOptions {
        run_id: None,
        incremental: false,
        datasets: args.datasets.clone(),
        clock: global.clock(),
        command: "explain".into(),
        files: None,
        history: None,
        record: false,
    };
    let prepared = run::prepare(&project, &suites, &opts).await.map_err(CliError::Config)?;
    let mut text = String::new();
    let mut docs = Vec::new();
    let mut unreadable = false;
    for ((suite, open), plan) in prepared.selected.iter().zip(&prepared.opened).zip(&prepared.plans) {
        let name = suite.dataset.name.get_ref();
        let explained = match open {
            Ok(ds) => prepared.engine.plan_run(ds, plan).await,
            Err(e) => Err(e.to_string()),
        };
        let ex = match explained {
            Ok(ex) => ex,
            Err(e) => {
                unreadable = true;
                text.push_str(&format!("{name}: cannot be read: {e}\n\n"));
                docs.push(json!({ "dataset": name, "error": e }));
                continue;
            }
        };
        let ids: Vec<&str> = plan.iter().map(|p| suite.checks[p.index].id.as_str()).collect();
        let format = open.as_ref().map_or("", |d| d.format.as_str());
        text.push_str(&render(name, suite.dataset.zone.get_ref(), format, &ex, &ids));
        docs.push(json!({
            "dataset": name,
            "zone": suite.dataset.zone.get_ref(),
            "format": format,
            "files": ex.files,
            "bytes": ex.bytes,
            "scan_bytes": ex.scan_bytes,
            "queries": ex.queries,
            "scanned_columns": ex.scanned_columns,
            "checks": ids.iter().zip(&ex.answers).map(|(id, a)| json!({ "id": id, "answer": a })).collect::<Vec<_>>(),
        }));
    }
    match global.format {
        OutputFormat::Json => {
            print_stdout(&serde_json::to_string_pretty(&json!({ "datasets": docs })).unwrap_or_default())
        }
        OutputFormat::Text => print_stdout(&format!(
            "{}\n\nA check that fails adds one query for its failing-row sample.",
            text.trim_end()
        )),
    }
    if unreadable {
        return Err(CliError::RunFailed("a dataset could not be read (see above)".into()));
    }
    Ok(Outcome::Done)
}

/// One dataset's plan in words.
fn render(name: &str, zone: &str, format: &str, ex: &Explanation, ids: &[&str]) -> String {
    let of = |a: Answer| -> Vec<&str> {
        ids.iter()
            .zip(&ex.answers)
            .filter(|(_, x)| **x == a)
            .map(|(id, _)| *id)
            .collect()
    };
    let mut s = format!(
        "{name} [{zone}] — {format}, {} {}, {}\n",
        ex.files,
        if ex.files == 1 { "file" } else { "files" },
        crate::results::numbers::fmt_bytes(ex.bytes)
    );
    let keyed = of(Answer::KeyedQuery).len();
    s.push_str(&format!(
        "  queries:         {}{}\n",
        ex.queries,
        match (ex.queries as usize > keyed, keyed) {
            (true, 0) => " (one fused scan)".to_string(),
            (true, k) => format!(" (one fused scan, {k} keyed)"),
            (false, 0) => " (no row is read)".to_string(),
            (false, k) => format!(" ({k} keyed)"),
        }
    ));
    if !ex.scanned_columns.is_empty() || ex.scan_bytes > 0 {
        let cols = if ex.scanned_columns.is_empty() {
            "(row count only)".to_string()
        } else {
            ex.scanned_columns.join(", ")
        };
        s.push_str(&format!(
            "  scan reads:      {cols} — {}\n",
            crate::results::numbers::fmt_bytes(ex.scan_bytes)
        ));
    }
    for (label, a) in [
        ("from statistics", Answer::Statistics),
        ("in the scan", Answer::FusedScan),
        ("keyed queries", Answer::KeyedQuery),
        ("from metadata", Answer::Metadata),
        ("cannot run", Answer::Missing),
    ] {
        let list = of(a);
        if !list.is_empty() {
            s.push_str(&format!("  {:<16} {}\n", format!("{label}:"), list.join(", ")));
        }
    }
    s.push('\n');
    s
}
