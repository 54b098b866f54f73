//! `anomaly`: today's value of a metric does not deviate from its recent history.
//!
//! The metric is computed in the dataset's fused scan like any aggregate; the baseline is the
//! check's own values from the last `window` runs in the history store in which it did not fail.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions_aggregate::expr_fn::{avg, count, count_distinct, max, min, sum};
use datafusion::logical_expr::{Expr, ExprFunctionExt, lit};
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, fmt_count, scalar_f64};
use crate::diag::{Code, Diagnostic};
use crate::spanned::TableReader;
use crate::types::{family_name, is_numeric};

pub(super) const SPEC: KindSpec = KindSpec {
    name: "anomaly",
    summary: "A metric of the dataset stays close to its recent history.",
    semantics: "The metric (`row_count`, `null_fraction(col)`, `mean(col)`, `min(col)`, `max(col)`, `distinct_count(col)` or `sum(col)`) is computed in the dataset's single scan and compared with its values in the last `window` recorded runs in which this check did not fail (failed runs stay out of the baseline). `max_deviation` is relative (\"25%\": |value − mean| / |mean|) or a z-score (\"3 sigma\": |value − mean| / standard deviation). `direction` limits the check to rises (`up`) or falls (`down`). With fewer than `min_history` earlier runs the check passes and says how many it has. Needs the history store (runs with `--no-history` are not recorded).",
    keys: &[
        KeyDoc {
            name: "metric",
            ty: "string",
            required: true,
            doc: "`row_count`, `null_fraction(col)`, `mean(col)`, `min(col)`, `max(col)`, `distinct_count(col)` or `sum(col)`.",
        },
        KeyDoc {
            name: "max_deviation",
            ty: "string",
            required: true,
            doc: "\"25%\" (relative to the baseline mean) or \"3 sigma\" (standard deviations).",
        },
        KeyDoc {
            name: "window",
            ty: "integer",
            required: false,
            doc: "How many earlier runs make the baseline (default 10).",
        },
        KeyDoc {
            name: "direction",
            ty: "\"up\" | \"down\" | \"both\"",
            required: false,
            doc: "Which deviations count (default both).",
        },
        KeyDoc {
            name: "min_history",
            ty: "integer",
            required: false,
            doc: "Earlier runs needed before the check can fail (default 3).",
        },
    ],
    example: "[[check]]\nkind = \"anomaly\"\nmetric = \"row_count\"\nwindow = 10\nmax_deviation = \"25%\"\n",
    parse,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    RowCount,
    NullFraction,
    Mean,
    Min,
    Max,
    DistinctCount,
    Sum,
}

