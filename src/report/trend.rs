//! From the history store: a check's badge on a run's page ("new since the previous run",
//! "failing since …", "resolved") and its trend page (the failing fraction, or the check's value,
//! over its last runs as an inline SVG chart, and those runs listed).
//!
//! The chart is drawn by the template from numbers computed here (`points`, `dots`), so no markup
//! is ever built from strings and nothing needs to be marked safe.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::state::{Trend, failing};
use super::view::{self, slug, status_word, when};
use crate::history::CheckRecord;
use crate::results::numbers::{fmt_count, fmt_pct};
use crate::results::{DatasetResult, Status};

/// Runs a trend page shows.
pub(super) const TREND_RUNS: usize = 100;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const PAD: f64 = 12.0;

/// A check's page, relative to the site's root.
pub(super) fn check_page(dataset: &str, check_id: &str) -> String {
    format!("checks/{}/{}.html", slug(dataset), slug(check_id))
}

/// A badge beside a check's status.
#[derive(Debug, Serialize)]
pub(super) struct Badge {
    kind: &'static str,
    text: String,
}

/// The badges of a dataset's checks in a run, from the checks' trends before that run. A
/// dataset's first run has none: nothing is new to it.
pub(super) fn badges(d: &DatasetResult, before: &BTreeMap<String, Trend>) -> HashMap<String, Badge> {
    let mut out = HashMap::new();
    for c in &d.checks {
        let Some(trend) = before.get(&c.id) else { continue };
        let Some(prev) = trend.records.last() else { continue };
        let badge = match (failing(c.status), failing(prev.status)) {
            (true, false) => Badge {
                kind: "new",
                text: "new since the previous run".into(),
            },
            (true, true) => Badge {
                kind: "since",
                text: format!("failing since {}", when(trend.failing_since.unwrap_or(prev.started_at))),
            },
            (false, true) => Badge {
                kind: "resolved",
                text: "resolved since the previous run".into(),
            },
            (false, false) => continue,
        };
        out.insert(c.id.clone(), badge);
    }
    out
}

#[derive(Serialize)]
struct Dot {
    x: String,
    y: String,
    status: &'static str,
    label: String,
}

#[derive(Serialize)]
struct Row {
    started: String,
    status: &'static str,
    status_word: &'static str,
    failing: String,
    value: String,
    message: Vec<view::Seg>,
    link: Option<String>,
}

/// What the chart shows for a record: its failing fraction when it has one, else its value.
fn measure(r: &CheckRecord, fraction: bool) -> Option<f64> {
    if fraction { r.failing_fraction } else { r.value }
}

