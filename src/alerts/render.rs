//! The words of an alert: its subject and its plain-text part. The HTML part is the report's
//! summary (`report/summary.rs`, from the `summary.html` template), handed in by the CLI as an
//! [`HtmlPart`](super::HtmlPart); only if that template cannot be rendered does [`fallback_html`]
//! wrap the text, escaped by [`esc`]. Both parts are capped alike: the [`FULL`] worst checks in
//! full, then one line each up to [`LISTED`], then "and K more".

use std::fmt::Write as _;

use serde_json::Value;

use super::policy::{DatasetAlert, Digest, DigestKind};
use crate::results::numbers::count_of;
use crate::results::{CheckResult, RunResult, Status};

/// Checks shown in full (message, observed vs expected, sample rows) in one digest.
pub(crate) const FULL: usize = 10;
/// Checks listed at all; past this the digest says "and K more".
pub(crate) const LISTED: usize = 50;
/// Sample rows shown per check and columns per row (values are cut at `numbers::VALUE_CHARS`).
const SAMPLE_ROWS: usize = 3;
const SAMPLE_COLUMNS: usize = 8;

/// Escapes text for HTML element content and double-quoted attribute values (the fallback HTML part).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `orders (raw)`.
fn label(a: &DatasetAlert<'_>) -> String {
    format!("{} ({})", a.dataset.name, a.dataset.zone)
}

fn word(d: &Digest<'_>) -> &'static str {
    let status = d
        .datasets
        .iter()
        .map(|a| a.dataset.status)
        .max()
        .unwrap_or(Status::Pass);
    match (d.kind, status) {
        (DigestKind::Resolved, _) => "RESOLVED",
        (DigestKind::Passing, _) | (_, Status::Pass) => "PASS",
        (_, Status::Warn) => "WARN",
        (_, Status::Fail | Status::Error) => "FAIL",
    }
}

/// `[lakegate] FAIL orders (raw): 2 of 12 checks failed`.
pub(crate) fn subject(d: &Digest<'_>) -> String {
    let names: Vec<String> = d.datasets.iter().map(label).collect();
    let who = if names.len() > 3 {
        format!("{} and {} more datasets", names[..2].join(", "), names.len() - 2)
    } else {
        names.join(", ")
    };
    let total: usize = d.datasets.iter().map(|a| a.dataset.checks.len()).sum();
    let count = |f: fn(Status) -> bool| -> usize {
        d.datasets
            .iter()
            .flat_map(|a| &a.dataset.checks)
            .filter(|c| f(c.status))
            .count()
    };
    let what = match d.kind {
        DigestKind::Resolved => {
            let n: usize = d.datasets.iter().map(|a| a.checks.len()).sum();
            format!("{} recovered", count_of(n as u64, "check", "checks"))
        }
        DigestKind::Passing => format!("all {} passed", count_of(total as u64, "check", "checks")),
        DigestKind::Firing => {
            let failed = count(|s| matches!(s, Status::Fail | Status::Error));
            let warned = count(|s| s == Status::Warn);
            let unreadable = d.datasets.iter().filter(|a| a.dataset.error.is_some()).count();
            if failed > 0 {
                format!("{failed} of {total} checks failed")
            } else if warned > 0 {
                format!("{warned} of {total} checks warned")
            } else if unreadable > 0 {
                "the dataset could not be checked".to_string()
            } else {
                format!("{total} checks")
            }
        }
    };
    format!("[lakegate] {} {who}: {what}", word(d))
}

/// The checks shown in full, the ones listed by name, and how many are left out.
fn split<'a, 'r>(
    d: &'a Digest<'r>,
) -> (
    Vec<(&'a DatasetAlert<'r>, &'r CheckResult)>,
    Vec<(&'a DatasetAlert<'r>, &'r CheckResult)>,
    usize,
) {
    let all: Vec<_> = d
        .datasets
        .iter()
        .flat_map(|a| a.checks.iter().map(move |c| (a, *c)))
        .collect();
    let n = all.len();
    let full = all.iter().take(FULL).copied().collect();
    let listed = all.iter().skip(FULL).take(LISTED - FULL).copied().collect();
    (full, listed, n.saturating_sub(LISTED))
}

fn failing_rows(c: &CheckResult) -> Option<String> {
    c.failing_rows.map(|n| {
        let mut s = count_of(n, "failing row", "failing rows");
        if let Some(f) = c.failing_fraction {
            let _ = write!(s, " ({})", crate::results::numbers::fmt_pct(f));
        }
        s
    })
}

fn since_text(a: &DatasetAlert<'_>, c: &CheckResult) -> Option<String> {
    a.since.get(&c.id).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// The plain-text part.
pub(crate) fn text(d: &Digest<'_>, run: &RunResult) -> String {
    let mut out = format!("{}\n\n", subject(d).trim_start_matches("[lakegate] "));
    for a in &d.datasets {
        let ds = a.dataset;
        let _ = writeln!(
            out,
            "{} — {} — {}",
            label(a),
            ds.status.as_str().to_uppercase(),
            ds.location
        );
        if let Some(e) = &ds.error {
            let _ = writeln!(out, "  could not be checked: {e}");
        }
    }
    let (full, listed, more) = split(d);
    for (a, c) in &full {
        let _ = writeln!(
            out,
            "\n{} {} — {}",
            c.status.as_str().to_uppercase(),
            c.id,
            a.dataset.name
        );
        let _ = writeln!(out, "  {}", c.message);
        let _ = writeln!(
            out,
            "  observed: {}   expected: {}",
            crate::results::numbers::short_value(&c.observed),
            crate::results::numbers::short_value(&c.expected)
        );
        if let Some(r) = failing_rows(c) {
            let _ = writeln!(out, "  {r}");
        }
        if let Some(s) = since_text(a, c) {
            let _ = writeln!(out, "  failing since {s}");
        }
        let _ = writeln!(out, "  declared at {}:{}", c.source.file, c.source.line);
        for row in c.sample.iter().take(SAMPLE_ROWS) {
            if let Value::Object(m) = row {
                let cells: Vec<String> = m
                    .iter()
                    .take(SAMPLE_COLUMNS)
                    .map(|(k, v)| format!("{k}={}", crate::results::numbers::short_value(v)))
                    .collect();
                let _ = writeln!(out, "    sample: {}", cells.join(", "));
            }
        }
    }
    for (_, c) in &listed {
        let _ = writeln!(out, "\n{} {}: {}", c.status.as_str().to_uppercase(), c.id, c.message);
    }
    if more > 0 {
        let _ = writeln!(
            out,
            "\nand {more} more (see the run's JSON result or `lakegate history`)"
        );
    }
    let _ = writeln!(
        out,
        "\nrun {} ({}), {}",
        run.run_id,
        run.command,
        run.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    out
}

/// The HTML part when the summary template could not be rendered (a broken `--templates`
/// override): the reason and the plain text, escaped, so the alert still goes out.
pub(crate) fn fallback_html(text: &str, error: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\
         <p>The HTML summary could not be rendered: {}</p><pre style=\"white-space:pre-wrap;\">{}</pre></body></html>",
        esc(error),
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_leaves_no_markup_and_no_control_characters() {
        let hostile = "<script>alert(\"x\")</script>&'\u{1b}[31m<img src=x onerror=y>";
        let e = esc(hostile);
        assert!(
            !e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''),
            "{e}"
        );
        assert!(!e.chars().any(|c| c == '\u{1b}'), "{e}");
        assert_eq!(esc("a & b"), "a &amp; b");
    }
}
