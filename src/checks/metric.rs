//! `metric`: an aggregate over the dataset lies between `min` and `max`.

use datafusion::scalar::ScalarValue;
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, scalar_f64, scalar_json};
use crate::diag::{Code, Diagnostic};
use crate::fragment::FragmentRole;
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "metric",
    summary: "An aggregate SQL expression over the dataset lies between `min` and `max`.",
    semantics: "`sql` is one aggregate expression, such as `avg(amount)` or `count(DISTINCT customer_id) / count(*)`, computed in the dataset's single scan (over the rows matching `where`). The check fails when the value is outside [`min`, `max`] or is null (for example an average over no rows).",
    keys: &[
        KeyDoc {
            name: "sql",
            ty: "SQL aggregate expression",
            required: true,
            doc: "The metric.",
        },
        KeyDoc {
            name: "min",
            ty: "number",
            required: false,
            doc: "Lowest allowed value (inclusive).",
        },
        KeyDoc {
            name: "max",
            ty: "number",
            required: false,
            doc: "Highest allowed value (inclusive).",
        },
    ],
    example: "[[check]]\nkind = \"metric\"\nname = \"average order value\"\nsql = \"avg(amount)\"\nmin = 10\nmax = 500\n",
    parse,
};

#[derive(Debug)]
struct Metric {
    sql: Spanned<String>,
    min: Option<f64>,
    max: Option<f64>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let sql = t.req_str("sql");
    let min = t.number("min").map(Spanned::into_inner);
    let max = t.number("max").map(Spanned::into_inner);
    if min.is_none() && max.is_none() && !t.has("min") && !t.has("max") {
        t.push(
            t.error(Code::NoBounds, t.span(), "a `metric` check needs `min`, `max` or both")
                .label("no bounds"),
        );
        return Vec::new();
    }
    let Some(sql) = sql else { return Vec::new() };
    if let Err(d) = crate::fragment::check_syntax(t.file(), &sql) {
        t.push(d);
        return Vec::new();
    }
    vec![Box::new(Metric { sql, min, max })]
}

impl Check for Metric {
    fn kind(&self) -> &'static str {
        "metric"
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let e = (cx.parse_fragment)(&self.sql, FragmentRole::Aggregate)?;
        Ok(Shape::Aggregates(vec![e]))
    }

    fn evaluate(&self, _cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let values = obs.values();
        let sql = self.sql.get_ref();
        let raw = values.first();
        let expected = match (self.min, self.max) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => "any value".into(),
        };
        let base = Verdict {
            failed: true,
            failing_rows: None,
            failing_fraction: None,
            observed: raw.map_or(serde_json::Value::Null, scalar_json),
            expected: json!({ "min": self.min, "max": self.max }),
            message: String::new(),
            value: raw.and_then(scalar_f64),
            warn: false,
            limits: crate::results::Limits {
                min: self.min,
                max: self.max,
            },
        };
        let Some(v) = raw.and_then(scalar_f64) else {
            return Verdict {
                message: format!("`{sql}` is null (no rows in scope, or only nulls); expected {expected}."),
                ..base
            };
        };
        let failed = self.min.is_some_and(|m| v < m) || self.max.is_some_and(|m| v > m) || v.is_nan();
        // Integers (an integer `sum` is a 128-bit decimal) are printed exactly, not as a float.
        let shown = match raw {
            Some(r @ ScalarValue::Decimal128(_, _, 0)) => r.to_string(),
            Some(r) if r.data_type().is_integer() => r.to_string(),
            _ => v.to_string(),
        };
        let message = if failed {
            format!("`{sql}` is {shown}; expected {expected}.")
        } else {
            format!("`{sql}` is {shown}, {expected} as expected.")
        };
        Verdict {
            failed,
            message,
            ..base
        }
    }
}