#[derive(Debug, Clone, Copy)]
enum Deviation {
    Relative(f64),
    Sigma(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
    Both,
}

#[derive(Debug)]
struct Anomaly {
    metric: Metric,
    metric_text: String,
    column: Option<Spanned<String>>,
    deviation: Deviation,
    window: usize,
    direction: Direction,
    min_history: usize,
}

const METRICS: &str = "row_count, null_fraction(col), mean(col), min(col), max(col), distinct_count(col), sum(col)";

fn parse_metric(s: &str) -> Option<(Metric, Option<String>)> {
    let s = s.trim();
    if s == "row_count" {
        return Some((Metric::RowCount, None));
    }
    let (name, rest) = s.split_once('(')?;
    let col = rest.strip_suffix(')')?.trim().trim_matches('"').to_string();
    if col.is_empty() {
        return None;
    }
    let m = match name.trim() {
        "null_fraction" => Metric::NullFraction,
        "mean" | "avg" => Metric::Mean,
        "min" => Metric::Min,
        "max" => Metric::Max,
        "distinct_count" => Metric::DistinctCount,
        "sum" => Metric::Sum,
        _ => return None,
    };
    Some((m, Some(col)))
}

fn parse_deviation(s: &str) -> Option<Deviation> {
    let s = s.trim();
    if let Some(p) = s.strip_suffix('%') {
        return p
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| *x >= 0.0)
            .map(|x| Deviation::Relative(x / 100.0));
    }
    let n = s.strip_suffix("sigma").or_else(|| s.strip_suffix("σ"))?;
    n.trim().parse::<f64>().ok().filter(|x| *x > 0.0).map(Deviation::Sigma)
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let metric = t.req_str("metric").and_then(|m| match parse_metric(m.get_ref()) {
        Some((metric, col)) => Some((metric, col.map(|c| Spanned::new(m.span(), c)), m.into_inner())),
        None => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    m.span(),
                    format!("`{}` is not an anomaly metric", m.get_ref()),
                )
                .label("unknown metric")
                .help(format!("use one of {METRICS}")),
            );
            None
        }
    });
    let deviation = t
        .req_str("max_deviation")
        .and_then(|d| match parse_deviation(d.get_ref()) {
            Some(x) => Some(x),
            None => {
                t.push(
                    t.error(
                        Code::InvalidValue,
                        d.span(),
                        format!("`{}` is not a deviation", d.get_ref()),
                    )
                    .label("invalid deviation")
                    .help("write a relative change such as \"25%\" or a z-score such as \"3 sigma\""),
                );
                None
            }
        });
    let window = t
        .uint("window")
        .map_or(10, |w| usize::try_from(w.into_inner()).unwrap_or(10).max(1));
    let min_history = t
        .uint("min_history")
        .map_or(3, |w| usize::try_from(w.into_inner()).unwrap_or(3).max(1));
    let direction = match t.str("direction") {
        Some(d) if d.get_ref() == "up" => Direction::Up,
        Some(d) if d.get_ref() == "down" => Direction::Down,
        Some(d) if d.get_ref() == "both" => Direction::Both,
        Some(d) => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    d.span(),
                    format!("`{}` is not a direction", d.get_ref()),
                )
                .label("unknown direction")
                .help("use \"up\", \"down\" or \"both\""),
            );
            Direction::Both
        }
        None => Direction::Both,
    };
    match (metric, deviation) {
        (Some((metric, column, metric_text)), Some(deviation)) => vec![Box::new(Anomaly {
            metric,
            metric_text,
            column,
            deviation,
            window,
            direction,
            min_history: min_history.min(window),
        })],
        _ => Vec::new(),
    }
}

impl Check for Anomaly {
    fn kind(&self) -> &'static str {
        "anomaly"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        self.column.iter().cloned().collect()
    }

    fn needs_history(&self) -> bool {
        true
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let Some(col) = &self.column else {
            return Ok(Shape::Aggregates(Vec::new()));
        };
        let name = col.get_ref();
        let dt = cx.column_type(name).clone();
        let c = column(name);
        let numeric = |e: Expr| -> Result<Expr, Diagnostic> {
            if is_numeric(&dt) {
                Ok(e)
            } else {
                Err(cx
                    .error(
                        Code::TypeMismatch,
                        col.span(),
                        format!(
                            "`{}` needs a numeric column; `{name}` is {}",
                            self.metric_text,
                            family_name(&dt)
                        ),
                    )
                    .label("not numeric")
                    .help("use row_count, null_fraction(col) or distinct_count(col) for other columns"))
            }
        };
        let e = match self.metric {
            Metric::RowCount => return Ok(Shape::Aggregates(Vec::new())),
            Metric::NullFraction => count(lit(1i64))
                .filter(c.is_null())
                .build()
                .map_err(|e| cx.error(Code::Engine, col.span(), e.to_string()))?,
            Metric::Mean => numeric(avg(Expr::Cast(datafusion::logical_expr::Cast::new(
                Box::new(c),
                DataType::Float64,
            ))))?,
            Metric::Min => numeric(min(c))?,
            Metric::Max => numeric(max(c))?,
            Metric::DistinctCount => count_distinct(c),
            // The engine lowers an integer `sum` to one that adds in 128 bits, as in a `metric`.
            Metric::Sum => numeric(sum(c))?,
        };
        Ok(Shape::Aggregates(vec![e]))
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let value = self.value(cx, obs);
        let m = &self.metric_text;
        let expected = json!({
            "window": self.window,
            "max_deviation": match self.deviation { Deviation::Relative(r) => format!("{}%", r * 100.0), Deviation::Sigma(s) => format!("{s} sigma") },
            "direction": match self.direction { Direction::Up => "up", Direction::Down => "down", Direction::Both => "both" },
        });
        let Some(v) = value else {
            return Verdict {
                failed: true,
                message: format!(
                    "`{m}` is null (no rows in scope, or only nulls), so it cannot be compared with its history."
                ),
                expected,
                ..Verdict::default()
            };
        };
        let baseline: Vec<f64> = cx.baseline.iter().copied().take(self.window).collect();
        let shown = fmt_value(v);
        if baseline.len() < self.min_history {
            return Verdict {
                failed: false,
                value: Some(v),
                observed: json!({ "value": v, "baseline_runs": baseline.len() }),
                expected,
                message: format!(
                    "`{m}` is {shown}; the history has {} earlier {} of this check and needs {} before it can judge (this run is recorded).",
                    baseline.len(),
                    if baseline.len() == 1 { "run" } else { "runs" },
                    self.min_history
                ),
                ..Verdict::default()
            };
        }
        let n = baseline.len() as f64;
        let mean = baseline.iter().sum::<f64>() / n;
        let sd = (baseline.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let (score, limit) = self.score(v, mean, sd);
        let counts = match self.direction {
            Direction::Up => score > 0.0,
            Direction::Down => score < 0.0,
            Direction::Both => true,
        };
        let failed = counts && score.abs() > limit;
        let change = self.describe_change(score);
        let allowed = match self.deviation {
            Deviation::Relative(r) => format!("{}%", r * 100.0),
            Deviation::Sigma(s) => format!("{s} sigma"),
        };
        let message = format!(
            "`{m}` is {shown}, {change} of the last {} ({}); {} {allowed} allowed.",
            if baseline.len() == 1 {
                "run".to_string()
            } else {
                format!("{} runs", baseline.len())
            },
            fmt_value(mean),
            if failed { "more than the" } else { "within the" }
        );
        Verdict {
            failed,
            value: Some(v),
            observed: json!({ "value": v, "baseline_mean": mean, "baseline_stddev": sd, "baseline_runs": baseline.len(), "score": if score.is_finite() { json!(score) } else { json!(null) } }),
            expected,
            message,
            ..Verdict::default()
        }
    }
}

