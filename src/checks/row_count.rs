//! `row_count`: the dataset (or the rows in scope of `where`) has between `min` and `max` rows.

use serde_json::json;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, count_of, fmt_count};
use crate::diag::{Code, Diagnostic};
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "row_count",
    summary: "The dataset has at least `min` and at most `max` rows.",
    semantics: "Counts the rows of the dataset (only those matching `where`, when given). An empty dataset has 0 rows. At least one of `min` and `max` is required; both are inclusive.",
    keys: &[
        KeyDoc {
            name: "min",
            ty: "integer",
            required: false,
            doc: "Fewest rows allowed (inclusive).",
        },
        KeyDoc {
            name: "max",
            ty: "integer",
            required: false,
            doc: "Most rows allowed (inclusive).",
        },
    ],
    example: "[[check]]\nkind = \"row_count\"\nmin = 1\nmax = 5000000\n",
    parse,
};

#[derive(Debug)]
struct RowCount {
    min: Option<u64>,
    max: Option<u64>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let min_at = t.uint("min");
    let max_at = t.uint("max");
    let (min, max) = (
        min_at.as_ref().map(|m| *m.get_ref()),
        max_at.as_ref().map(|m| *m.get_ref()),
    );
    if min.is_none() && max.is_none() {
        t.push(
            t.error(
                Code::NoBounds,
                t.span(),
                "a `row_count` check needs `min`, `max` or both",
            )
            .label("no bounds")
            .help("for example min = 1 to require a non-empty dataset"),
        );
        return Vec::new();
    }
    // Point at the value that is out of order, as `range` does, not at the whole check.
    if let (Some(a), Some(b)) = (&min_at, &max_at)
        && a.get_ref() > b.get_ref()
    {
        t.push(
            t.error(
                Code::BoundsReversed,
                b.span(),
                format!("`max` ({}) is smaller than `min` ({})", b.get_ref(), a.get_ref()),
            )
            .label("empty range"),
        );
    }
    vec![Box::new(RowCount { min, max })]
}

impl Check for RowCount {
    fn kind(&self) -> &'static str {
        "row_count"
    }

    fn plan(&self, _cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        // The engine counts the rows in scope of every check anyway.
        Ok(Shape::Aggregates(Vec::new()))
    }

    fn evaluate(&self, cx: &EvalCx<'_>, _obs: &Observation<'_>) -> Verdict {
        let n = cx.in_scope;
        let low = self.min.is_some_and(|m| n < m);
        let high = self.max.is_some_and(|m| n > m);
        let expected = match (self.min, self.max) {
            (Some(a), Some(b)) => format!("between {} and {} rows", fmt_count(a), fmt_count(b)),
            (Some(a), None) => format!("at least {}", count_of(a, "row", "rows")),
            (None, Some(b)) => format!("at most {}", count_of(b, "row", "rows")),
            (None, None) => "any number of rows".into(),
        };
        let scope = if cx.common.where_.is_some() { " in scope" } else { "" };
        let message = if low || high {
            format!(
                "The dataset has {}{scope}; expected {expected}.",
                count_of(n, "row", "rows")
            )
        } else {
            format!(
                "The dataset has {}{scope}, {expected} as expected.",
                count_of(n, "row", "rows")
            )
        };
        Verdict {
            failed: low || high,
            failing_rows: None,
            failing_fraction: None,
            observed: json!(n),
            expected: json!(expected),
            message,
            value: Some(n as f64),
            warn: false,
            limits: crate::results::Limits {
                min: self.min.map(|m| m as f64),
                max: self.max.map(|m| m as f64),
            },
        }
    }
}
