//! The compact HTML summary of a run, for an email body (alerts, issue #13): the verdict, then per
//! dataset its failed, errored and warned checks (failures first) with a few failing rows. At most
//! 600 px wide, inline styles only (mail clients drop `<style>`), no images, no links, escaped like
//! every page of the report.

// The alerts (issue #13) are this module's caller; until they land only its tests call it.
#![allow(dead_code)]

use serde::Serialize;

use super::view::{self, Cell};
use crate::results::{RunResult, Status};

/// Checks listed per dataset before "and N more".
const CHECKS_PER_DATASET: usize = 10;

fn colour(s: Status) -> &'static str {
    match s {
        Status::Pass => "#1a7f37",
        Status::Warn => "#9a6700",
        Status::Fail => "#cf222e",
        Status::Error => "#8250df",
    }
}

#[derive(Serialize)]
struct Check {
    status_word: &'static str,
    colour: &'static str,
    name: String,
    kind: String,
    message: String,
    source: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Serialize)]
struct Dataset {
    name: String,
    zone: String,
    rows: String,
    error: Option<String>,
    checks: Vec<Check>,
    more: Option<String>,
}

/// The summary fragment of `run` (a `<div>`, not a document), with at most `sample_rows` failing
/// rows per check. Every name, value and message is escaped. Rendering the built-in template cannot
/// fail on any result; if it ever did, the fragment says so in one escaped sentence instead.
pub(crate) fn summary_html(run: &RunResult, sample_rows: usize) -> String {
    let mut datasets = Vec::new();
    for d in &run.datasets {
        let mut bad: Vec<_> = d.checks.iter().filter(|c| c.status != Status::Pass).collect();
        if bad.is_empty() && d.error.is_none() {
            continue;
        }
        bad.sort_by_key(|c| view::rank(c.status));
        let more = (bad.len() > CHECKS_PER_DATASET)
            .then(|| format!("… and {} more in the report", bad.len() - CHECKS_PER_DATASET));
        let checks = bad
            .iter()
            .take(CHECKS_PER_DATASET)
            .map(|c| {
                let mut t = view::sample_table(c, String::new());
                t.rows.truncate(sample_rows);
                Check {
                    status_word: view::status_word(c.status),
                    colour: colour(c.status),
                    name: c.name.clone(),
                    kind: c.kind.clone(),
                    message: c.message.clone(),
                    source: format!("{}:{}", c.source.file, c.source.line),
                    columns: t.columns,
                    rows: t.rows,
                }
            })
            .collect();
        datasets.push(Dataset {
            name: d.name.clone(),
            zone: d.zone.clone(),
            rows: d.rows.map_or_else(
                || "rows unknown".into(),
                |r| crate::results::numbers::count_of(r, "row", "rows"),
            ),
            error: d.error.clone(),
            checks,
            more,
        });
    }
    let verdict = crate::results::text::verdict(run);
    let mut cx = tera::Context::new();
    cx.insert("status_word", view::status_word(run.status));
    cx.insert("colour", colour(run.status));
    cx.insert("verdict", verdict.split_once(": ").map_or(verdict.as_str(), |(_, v)| v));
    cx.insert("datasets", &datasets);
    match super::tera(None).and_then(|t| super::render(&t, "summary.html", &cx)) {
        Ok(html) => html,
        Err(e) => {
            let mut buf = Vec::new();
            let _ = tera::escape_html(&format!("The run's summary could not be rendered: {e}"), &mut buf);
            format!("<p>{}</p>", String::from_utf8_lossy(&buf))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::results::{CheckResult, DatasetResult, Severity, SourceRef, Summary};

    fn check(id: &str, status: Status, sample: Vec<serde_json::Value>) -> CheckResult {
        CheckResult {
            id: format!("evil.{id}"),
            name: id.into(),
            kind: "accepted_values".into(),
            column: Some("<b>x</b>".into()),
            columns: vec!["<b>x</b>".into()],
            severity: Severity::Error,
            status,
            failing_rows: Some(sample.len() as u64),
            failing_fraction: Some(0.5),
            value: None,
            observed: json!(1),
            expected: json!({ "values": ["ok"] }),
            message: "A message with <i>markup</i>.".into(),
            from_statistics: false,
            where_: None,
            description: None,
            sample,
            source: SourceRef {
                file: "checks/evil.toml".into(),
                line: 7,
            },
            limits: crate::results::Limits::default(),
        }
    }

    fn run(checks: Vec<CheckResult>) -> RunResult {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z")
            .unwrap()
            .to_utc();
        let mut r = RunResult {
            lakegate: "test",
            format_version: 1,
            run_id: "r".into(),
            command: "check".into(),
            started_at: t,
            finished_at: t,
            now: t,
            status: Status::Pass,
            summary: Summary::default(),
            alerts: Vec::new(),
            datasets: vec![DatasetResult {
                name: "evil".into(),
                zone: "raw".into(),
                location: "lake/raw/evil".into(),
                format: Some("csv".into()),
                suite: "checks/evil.toml".into(),
                files: 1,
                rows: Some(4),
                status: Status::Pass,
                queries: 1,
                sample_queries: 1,
                scanned_columns: vec![],
                duration_ms: 1,
                error: None,
                checks,
            }],
        };
        for d in &mut r.datasets {
            d.finalize();
        }
        r.finalize();
        r
    }

    #[test]
    fn the_summary_lists_failed_checks_with_a_few_escaped_rows_in_600_px_and_inline_styles() {
        let rows: Vec<_> = (0..5)
            .map(|i| json!({ "<b>x</b>": format!("<script>alert({i})</script>") }))
            .collect();
        let html = summary_html(
            &run(vec![
                check("passing", Status::Pass, vec![]),
                check("warned", Status::Warn, vec![]),
                check("failing", Status::Fail, rows),
            ]),
            3,
        );
        assert!(html.contains("max-width:600px"), "{html}");
        assert!(
            html.contains(">FAIL</span>") && html.contains("failing") && html.contains("warned"),
            "{html}"
        );
        assert!(
            html.find("<b>failing</b>").unwrap() < html.find("<b>warned</b>").unwrap(),
            "failures first: {html}"
        );
        assert!(!html.contains("passing"), "passing checks are left out: {html}");
        assert!(html.contains("checks/evil.toml:7"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "{html}");
        assert!(!html.contains("alert(3)"), "only 3 sample rows: {html}");
        assert!(
            html.contains("&lt;b&gt;x&lt;/b&gt;") && html.contains("&lt;i&gt;markup&lt;/i&gt;"),
            "{html}"
        );
        for raw in ["<script", "<b>x", "<i>markup", "<style", "class=", "href=", "src="] {
            assert!(!html.contains(raw), "{raw} in {html}");
        }
    }

    #[test]
    fn a_passing_run_is_one_line() {
        let html = summary_html(&run(vec![check("passing", Status::Pass, vec![])]), 3);
        assert!(html.contains(">PASS</span>") && html.contains("1 passed"), "{html}");
        assert!(!html.contains("<table"), "{html}");
    }
}
