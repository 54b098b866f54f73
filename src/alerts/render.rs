//! The words of an alert: its subject, its plain-text part and its HTML part.
//!
//! The HTML is written by hand rather than with a template engine: it is one small table per
//! dataset, and every value that reaches it — names, messages, sample values, which come from the
//! data — goes through the one escaping function [`esc`]. Styles are inline (mail clients drop
//! `<style>` blocks) and the layout is a single 600-pixel column. The digest is capped: the
//! [`FULL`] worst checks in full, then one line each up to [`LISTED`], then "and K more".

use std::fmt::Write as _;

use serde_json::Value;

use super::policy::{DatasetAlert, Digest, DigestKind};
use crate::results::numbers::count_of;
use crate::results::{CheckResult, RunResult, Status};

/// Checks shown in full (message, observed vs expected, sample rows) in one digest.
pub(crate) const FULL: usize = 10;
/// Checks listed at all; past this the digest says "and K more".
pub(crate) const LISTED: usize = 50;
/// Sample rows shown per check, columns per row, characters per value.
const SAMPLE_ROWS: usize = 3;
const SAMPLE_COLUMNS: usize = 8;
const VALUE_CHARS: usize = 80;

/// Escapes text for HTML element content and double-quoted attribute values.
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

/// A JSON value as a short string (strings without quotes), cut at `VALUE_CHARS`.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    };
    if s.chars().count() > VALUE_CHARS {
        let cut: String = s.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
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
            short(&c.observed),
            short(&c.expected)
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
                    .map(|(k, v)| format!("{k}={}", short(v)))
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

const BADGE: &str =
    "display:inline-block;padding:1px 6px;border-radius:3px;font-size:12px;font-weight:bold;color:#fff;";

fn colour(s: Status) -> &'static str {
    match s {
        Status::Pass => "#2e7d32",
        Status::Warn => "#b26a00",
        Status::Fail => "#c62828",
        Status::Error => "#6a1b9a",
    }
}

/// The HTML part: one 600-pixel column, inline styles, every value escaped by [`esc`].
pub(crate) fn html(d: &Digest<'_>, run: &RunResult) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"margin:0;padding:16px;background:#f5f5f5;font-family:Arial,Helvetica,sans-serif;color:#212121;\">\
         <table role=\"presentation\" width=\"600\" style=\"width:600px;max-width:100%;margin:0 auto;background:#fff;border-collapse:collapse;\">\
         <tr><td style=\"padding:16px;border-bottom:1px solid #e0e0e0;\"><h1 style=\"margin:0;font-size:18px;\">{}</h1></td></tr>",
        esc(&subject(d)),
        esc(subject(d).trim_start_matches("[lakegate] "))
    );
    for a in &d.datasets {
        let ds = a.dataset;
        let _ = write!(
            o,
            "<tr><td style=\"padding:8px 16px;\"><span style=\"{BADGE}background:{};\">{}</span> <b>{}</b> <span style=\"color:#757575;\">{}</span>",
            colour(ds.status),
            esc(&ds.status.as_str().to_uppercase()),
            esc(&label(a)),
            esc(&ds.location)
        );
        if let Some(e) = &ds.error {
            let _ = write!(o, "<br>could not be checked: {}", esc(e));
        }
        o.push_str("</td></tr>");
    }
    let (full, listed, more) = split(d);
    for (a, c) in &full {
        check_html(&mut o, a, c);
    }
    for (_, c) in &listed {
        let _ = write!(
            o,
            "<tr><td style=\"padding:4px 16px;font-size:13px;\"><span style=\"{BADGE}background:{};\">{}</span> <code>{}</code>: {}</td></tr>",
            colour(c.status),
            esc(&c.status.as_str().to_uppercase()),
            esc(&c.id),
            esc(&c.message)
        );
    }
    if more > 0 {
        let _ = write!(
            o,
            "<tr><td style=\"padding:8px 16px;\">and {more} more (see the run's JSON result or <code>lakegate history</code>)</td></tr>"
        );
    }
    let _ = write!(
        o,
        "<tr><td style=\"padding:16px;color:#757575;font-size:12px;border-top:1px solid #e0e0e0;\">run {} ({}), {}</td></tr></table></body></html>",
        esc(&run.run_id),
        esc(&run.command),
        run.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    o
}

/// One check in full: badge, id, message, observed vs expected, rows, since, source, samples.
fn check_html(o: &mut String, a: &DatasetAlert<'_>, c: &CheckResult) {
    let td = "padding:2px 8px 2px 0;font-size:13px;vertical-align:top;";
    let _ = write!(
        o,
        "<tr><td style=\"padding:12px 16px;border-top:1px solid #eeeeee;\">\
         <div><span style=\"{BADGE}background:{};\">{}</span> <code style=\"font-size:13px;\">{}</code></div>\
         <p style=\"margin:6px 0;\">{}</p><table style=\"border-collapse:collapse;\">\
         <tr><td style=\"{td}color:#757575;\">observed</td><td style=\"{td}\">{}</td></tr>\
         <tr><td style=\"{td}color:#757575;\">expected</td><td style=\"{td}\">{}</td></tr>",
        colour(c.status),
        esc(&c.status.as_str().to_uppercase()),
        esc(&c.id),
        esc(&c.message),
        esc(&short(&c.observed)),
        esc(&short(&c.expected))
    );
    if let Some(r) = failing_rows(c) {
        let _ = write!(
            o,
            "<tr><td style=\"{td}color:#757575;\">failing rows</td><td style=\"{td}\">{}</td></tr>",
            esc(&r)
        );
    }
    if let Some(s) = since_text(a, c) {
        let _ = write!(
            o,
            "<tr><td style=\"{td}color:#757575;\">failing since</td><td style=\"{td}\">{}</td></tr>",
            esc(&s)
        );
    }
    let _ = write!(
        o,
        "<tr><td style=\"{td}color:#757575;\">declared at</td><td style=\"{td}\"><code>{}:{}</code></td></tr></table>",
        esc(&c.source.file),
        c.source.line
    );
    sample_html(o, c);
    o.push_str("</td></tr>");
}

/// A few sample rows as a small table (the columns of the first row).
fn sample_html(o: &mut String, c: &CheckResult) {
    let rows: Vec<&serde_json::Map<String, Value>> =
        c.sample.iter().take(SAMPLE_ROWS).filter_map(Value::as_object).collect();
    let Some(first) = rows.first() else {
        return;
    };
    let cols: Vec<&String> = first.keys().take(SAMPLE_COLUMNS).collect();
    let cell = "padding:2px 6px;border:1px solid #e0e0e0;font-size:12px;font-family:monospace;";
    o.push_str("<table style=\"border-collapse:collapse;margin-top:6px;\"><tr>");
    for k in &cols {
        let _ = write!(
            o,
            "<th style=\"{cell}background:#fafafa;text-align:left;\">{}</th>",
            esc(k)
        );
    }
    o.push_str("</tr>");
    for r in &rows {
        o.push_str("<tr>");
        for k in &cols {
            let v = r.get(k.as_str()).map_or_else(String::new, short);
            let _ = write!(o, "<td style=\"{cell}\">{}</td>", esc(&v));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
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
