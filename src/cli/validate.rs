//! `lakegate validate`: every suite parsed and planned against the real schemas; no rows scanned.

use super::{Global, OutputFormat, print_stdout, report_diagnostics};
use serde_json::Value;

use crate::exit;
use crate::run::{self, RunOptions};

pub async fn run(global: &Global) -> u8 {
    let (project, suites) = match global.project_and_suites() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let opts = RunOptions {
        datasets: Vec::new(),
        clock: global.clock(),
        command: "validate".into(),
        files: None,
        history: None,
        record: true,
    };
    let prepared = match run::prepare(&project, &suites, &opts).await {
        Ok(p) => p,
        Err(d) => return report_diagnostics(global, &d),
    };
    let mut unreadable = Vec::new();
    for o in &prepared.opened {
        if let Err(e) = o {
            super::print_error(e);
            unreadable.push(e.to_string());
        }
    }
    let checks: usize = prepared.plans.iter().map(Vec::len).sum();
    // Columns the suites name but the data lacks: the suites are valid, the data disagrees (exit 1).
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
                super::print_error(format!(
                    "the `key` of dataset `{}` names a column it does not have: `{column}` ({file}:{line})",
                    ds.name
                ));
            } else if let Some(d) = found.next() {
                eprint!("{}", crate::term::escape_output(&d.render()));
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
    let empty: Vec<&str> = prepared
        .opened
        .iter()
        .filter_map(|o| o.as_ref().ok().filter(|d| d.is_empty()).map(|d| d.name.as_str()))
        .collect();
    for e in &empty {
        eprintln!(
            "warning: dataset `{}` has no files, so its columns could not be verified",
            crate::term::escape(e)
        );
    }
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
    if !ok {
        exit::RUN_FAILED
    } else if agrees {
        exit::OK
    } else {
        exit::CHECKS_FAILED
    }
}
