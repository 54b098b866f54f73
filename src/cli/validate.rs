//! `lakegate validate`: every suite parsed and planned against the real schemas; no rows scanned.

use super::{Global, OutputFormat, print_stdout, report_diagnostics};
use crate::exit;
use crate::runner::{self, RunOptions};

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
    let prepared = match runner::prepare(&project, &suites, &opts).await {
        Ok(p) => p,
        Err(d) => return report_diagnostics(global, &d),
    };
    let mut unreadable = Vec::new();
    for o in &prepared.opened {
        if let Err(e) = o {
            eprintln!("error: {e}");
            unreadable.push(e.to_string());
        }
    }
    let checks: usize = prepared.plans.iter().map(Vec::len).sum();
    let empty: Vec<&str> = prepared
        .opened
        .iter()
        .filter_map(|o| o.as_ref().ok().filter(|d| d.is_empty()).map(|d| d.name.as_str()))
        .collect();
    for e in &empty {
        eprintln!("warning: dataset `{e}` has no files, so its columns could not be verified");
    }
    let ok = unreadable.is_empty();
    match global.format {
        OutputFormat::Json => print_stdout(
            &serde_json::to_string_pretty(&serde_json::json!({
                "lakegate": env!("CARGO_PKG_VERSION"),
                "format_version": crate::results::FORMAT_VERSION,
                "status": if ok { "valid" } else { "unreadable" },
                "suites": suites.len(),
                "checks": checks,
                "unreadable": unreadable,
            }))
            .unwrap_or_default(),
        ),
        OutputFormat::Text if ok => print_stdout(&format!(
            "valid: {} {}, {checks} checks planned against their datasets' schemas (no rows scanned)",
            suites.len(),
            if suites.len() == 1 { "suite" } else { "suites" }
        )),
        OutputFormat::Text => {}
    }
    if ok { exit::OK } else { exit::RUN_FAILED }
}
