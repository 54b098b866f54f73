//! What the templates see: the run and history records turned into plain strings, ordered and
//! formatted here so that templates only place text (and Tera escapes all of it).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::state::{RUNS_PER_PAGE, RunEntry, SPARK_RUNS, SiteState};
use crate::duration::human;
use crate::history::RunRecord;
use crate::results::numbers::{count_of, fmt_count, fmt_pct};
use crate::results::{CheckResult, DatasetResult, RunResult, Status};

/// `PASS`, `WARN`, `FAIL`, `ERROR`: the word beside every status colour.
pub(super) fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    }
}

/// Failures first, then errors, warnings, passes.
pub(super) fn rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Warn => 2,
        Status::Pass => 3,
    }
}

/// A run's own timestamp as pages show it.
pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A name as a file name: letters, digits, `.`, `_`, `-` kept; anything else (and a leading `.`)
/// becomes `_`, and a name that had to change gets a short hash of itself so two names never share
/// a page.
pub(super) fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.insert(0, '_');
    }
    if s != name {
        let hash = Sha256::digest(name.as_bytes());
        s.push('-');
        for b in &hash[..4] {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// The page of one run of one dataset, relative to the site's root.
pub(super) fn run_page(run_id: &str, dataset: &str) -> String {
    format!("runs/{}/{}.html", slug(run_id), slug(dataset))
}

/// A piece of a sentence: plain text, or what the sentence wrote in backticks (shown as code).
#[derive(Debug, PartialEq, Eq, Serialize)]
pub(super) struct Seg {
    code: bool,
    text: String,
}

/// A sentence split at its backticks: `` `x` `` becomes a code piece `x`, so a template shows it as
/// `<code>x</code>`. The pieces are text that Tera escapes like any other value — nothing becomes
/// markup — and a backtick without its pair stays a backtick.
pub(super) fn marked(text: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`').filter(|&c| c > 0) else {
            break;
        };
        if open > 0 {
            out.push(Seg {
                code: false,
                text: rest[..open].to_string(),
            });
        }
        out.push(Seg {
            code: true,
            text: after[..close].to_string(),
        });
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Seg {
            code: false,
            text: rest.to_string(),
        });
    }
    out
}

/// A JSON value as one line of text: strings as they are, everything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Serialize)]
struct Param {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct Step {
    anchor: String,
    status: &'static str,
    status_word: &'static str,
    id: String,
    name: String,
    kind: String,
    kind_summary: Vec<Seg>,
    description: Option<Vec<Seg>>,
    message: Vec<Seg>,
    columns: Vec<String>,
    params: Vec<Param>,
    observed: String,
    failing: String,
    severity: &'static str,
    from_statistics: bool,
    source: String,
    sample_link: Option<String>,
    schema_link: Option<String>,
    badge: Option<super::trend::Badge>,
    trend_link: Option<String>,
}

/// One value of a failing row.
#[derive(Serialize)]
pub(super) struct Cell {
    null: bool,
    text: String,
}

/// A failed check's sample as a table.
#[derive(Serialize)]
pub(super) struct SampleTable {
    anchor: String,
    status: &'static str,
    status_word: &'static str,
    id: String,
    caption: Vec<Seg>,
    pub(super) columns: Vec<String>,
    pub(super) rows: Vec<Vec<Cell>>,
}

/// The check's parameters: its `where`, then what it expected (an object's keys one by one).
fn params(c: &CheckResult) -> Vec<Param> {
    let mut out = Vec::new();
    if let Some(w) = &c.where_ {
        out.push(Param {
            key: "where".into(),
            value: w.clone(),
        });
    }
    match &c.expected {
        Value::Null => {}
        // A schema check's columns are shown as the schema table, not as one long line.
        Value::Object(m) => out.extend(m.iter().filter(|(k, _)| !(c.kind == "schema" && *k == "columns")).map(
            |(k, v)| Param {
                key: k.clone(),
                value: plain(v),
            },
        )),
        v => out.push(Param {
            key: "expected".into(),
            value: plain(v),
        }),
    }
    out
}

/// What a check observed, in one line; a schema check's columns are counted (the table has them).
fn observed(c: &CheckResult) -> String {
    match c.observed.get("columns").and_then(Value::as_object) {
        Some(cols) if c.kind == "schema" => count_of(cols.len() as u64, "column", "columns"),
        _ => plain(&c.observed),
    }
}

#[derive(Serialize)]
struct SchemaRow {
    column: String,
    expected: String,
    observed: String,
    verdict: &'static str,
    differs: bool,
}

/// A schema check's columns, expected against observed, and its drift against the accepted version.
#[derive(Serialize)]
pub(super) struct SchemaDiff {
    anchor: String,
    id: String,
    status: &'static str,
    status_word: &'static str,
    rows: Vec<SchemaRow>,
    accepted_version: String,
    drift: Vec<String>,
}

fn schema_diff(c: &CheckResult, anchor: String) -> Option<SchemaDiff> {
    let observed = c.observed.get("columns")?.as_object()?;
    let empty = serde_json::Map::new();
    let expected = c.expected.get("columns").and_then(Value::as_object).unwrap_or(&empty);
    let mut names: Vec<&String> = expected.keys().collect();
    names.extend(observed.keys().filter(|k| !expected.contains_key(*k)));
    let rows = names
        .into_iter()
        .map(|name| {
            let (e, o) = (expected.get(name), observed.get(name));
            let verdict = match (e, o) {
                _ if expected.is_empty() => "present",
                (Some(e), Some(o)) if e == o => "as expected",
                (Some(_), Some(_)) => "type differs",
                (Some(_), None) => "missing",
                _ => "not expected",
            };
            SchemaRow {
                column: name.clone(),
                expected: e.map_or_else(|| "—".into(), plain),
                observed: o.map_or_else(|| "—".into(), plain),
                differs: !matches!(verdict, "as expected" | "present"),
                verdict,
            }
        })
        .collect();
    let drift = c
        .observed
        .get("changes")
        .and_then(Value::as_array)
        .map(|changes| {
            changes
                .iter()
                .map(|ch| {
                    let f = |k: &str| ch.get(k).map(plain).unwrap_or_default();
                    match (
                        ch.get("from").filter(|v| !v.is_null()),
                        ch.get("to").filter(|v| !v.is_null()),
                    ) {
                        (Some(_), Some(_)) => format!(
                            "{}: {} ({} → {})",
                            f("column"),
                            f("change").replace('_', " "),
                            f("from"),
                            f("to")
                        ),
                        _ => format!("{}: {}", f("column"), f("change").replace('_', " ")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Some(SchemaDiff {
        anchor,
        id: c.id.clone(),
        status: c.status.as_str(),
        status_word: status_word(c.status),
        rows,
        accepted_version: c
            .observed
            .get("accepted_version")
            .filter(|v| !v.is_null())
            .map_or_else(|| "none accepted yet".into(), |v| format!("version {}", plain(v))),
        drift,
    })
}

/// `12 (0.3%)`, `12`, or `—`.
fn failing(c: &CheckResult) -> String {
    match (c.failing_rows, c.failing_fraction) {
        (Some(n), Some(f)) => format!("{} ({})", fmt_count(n), fmt_pct(f)),
        (Some(n), None) => fmt_count(n),
        _ => "—".into(),
    }
}

/// The failing-row sample as a table: the union of the rows' keys, in the order first seen.
pub(super) fn sample_table(c: &CheckResult, anchor: String) -> SampleTable {
    let mut columns: Vec<String> = Vec::new();
    for row in &c.sample {
        match row {
            Value::Object(m) => {
                for k in m.keys() {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            _ if !columns.iter().any(|c| c == "value") => columns.push("value".into()),
            _ => {}
        }
    }
    let rows = c
        .sample
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
                        text: plain(v),
                    }
                })
                .collect()
        })
        .collect();
    let shown = count_of(c.sample.len() as u64, "row", "rows");
    let caption = match c.failing_rows {
        Some(n) => format!("{shown} of {} failing: {}", fmt_count(n), c.message),
        None => format!("{shown}: {}", c.message),
    };
    SampleTable {
        anchor,
        status: c.status.as_str(),
        status_word: status_word(c.status),
        id: c.id.clone(),
        caption: marked(&caption),
        columns,
        rows,
    }
}

/// `2 of 12 checks failed, 1 warned, 9 passed`.
fn verdict(d: &DatasetResult) -> String {
    let n = |s: Status| d.checks.iter().filter(|c| c.status == s).count();
    let mut parts = vec![format!(
        "{} of {} failed",
        n(Status::Fail),
        count_of(d.checks.len() as u64, "check", "checks")
    )];
    if n(Status::Error) > 0 {
        parts.push(format!("{} could not be evaluated", n(Status::Error)));
    }
    if n(Status::Warn) > 0 {
        parts.push(format!("{} warned", n(Status::Warn)));
    }
    parts.push(format!("{} passed", n(Status::Pass)));
    parts.join(", ")
}

/// The context of a run's page for one dataset; `badges` (by check id) come from the history, and
/// `trends` says whether the site has check pages to link.
pub(super) fn run_context(
    run: &RunResult,
    d: &DatasetResult,
    mut badges: std::collections::HashMap<String, super::trend::Badge>,
    trends: bool,
) -> tera::Context {
    let mut order: Vec<&CheckResult> = d.checks.iter().collect();
    order.sort_by_key(|c| rank(c.status));
    let mut steps = Vec::new();
    let mut samples = Vec::new();
    let mut schemas = Vec::new();
    for (i, c) in order.iter().enumerate() {
        let schema_link = match schema_diff(c, format!("schema-{}", i + 1)) {
            Some(sd) if c.kind == "schema" => {
                schemas.push(sd);
                Some(format!("schema-{}", i + 1))
            }
            _ => None,
        };
        let sample_link = (!c.sample.is_empty()).then(|| format!("rows-{}", i + 1));
        if let Some(a) = &sample_link {
            samples.push(sample_table(c, a.clone()));
        }
        steps.push(Step {
            anchor: format!("check-{}", i + 1),
            status: c.status.as_str(),
            status_word: status_word(c.status),
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            kind_summary: marked(crate::checks::kind(&c.kind).map_or("", |k| k.summary)),
            description: c.description.as_deref().map(marked),
            message: marked(&c.message),
            columns: c.columns.clone(),
            params: params(c),
            observed: observed(c),
            failing: failing(c),
            severity: c.severity.as_str(),
            from_statistics: c.from_statistics,
            source: format!("{}:{}", c.source.file, c.source.line),
            sample_link,
            schema_link,
            badge: badges.remove(&c.id),
            trend_link: trends.then(|| format!("../../{}", super::trend::check_page(&d.name, &c.id))),
        });
    }
    let mut cx = tera::Context::new();
    cx.insert("version", env!("CARGO_PKG_VERSION"));
    cx.insert("root", "../../");
    cx.insert(
        "run",
        &serde_json::json!({
            "run_id": run.run_id,
            "command": run.command,
            "started": when(run.started_at),
            "now": when(run.now),
        }),
    );
    cx.insert(
        "dataset",
        &serde_json::json!({
            "name": d.name,
            "zone": d.zone,
            "location": d.location,
            "format": d.format,
            "suite": d.suite,
            "status": d.status.as_str(),
            "rows": d.rows.map_or_else(|| "rows unknown".into(), |r| count_of(r, "row", "rows")),
            "files": count_of(d.files as u64, "file", "files"),
            "duration": format!("{} ms", fmt_count(d.duration_ms)),
            "error": d.error.as_deref().map(marked),
        }),
    );
    cx.insert("status_word", status_word(d.status));
    cx.insert("verdict", &verdict(d));
    cx.insert("failing", &order.first().is_some_and(|c| c.status != Status::Pass));
    cx.insert("steps", &steps);
    cx.insert("samples", &samples);
    cx.insert("schemas", &schemas);
    cx
}

#[derive(Serialize)]
struct DatasetRow {
    name: String,
    zone: String,
    status: &'static str,
    status_word: &'static str,
    failing_checks: usize,
    warned: usize,
    checks: usize,
    rows: String,
    started: String,
    /// How long before the site's newest run the dataset's latest run started (`None`: it is in it).
    behind: Option<String>,
    /// The newest data's age at the dataset's latest run (`None`: no `freshness` check said).
    data_age: Option<String>,
    link: Option<String>,
    spark: Vec<Bar>,
}

/// One run in a dataset's sparkline: a bar as high as its failing checks (a stub when none failed).
#[derive(Serialize)]
struct Bar {
    x: usize,
    y: String,
    h: String,
    status: &'static str,
    label: String,
}

/// The sparkline of a dataset's runs (oldest first): its last 30, 4 px apart, 24 px high.
fn spark(runs: &[RunRecord]) -> Vec<Bar> {
    let last = &runs[runs.len().saturating_sub(SPARK_RUNS)..];
    let max = last.iter().map(|r| r.failed + r.errored).max().unwrap_or(0).max(1);
    last.iter()
        .enumerate()
        .map(|(i, r)| {
            let failing = r.failed + r.errored;
            #[allow(clippy::cast_precision_loss)]
            let h = if failing == 0 {
                3.0
            } else {
                4.0 + 20.0 * failing as f64 / max as f64
            };
            Bar {
                x: i * 4,
                y: format!("{:.1}", 24.0 - h),
                h: format!("{h:.1}"),
                status: r.status.as_str(),
                label: format!(
                    "{}: {} ({} failing)",
                    when(r.started_at),
                    status_word(r.status),
                    failing
                ),
            }
        })
        .collect()
}

/// An age in seconds as the index shows it: `2h 5m`, or `3m ahead` for data from the future.
#[allow(clippy::cast_possible_truncation)]
fn age(secs: f64) -> String {
    let s = secs.round() as i64;
    if s < 0 {
        format!("{} ahead", human(-s))
    } else {
        human(s)
    }
}

#[derive(Serialize)]
struct RunDataset {
    name: String,
    status: &'static str,
    status_word: &'static str,
    failed: usize,
    checks: usize,
    link: Option<String>,
}

#[derive(Serialize)]
struct RunRow {
    number: usize,
    run_id: String,
    command: String,
    started: String,
    datasets: Vec<RunDataset>,
}

/// Which runs' pages the site links: a run's page when it exists and retention keeps it.
pub(super) struct Links<'a> {
    pub state: &'a SiteState,
    pub has_page: &'a dyn Fn(&str) -> bool,
}

impl Links<'_> {
    /// The page of `dataset`'s run at `position`, when the site has it and keeps it.
    fn run(&self, dataset: &str, run_id: &str, position: usize) -> Option<String> {
        let kept = self
            .state
            .datasets
            .get(dataset)
            .is_some_and(|d| position >= d.kept_from);
        let rel = run_page(run_id, dataset);
        (kept && (self.has_page)(&rel)).then_some(rel)
    }
}

/// The run list's rows for `entries` (oldest first, starting at `first`), newest first.
fn run_rows(entries: &[RunEntry], first: usize, links: &Links<'_>) -> Vec<RunRow> {
    entries
        .iter()
        .enumerate()
        .rev()
        .map(|(i, e)| RunRow {
            number: first + i + 1,
            run_id: e.run_id.clone(),
            command: e.command.clone(),
            started: when(e.started_at),
            datasets: e
                .datasets
                .iter()
                .map(|d| RunDataset {
                    name: d.dataset.clone(),
                    status: d.status.as_str(),
                    status_word: status_word(d.status),
                    failed: d.failed,
                    checks: d.checks,
                    link: links.run(&d.dataset, &e.run_id, first + i),
                })
                .collect(),
        })
        .collect()
}

/// The archive page of chunk `chunk` (0-based) of the run list.
pub(super) fn archive_page(chunk: usize) -> String {
    format!("runs-{}.html", chunk + 1)
}

/// The archive pages that exist: one per full chunk.
fn archive_count(state: &SiteState) -> usize {
    state.runs / RUNS_PER_PAGE
}

/// The datasets table: each dataset's latest run, its sparkline, its data age, and how long before
/// the site's newest run it was checked.
fn dataset_rows(links: &Links<'_>) -> Vec<DatasetRow> {
    let newest = links
        .state
        .datasets
        .values()
        .filter_map(|d| d.recent.last())
        .map(|r| r.started_at)
        .max();
    links
        .state
        .datasets
        .values()
        .filter_map(|d| Some((d, d.recent.last()?)))
        .map(|(d, r)| {
            let behind = newest
                .map(|n| (n - r.started_at).num_seconds())
                .filter(|s| *s > 0)
                .map(human);
            let rel = run_page(&r.run_id, &r.dataset);
            DatasetRow {
                name: r.dataset.clone(),
                zone: r.zone.clone(),
                status: r.status.as_str(),
                status_word: status_word(r.status),
                failing_checks: r.failed + r.errored,
                warned: r.warned,
                checks: r.checks,
                rows: r.rows.map_or_else(|| "—".into(), fmt_count),
                started: when(r.started_at),
                behind,
                data_age: d.data_age.filter(|a| a.is_finite()).map(age),
                link: (links.has_page)(&rel).then_some(rel),
                spark: spark(&d.recent),
            }
        })
        .collect()
}

/// The index's context: the datasets, then the newest runs (`newest`, oldest first, the last
/// `newest.len()` runs of the list), then links to the archive pages.
pub(super) fn index_context(links: &Links<'_>, newest: &[RunEntry]) -> tera::Context {
    let state = links.state;
    let first = state.runs - newest.len();
    let archives: Vec<Value> = (0..archive_count(state))
        .rev()
        .map(|c| {
            serde_json::json!({
                "href": archive_page(c),
                "from": c * RUNS_PER_PAGE + 1,
                "to": (c + 1) * RUNS_PER_PAGE,
            })
        })
        .collect();
    let datasets = dataset_rows(links);
    let mut cx = tera::Context::new();
    cx.insert("version", env!("CARGO_PKG_VERSION"));
    cx.insert("root", "");
    cx.insert("spark_runs", &SPARK_RUNS);
    cx.insert("dataset_count", &count_of(datasets.len() as u64, "dataset", "datasets"));
    cx.insert("datasets", &datasets);
    cx.insert("runs", &run_rows(newest, first, links));
    cx.insert("run_count", &count_of(state.runs as u64, "run", "runs"));
    cx.insert("latest", &newest.last().map(|e| when(e.started_at)));
    cx.insert("archives", &archives);
    cx
}

/// The context of the archive page of chunk `chunk` (0-based), whose runs are `entries`.
pub(super) fn archive_context(links: &Links<'_>, chunk: usize, entries: &[RunEntry]) -> tera::Context {
    let first = chunk * RUNS_PER_PAGE;
    let mut cx = tera::Context::new();
    cx.insert("version", env!("CARGO_PKG_VERSION"));
    cx.insert("root", "");
    cx.insert("runs", &run_rows(entries, first, links));
    cx.insert("from", &(first + 1));
    cx.insert("to", &(first + entries.len()));
    cx.insert("older", &(chunk > 0).then(|| archive_page(chunk - 1)));
    cx.insert(
        "newer",
        &(chunk + 1 < archive_count(links.state)).then(|| archive_page(chunk + 1)),
    );
    cx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names_and_distinct() {
        assert_eq!(slug("orders"), "orders");
        assert_eq!(slug("a-b_c.1"), "a-b_c.1");
        let odd = slug("../<b>x</b>");
        assert!(
            odd.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{odd}"
        );
        assert!(!odd.starts_with('.'));
        assert_ne!(slug("a b"), slug("a_b"));
        assert_ne!(slug("a b"), slug("a/b"));
    }

    fn seg(code: bool, text: &str) -> Seg {
        Seg {
            code,
            text: text.into(),
        }
    }

    #[test]
    fn backticks_become_code_pieces_and_a_lone_backtick_stays() {
        assert_eq!(
            marked("a null `v` (20%)"),
            [seg(false, "a null "), seg(true, "v"), seg(false, " (20%)")]
        );
        assert_eq!(marked("`x`"), [seg(true, "x")]);
        assert_eq!(marked("a ` b"), [seg(false, "a ` b")]);
        assert_eq!(marked("``"), [seg(false, "``")]);
        assert_eq!(marked("`a` and `b"), [seg(true, "a"), seg(false, " and `b")]);
        assert_eq!(marked(""), []);
    }

    #[test]
    fn archive_pages_are_numbered_from_the_oldest_run() {
        assert_eq!(archive_page(0), "runs-1.html");
        assert_eq!(archive_page(199), "runs-200.html");
    }

    #[test]
    fn ages_read_as_durations_and_the_future_says_so() {
        assert_eq!(age(7_500.0), "2h 5m");
        assert_eq!(age(-180.0), "3m ahead");
    }
}