fn fmt_measure(v: f64, fraction: bool) -> String {
    if fraction {
        fmt_pct(v)
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole numbers (counts, ages in seconds) read better with separators.
        #[allow(clippy::cast_possible_truncation)]
        let n = v as i64;
        if n < 0 {
            format!("-{}", fmt_count(n.unsigned_abs()))
        } else {
            fmt_count(n.unsigned_abs())
        }
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The check's runs, newest first, each linking its page when `link` gives one.
fn rows(mine: &[&CheckRecord], link: impl Fn(&str) -> Option<String>) -> Vec<Row> {
    mine.iter()
        .rev()
        .take(TREND_RUNS)
        .map(|r| Row {
            started: when(r.started_at),
            status: r.status.as_str(),
            status_word: status_word(r.status),
            failing: match (r.failing_rows, r.failing_fraction) {
                (Some(n), Some(f)) => format!("{} ({})", fmt_count(n), fmt_pct(f)),
                (Some(n), None) => fmt_count(n),
                _ => "—".into(),
            },
            value: r.value.map_or_else(|| "—".into(), |v| fmt_measure(v, false)),
            message: view::marked(&r.message),
            link: link(&r.run_id).map(|rel| format!("../../{rel}")),
        })
        .collect()
}

/// A threshold line on the chart: a bound the check allows, at its height, with its label.
#[derive(Serialize)]
struct Limit {
    y: String,
    label: String,
}

/// The bounds the check allowed in its latest run, each with its label: `max_fraction 5%` on a
/// failing-fraction chart, `max_age 6h` on a freshness chart, `min 1,000` / `max 5,000` otherwise.
fn limits(latest: Option<&&CheckRecord>, fraction: bool) -> Vec<(f64, String)> {
    let Some(r) = latest else { return Vec::new() };
    let mut out = Vec::new();
    for (bound, key) in [(r.limit_min, "min"), (r.limit_max, "max")] {
        let Some(v) = bound.filter(|v| v.is_finite()) else {
            continue;
        };
        #[allow(clippy::cast_possible_truncation)]
        let label = if fraction {
            format!("max_fraction {}", fmt_pct(v))
        } else if r.kind == "freshness" {
            format!("max_age {}", crate::duration::human(v as i64))
        } else {
            format!("{key} {}", fmt_measure(v, false))
        };
        out.push((v, label));
    }
    out
}

/// The chart's geometry: a dot per run that recorded a number (x by run, y by value), and a line
/// per threshold; the vertical range covers both, so a threshold line is always on the chart.
struct Chart {
    dots: Vec<Dot>,
    limits: Vec<Limit>,
    lo: f64,
    hi: f64,
}

fn chart(last: &[&CheckRecord], fraction: bool, bounds: &[(f64, String)]) -> Chart {
    let values: Vec<(usize, f64)> = last
        .iter()
        .enumerate()
        .filter_map(|(i, r)| measure(r, fraction).filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    let shown = || values.iter().map(|v| v.1).chain(bounds.iter().map(|b| b.0));
    let lo = if fraction {
        0.0
    } else {
        shown().fold(f64::INFINITY, f64::min)
    };
    let hi = shown().fold(if fraction { 0.0 } else { f64::NEG_INFINITY }, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    #[allow(clippy::cast_precision_loss)]
    let x_of = |i: usize| {
        PAD + (WIDTH - 2.0 * PAD)
            * if last.len() > 1 {
                i as f64 / (last.len() - 1) as f64
            } else {
                0.5
            }
    };
    let y_of = |v: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - lo) / span;
    let dots = values
        .iter()
        .map(|&(i, v)| Dot {
            x: format!("{:.1}", x_of(i)),
            y: format!("{:.1}", y_of(v)),
            status: last[i].status.as_str(),
            label: format!(
                "{}: {} ({})",
                when(last[i].started_at),
                fmt_measure(v, fraction),
                status_word(last[i].status)
            ),
        })
        .collect();
    let limits = bounds
        .iter()
        .map(|(v, label)| Limit {
            y: format!("{:.1}", y_of(*v)),
            label: label.clone(),
        })
        .collect();
    Chart { dots, limits, lo, hi }
}

/// The context of check `check_id`'s trend page from its records (oldest first); `link` gives a
/// run's page (by run id) when the site has and keeps it.
pub(super) fn check_context(
    dataset: &str,
    check_id: &str,
    records: &[CheckRecord],
    link: impl Fn(&str) -> Option<String>,
) -> tera::Context {
    let mine: Vec<&CheckRecord> = records.iter().filter(|r| r.check_id == check_id).collect();
    let last: Vec<&CheckRecord> = mine[mine.len().saturating_sub(TREND_RUNS)..].to_vec();
    let fraction = last.iter().any(|r| r.failing_fraction.is_some());
    let latest = mine.last();
    let bounds = limits(latest, fraction);
    let Chart { dots, limits, lo, hi } = chart(&last, fraction, &bounds);
    let points = dots
        .iter()
        .map(|d| format!("{},{}", d.x, d.y))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = rows(&mine, link);
    let mut cx = tera::Context::new();
    cx.insert("version", env!("CARGO_PKG_VERSION"));
    cx.insert("root", "../../");
    cx.insert("dataset", dataset);
    cx.insert("check_id", check_id);
    cx.insert("name", &latest.map(|r| r.name.clone()));
    cx.insert("kind", &latest.map(|r| r.kind.clone()));
    cx.insert(
        "kind_summary",
        &view::marked(
            latest
                .and_then(|r| crate::checks::kind(&r.kind))
                .map_or("", |k| k.summary),
        ),
    );
    cx.insert("status", latest.map_or("pass", |r| r.status.as_str()));
    cx.insert("status_word", status_word(latest.map_or(Status::Pass, |r| r.status)));
    cx.insert("measure", if fraction { "failing fraction" } else { "value" });
    cx.insert(
        "chart",
        &serde_json::json!({
            "width": WIDTH, "height": HEIGHT, "points": points,
            "top": PAD, "bottom": HEIGHT - PAD, "left": PAD, "right": WIDTH - PAD,
            "hi": if dots.is_empty() { String::new() } else { fmt_measure(hi, fraction) },
            "lo": if dots.is_empty() { String::new() } else { fmt_measure(lo, fraction) },
            "runs": last.len(),
        }),
    );
    cx.insert("limits", &limits);
    cx.insert("dots", &dots);
    cx.insert("rows", &rows);
    cx
}
