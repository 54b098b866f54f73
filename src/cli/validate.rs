//! `lakegate validate`: every suite parsed and planned against the real schemas; no rows scanned.
//!
//! With `--format json` it prints one document whatever happened, for editors and CI: its
//! `diagnostics` array (each with a stable `code`, see docs/diagnostics.md) holds the columns the
//! data lacks and the datasets that could not be verified; configuration problems print the same
//! array under `status = "config_error"` (exit 2, `cli::report_error`).

use super::{CmdResult, Global, OutputFormat, print_stdout};
use serde_json::Value;

use crate::diag::{Code, Diagnostic};
use crate::exit::{CliError, Outcome};
use crate::run::{self, Prepared, RunOptions};
use crate::suite::Suite;

/// Parses and plans every suite, reports what the data lacks and what could not be read, prints a summary.
pub async fn run(global: &Global) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    let opts = RunOptions {
        run_id: None,
        incremental: false,
        datasets: Vec::new(),
        clock: global.clock(),
        command: "validate".into(),
        files: None,
        history: None,
        record: true,
    };
    let prepared = run::prepare(&project, &suites, &opts).await.map_err(CliError::Config)?;
    let unreadable = report_unreadable(&prepared);
    let checks: usize = prepared.plans.iter().map(Vec::len).sum();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let missing = report_missing_columns(&prepared, &mut diagnostics);
    diagnostics.extend(report_empty_datasets(&prepared, &suites));
    let ok = unreadable.is_empty();
    let agrees = missing.is_empty();
    let mut lacked: Vec<(&Value, &Value)> = missing.iter().map(|m| (&m["dataset"], &m["column"])).collect();
    lacked.sort_by_key(|(d, c)| (d.to_string(), c.to_string()));
    lacked.dedup();
    match global.format {
        OutputFormat::Json => print_stdout(
            &serde_json::to_string_pretty(&serde_json::json!({
                "lakegate": env!("CARGO_PKG_VERSION"),
                "format_version": crate::results::FORMAT_VERSION,
                "status": if !ok { "unreadable" } else if agrees { "valid" } else { "missing_columns" },
                "suites": suites.len(),
                "checks": checks,
                "unreadable": unreadable,
                "missing_columns": missing,
                "diagnostics": diagnostics.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            }))
            .unwrap_or_default(),
        ),
        OutputFormat::Text if ok => print_stdout(&format!(
            "valid: {} {}, {} planned against their datasets' schemas (no rows scanned){}",
            suites.len(),
            if suites.len() == 1 { "suite" } else { "suites" },
            crate::checks::count_of(checks as u64, "check", "checks"),
            if agrees {
                String::new()
            } else {
                format!(
                    "; the data lacks {} the suites name",
                    crate::checks::count_of(lacked.len() as u64, "column", "columns")
                )
            }
        )),
        OutputFormat::Text => {}
    }
    Ok(Outcome::Validated {
        unreadable: !ok,
        missing_columns: !agrees,
    })
}

/// Prints every dataset that could not be opened; their errors, for the JSON document.
fn report_unreadable(prepared: &Prepared<'_>) -> Vec<String> {
    let mut unreadable = Vec::new();
    for o in &prepared.opened {
        if let Err(e) = o {
            super::print_error(e);
            unreadable.push(e.to_string());
        }
    }
    unreadable
}

/// Prints every column the suites name but the data lacks (the suites are valid, the data disagrees:
/// exit 1), adding its diagnostic to `diagnostics`; one JSON object per column and reader.
fn report_missing_columns(prepared: &Prepared<'_>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Value> {
    let mut missing = Vec::new();
    for ((suite, opened), plan) in prepared.selected.iter().zip(&prepared.opened).zip(&prepared.plans) {
        let Ok(ds) = opened else { continue };
        let mut found = plan.iter().filter_map(|p| match &p.shape {
            crate::checks::Shape::Missing { found, .. } => Some(found),
            _ => None,
        });
        for (column, who, line) in run::missing_columns(suite, ds, plan) {
            let file = crate::diag::display_path(&suite.file.path);
            if who.starts_with("the dataset") {
                let message = format!(
                    "the `key` of dataset `{}` names a column it does not have: `{column}`",
                    ds.name
                );
                super::print_error(format!("{message} ({file}:{line})"));
                diagnostics.push(
                    Diagnostic::at(Code::UnknownColumn, &suite.file, suite.dataset.name.span(), message)
                        .label("the dataset's `key`"),
                );
            } else if let Some(d) = found.next() {
                eprint!("{}", crate::term::escape_output(&d.render()));
                diagnostics.push((**d).clone());
            }
            missing.push(serde_json::json!({
                "dataset": ds.name,
                "column": column,
                "read_by": who.trim_matches('`'),
                "file": file,
                "line": line,
            }));
        }
    }
    missing
}

/// Prints a warning for every dataset with no files (its columns could not be verified); the warnings.
fn report_empty_datasets(prepared: &Prepared<'_>, suites: &[Suite]) -> Vec<Diagnostic> {
    let empty: Vec<&str> = prepared
        .opened
        .iter()
        .filter_map(|o| o.as_ref().ok().filter(|d| d.is_empty()).map(|d| d.name.as_str()))
        .collect();
    let mut warnings = Vec::new();
    for e in &empty {
        let message = format!("dataset `{e}` has no files, so its columns could not be verified");
        let d = match suites.iter().find(|s| s.dataset.name.get_ref() == e) {
            Some(s) => {
                Diagnostic::at(Code::EmptyDataset, &s.file, s.dataset.path.span(), message).label("no files here")
            }
            None => Diagnostic::plain(Code::EmptyDataset, message),
        }
        .warning();
        eprint!("{}", crate::term::escape_output(&d.render()));
        warnings.push(d);
    }
    warnings
}
