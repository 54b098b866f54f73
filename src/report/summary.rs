//! The compact HTML summary of a run, the HTML part of every alert email: a headline, then per
//! dataset the checks an alert is about, worst first — each with its message, observed vs expected,
//! failing rows, "failing since", the suite line that declared it and a few failing rows — and a
//! link to the run's report page when there is one.
//!
//! One renderer, from the `summary.html` template (replaceable with `--templates` or `[report]
//! templates`, like every page): autoescaped, nothing marked safe, inline styles only (mail
//! clients drop `<style>`), one column at most 600 px wide, no images. The alerts choose what a
//! message is about and hand it here through the CLI (`cli/alerts.rs`), since `alerts` and `report`
//! sit side by side and import neither each other. The size is capped: [`Summary::full`] checks in
//! full, then one line each up to [`Summary::listed`], then "and K more"; sample values are cut at
//! [`VALUE_CHARS`](crate::results::numbers::VALUE_CHARS).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{ReportError, view};
use crate::results::numbers::{count_of, fmt_count, fmt_pct};
use crate::results::{CheckResult, DatasetResult, RunResult, Status};

/// Sample rows shown per check and columns per row (values are cut at `numbers::VALUE_CHARS`).
const SAMPLE_ROWS: usize = 3;
const SAMPLE_COLUMNS: usize = 8;

/// What a summary shows: a run narrowed to some datasets and checks.
pub(crate) struct Summary<'r> {
    pub run: &'r RunResult,
    /// The status beside the headline.
    pub status: Status,
    /// One line beside the status word: `orders (raw): 2 of 12 checks failed`.
    pub headline: String,
    pub datasets: Vec<Part<'r>>,
    /// Checks shown in full; after them, checks listed by one line up to `listed`, then "and K more".
    pub full: usize,
    pub listed: usize,
    /// Where the run's report pages are.
    pub site: Site<'r>,
}

/// One dataset's part of a summary.
pub(crate) struct Part<'r> {
    pub dataset: &'r DatasetResult,
    /// The checks to show, in order (worst first).
    pub checks: Vec<&'r CheckResult>,
    /// Per check id: when it started failing (under `on = "change"`).
    pub since: &'r HashMap<String, DateTime<Utc>>,
}

/// Where a run's report pages can be found: the directory `check` wrote them into, and the URL
/// that directory is served at (`[report] base_url`).
#[derive(Clone, Copy, Default)]
pub(crate) struct Site<'a> {
    pub written: Option<&'a Path>,
    pub base_url: Option<&'a str>,
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Pass => "#1a7f37",
        Status::Warn => "#9a6700",
        Status::Fail => "#cf222e",
        Status::Error => "#8250df",
    }
}

#[derive(Serialize)]
struct Cell {
    null: bool,
    text: String,
}

#[derive(Serialize)]
struct Check {
    status_word: &'static str,
    colour: &'static str,
    id: String,
    dataset: String,
    kind: String,
    message: String,
    observed: String,
    expected: String,
    failing: Option<String>,
    since: Option<String>,
    source: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Serialize)]
struct Listed {
    status_word: &'static str,
    colour: &'static str,
    id: String,
    message: String,
}

#[derive(Serialize)]
struct Page {
    /// A link (`[report] base_url`), or only a path on the machine that ran the check.
    href: Option<String>,
    path: String,
}

#[derive(Serialize)]
struct Dataset {
    name: String,
    zone: String,
    status_word: &'static str,
    colour: &'static str,
    location: String,
    rows: String,
    error: Option<String>,
    page: Option<Page>,
}

/// The first rows of a check's sample as a table: the keys of those rows in the order first seen.
fn sample(c: &CheckResult) -> (Vec<String>, Vec<Vec<Cell>>) {
    let rows: Vec<&Value> = c.sample.iter().take(SAMPLE_ROWS).collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        let keys: Vec<String> = match row {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => vec!["value".into()],
        };
        for k in keys {
            if !columns.contains(&k) && columns.len() < SAMPLE_COLUMNS {
                columns.push(k);
            }
        }
    }
    let cells = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|col| {
                    let v = match row {
                        Value::Object(m) => m.get(col).unwrap_or(&Value::Null),
                        other => other,
                    };
                    Cell {
                        null: v.is_null(),
                        text: crate::results::numbers::short_value(v),
                    }
                })
                .collect()
        })
        .collect();
    (columns, cells)
}

fn check(part: &Part<'_>, c: &CheckResult) -> Check {
    let (columns, rows) = sample(c);
    Check {
        status_word: view::status_word(c.status),
        colour: colour(c.status),
        id: c.id.clone(),
        dataset: part.dataset.name.clone(),
        kind: c.kind.clone(),
        message: c.message.clone(),
        observed: crate::results::numbers::short_value(&c.observed),
        expected: crate::results::numbers::short_value(&c.expected),
        failing: c.failing_rows.map(|n| match c.failing_fraction {
            Some(f) => format!("{} ({})", fmt_count(n), fmt_pct(f)),
            None => fmt_count(n),
        }),
        since: part
            .since
            .get(&c.id)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        source: format!("{}:{}", c.source.file, c.source.line),
        columns,
        rows,
    }
}

/// The run's page of a dataset, when `check` wrote it: a link under `base_url`, or its path.
fn page(site: Site<'_>, run: &RunResult, d: &DatasetResult) -> Option<Page> {
    let dir = site.written?;
    let rel = view::run_page(&run.run_id, &d.name);
    let path = dir.join(&rel);
    if !path.is_file() {
        return None;
    }
    Some(Page {
        href: site.base_url.map(|base| format!("{base}{rel}")),
        path: path.display().to_string(),
    })
}