impl Anomaly {
    /// This run's value of the metric; `None` when it is null.
    fn value(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Option<f64> {
        match self.metric {
            Metric::RowCount => Some(cx.in_scope as f64),
            Metric::NullFraction => {
                let nulls = obs.values().first().and_then(scalar_f64).unwrap_or(0.0);
                Some(if cx.in_scope == 0 {
                    0.0
                } else {
                    nulls / cx.in_scope as f64
                })
            }
            _ => obs.values().first().and_then(scalar_f64),
        }
    }

    /// How far `v` is from the baseline in the unit of `max_deviation` (signed), and the limit.
    fn score(&self, v: f64, mean: f64, sd: f64) -> (f64, f64) {
        match self.deviation {
            Deviation::Relative(r) => {
                let s = if mean == 0.0 {
                    if v == 0.0 { 0.0 } else { f64::INFINITY.copysign(v) }
                } else {
                    (v - mean) / mean.abs()
                };
                (s, r)
            }
            Deviation::Sigma(k) => {
                let s = if sd == 0.0 {
                    if v == mean {
                        0.0
                    } else {
                        f64::INFINITY.copysign(v - mean)
                    }
                } else {
                    (v - mean) / sd
                };
                (s, k)
            }
        }
    }

    /// The score as words: "12% above the mean", "2.5 sigma below the mean".
    fn describe_change(&self, score: f64) -> String {
        match self.deviation {
            Deviation::Relative(_) if score.is_infinite() => "changed from a mean of 0".to_string(),
            Deviation::Relative(_) => format!(
                "{:.0}% {} the mean",
                (score.abs() * 100.0),
                if score >= 0.0 { "above" } else { "below" }
            ),
            Deviation::Sigma(_) if score.is_infinite() => "off a baseline that never varied".to_string(),
            Deviation::Sigma(_) => format!(
                "{:.1} sigma {} the mean",
                score.abs(),
                if score >= 0.0 { "above" } else { "below" }
            ),
        }
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        fmt_count(v as u64)
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_deviations_parse() {
        assert_eq!(
            parse_metric("null_fraction(email)").unwrap(),
            (Metric::NullFraction, Some("email".into()))
        );
        assert_eq!(parse_metric("row_count").unwrap().0, Metric::RowCount);
        assert!(parse_metric("median(x)").is_none());
        assert!(matches!(parse_deviation("25%"), Some(Deviation::Relative(r)) if (r - 0.25).abs() < 1e-9));
        assert!(matches!(parse_deviation("3 sigma"), Some(Deviation::Sigma(s)) if (s - 3.0).abs() < 1e-9));
        assert!(parse_deviation("lots").is_none());
    }
}
