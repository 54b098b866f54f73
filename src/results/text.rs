//! The human-readable report: one block per dataset, one line per check, a one-line verdict.

use std::fmt::Write as _;

use super::numbers::count_of;
use super::{RunResult, Status};

fn badge(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS ",
        Status::Warn => "WARN ",
        Status::Fail => "FAIL ",
        Status::Error => "ERROR",
    }
}

/// Renders a run. `verbose` adds passing checks' messages; failing checks always show a sample.
pub fn render(run: &RunResult, verbose: bool) -> String {
    let mut out = String::new();
    // Names, messages and paths may come from data files: control characters are shown, not sent.
    let esc = |s: &str| crate::term::escape(s).into_owned();
    for d in &run.datasets {
        let rows = d
            .rows
            .map_or_else(|| "? rows".to_string(), |r| count_of(r, "row", "rows"));
        // An incremental run says how many files it read.
        let files = match &d.incremental {
            Some(i) => format!(
                "{} ({} read, {} reused)",
                count_of(d.files as u64, "file", "files"),
                i.files_scanned,
                i.files_reused
            ),
            None => count_of(d.files as u64, "file", "files"),
        };
        let _ = writeln!(
            out,
            "{} [{}] {} — {}, {}, {} {}, {} ms",
            esc(&d.name),
            esc(&d.zone),
            esc(&d.location),
            rows,
            files,
            d.queries,
            if d.queries == 1 { "query" } else { "queries" },
            d.duration_ms
        );
        if let Some(e) = &d.error {
            let _ = writeln!(out, "  ERROR  {}", esc(e));
        }
        let width = d.checks.iter().map(|c| esc(&c.name).len()).max().unwrap_or(0).min(40);
        for c in &d.checks {
            let show_message = verbose || c.status != Status::Pass;
            let _ = write!(out, "  {}  {:<width$}", badge(c.status), esc(&c.name));
            if show_message {
                let _ = write!(out, "  {}", esc(&c.message));
                if verbose && c.from_statistics {
                    out.push_str(" (from Parquet statistics)");
                }
            }
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
            out.push('\n');
            if c.status != Status::Pass {
                let _ = writeln!(
                    out,
                    "         {:width$}  at {}:{}",
                    "",
                    esc(&c.source.file),
                    c.source.line
                );
                for row in c.sample.iter().take(3) {
                    // JSON escapes C0 controls but leaves DEL and C1 (an 8-bit CSI) raw.
                    let _ = writeln!(
                        out,
                        "         {:width$}  e.g. {}",
                        "",
                        esc(&serde_json::to_string(row).unwrap_or_default())
                    );
                }
                if c.sample.len() > 3 {
                    let _ = writeln!(
                        out,
                        "         {:width$}  … {} sample rows in --format json",
                        "",
                        c.sample.len()
                    );
                }
            }
        }
        out.push('\n');
    }
    out.push_str(&verdict(run));
    out.push('\n');
    out
}

/// `FAIL: 3 of 24 checks failed, 1 warned, 20 passed (3 datasets)`.
pub fn verdict(run: &RunResult) -> String {
    let s = &run.summary;
    let mut parts = Vec::new();
    if s.failed > 0 {
        parts.push(format!(
            "{} of {} failed",
            s.failed,
            count_of(s.checks as u64, "check", "checks")
        ));
    }
    if s.errored > 0 {
        parts.push(format!("{} could not be evaluated", s.errored));
    }
    if s.warned > 0 {
        parts.push(format!("{} warned", s.warned));
    }
    parts.push(format!("{} passed", s.passed));
    let unreadable = run.datasets.iter().filter(|d| d.error.is_some()).count();
    if unreadable > 0 {
        parts.push(format!(
            "{unreadable} {} could not be read",
            if unreadable == 1 { "dataset" } else { "datasets" }
        ));
    }
    format!(
        "{}: {} ({} {})",
        run.status.as_str().to_uppercase(),
        parts.join(", "),
        s.datasets,
        if s.datasets == 1 { "dataset" } else { "datasets" }
    )
}