impl Summary<'_> {
    /// The template's context: plain strings, placed by `summary.html`.
    fn context(&self) -> tera::Context {
        let all: Vec<(&Part<'_>, &CheckResult)> = self
            .datasets
            .iter()
            .flat_map(|p| p.checks.iter().map(move |c| (p, *c)))
            .collect();
        let full: Vec<Check> = all.iter().take(self.full).map(|(p, c)| check(p, c)).collect();
        let listed: Vec<Listed> = all
            .iter()
            .skip(self.full)
            .take(self.listed.saturating_sub(self.full))
            .map(|(_, c)| Listed {
                status_word: view::status_word(c.status),
                colour: colour(c.status),
                id: c.id.clone(),
                message: c.message.clone(),
            })
            .collect();
        let more = all.len().saturating_sub(self.listed.max(self.full));
        let datasets: Vec<Dataset> = self
            .datasets
            .iter()
            .map(|p| {
                let d = p.dataset;
                Dataset {
                    name: d.name.clone(),
                    zone: d.zone.clone(),
                    status_word: view::status_word(d.status),
                    colour: colour(d.status),
                    location: d.location.clone(),
                    rows: d
                        .rows
                        .map_or_else(|| "rows unknown".into(), |r| count_of(r, "row", "rows")),
                    error: d.error.clone(),
                    page: page(self.site, self.run, d),
                }
            })
            .collect();
        let mut cx = tera::Context::new();
        cx.insert("status_word", view::status_word(self.status));
        cx.insert("colour", colour(self.status));
        cx.insert("headline", &self.headline);
        cx.insert("datasets", &datasets);
        cx.insert("checks", &full);
        cx.insert("listed", &listed);
        cx.insert(
            "more",
            &(more > 0).then(|| format!("and {more} more (see the run's JSON result or `lakegate history`)")),
        );
        cx.insert(
            "footer",
            &format!(
                "run {} ({}), {}",
                self.run.run_id,
                self.run.command,
                view::when(self.run.finished_at)
            ),
        );
        cx
    }
}

/// The summary as an HTML document for an email's HTML part, from the `summary.html` template
/// (the built-in one, or its replacement in `templates`).
pub(crate) fn summary_html(summary: &Summary<'_>, templates: Option<&Path>) -> Result<String, ReportError> {
    let t = super::tera(templates)?;
    super::render(&t, "summary.html", &summary.context())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::results::{Severity, SourceRef};

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
            merged: None,
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
            summary: crate::results::Summary::default(),
            alerts: Vec::new(),
            lineage: Vec::new(),
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
                incremental: None,
                checks,
            }],
        };
        for d in &mut r.datasets {
            d.finalize();
        }
        r.finalize();
        r
    }

    fn render(run: &RunResult, ids: &[&str], full: usize, since: &HashMap<String, DateTime<Utc>>) -> String {
        let d = &run.datasets[0];
        let summary = Summary {
            run,
            status: run.status,
            headline: "evil (raw): 2 of 3 checks failed".into(),
            datasets: vec![Part {
                dataset: d,
                checks: ids
                    .iter()
                    .map(|id| d.checks.iter().find(|c| c.name == *id).unwrap())
                    .collect(),
                since,
            }],
            full,
            listed: 50,
            site: Site::default(),
        };
        summary_html(&summary, None).unwrap()
    }

    #[test]
    fn the_summary_shows_the_checks_in_full_with_a_few_escaped_rows_in_600_px_and_inline_styles() {
        let rows: Vec<_> = (0..5)
            .map(|i| json!({ "<b>x</b>": format!("<script>alert({i})</script>") }))
            .collect();
        let r = run(vec![
            check("passing", Status::Pass, vec![]),
            check("warned", Status::Warn, vec![]),
            check("failing", Status::Fail, rows),
        ]);
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-14T08:00:00Z")
            .unwrap()
            .to_utc();
        let since = HashMap::from([("evil.failing".to_string(), t)]);
        let html = render(&r, &["failing", "warned"], 10, &since);
        assert!(html.contains("max-width:600px"), "{html}");
        assert!(html.contains(">FAIL</span>") && html.contains("evil.failing"), "{html}");
        assert!(
            html.find("evil.failing").unwrap() < html.find("evil.warned").unwrap(),
            "in the order given: {html}"
        );
        assert!(!html.contains("evil.passing"), "only the checks given: {html}");
        assert!(html.contains("checks/evil.toml:7"), "{html}");
        assert!(html.contains("2026-01-14 08:00 UTC"), "failing since: {html}");
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "{html}");
        assert!(!html.contains("alert(3)"), "only 3 sample rows: {html}");
        assert!(
            html.contains("&lt;b&gt;x&lt;/b&gt;") && html.contains("&lt;i&gt;markup&lt;/i&gt;"),
            "{html}"
        );
        for raw in ["<script", "<b>x", "<i>markup", "<style", "class=", "src="] {
            assert!(!html.contains(raw), "{raw} in {html}");
        }
    }

    #[test]
    fn past_the_full_checks_the_rest_are_one_line_each() {
        let r = run(vec![
            check("one", Status::Fail, vec![json!({ "a": "row-of-one" })]),
            check("two", Status::Fail, vec![json!({ "a": "row-of-two" })]),
        ]);
        let html = render(&r, &["one", "two"], 1, &HashMap::new());
        assert!(html.contains("row-of-one") && !html.contains("row-of-two"), "{html}");
        assert!(html.contains("evil.two"), "{html}");
    }
}
