//! `range`: values lie between `min` and `max` (numbers, dates, timestamps or strings).

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, lit};
use datafusion::scalar::ScalarValue;
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::spanned::{Literal, TableReader};
use crate::types::{family_name, is_numeric, is_string, is_temporal};

pub(super) const SPEC: KindSpec = KindSpec {
    name: "range",
    summary: "Values lie between `min` and `max`.",
    semantics: "A row fails when its value is below `min` or above `max` (bounds are inclusive unless `exclusive = true`). Nulls are not violations (pair with `not_null`). Bounds are numbers for numeric columns and strings for dates (\"2024-01-01\"), timestamps (\"2024-01-01T00:00:00Z\") and strings.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "The column.",
        },
        KeyDoc {
            name: "min",
            ty: "number or string",
            required: false,
            doc: "Lowest allowed value.",
        },
        KeyDoc {
            name: "max",
            ty: "number or string",
            required: false,
            doc: "Highest allowed value.",
        },
        KeyDoc {
            name: "exclusive",
            ty: "boolean",
            required: false,
            doc: "Bounds themselves are violations (default false).",
        },
    ],
    example: "[[check]]\nkind = \"range\"\ncolumn = \"amount\"\nmin = 0\nmax = 10000\nwhere = \"status <> 'cancelled'\"\n",
    parse,
};

#[derive(Debug)]
struct Range {
    column: Spanned<String>,
    min: Option<Spanned<Literal>>,
    max: Option<Spanned<Literal>>,
    exclusive: bool,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let min = t.literal("min");
    let max = t.literal("max");
    let exclusive = t.bool("exclusive").is_some_and(Spanned::into_inner);
    if min.is_none() && max.is_none() && !t.has("min") && !t.has("max") {
        t.push(
            t.error(Code::NoBounds, t.span(), "a `range` check needs `min`, `max` or both")
                .label("no bounds"),
        );
        return Vec::new();
    }
    if let (Some(a), Some(b)) = (&min, &max)
        && let (Some(x), Some(y)) = (a.get_ref().as_f64(), b.get_ref().as_f64())
        && x > y
    {
        t.push(
            t.error(
                Code::BoundsReversed,
                b.span(),
                format!("`max` ({y}) is smaller than `min` ({x})"),
            )
            .label("empty range"),
        );
    }
    let Some(column) = column else { return Vec::new() };
    vec![Box::new(Range {
        column,
        min,
        max,
        exclusive,
    })]
}

/// Lowers a bound to a literal of the column's type, or explains why it cannot be one.
pub(super) fn bound(
    cx: &PlanCx<'_>,
    col: &str,
    dt: &DataType,
    b: &Spanned<Literal>,
    key: &str,
) -> Result<Expr, Diagnostic> {
    let mismatch = |what: &str| {
        cx.error(
            Code::TypeMismatch,
            b.span(),
            format!("`{key}` must be {what} because `{col}` is {}", family_name(dt)),
        )
        .label("wrong kind of bound")
    };
    match b.get_ref() {
        Literal::Int(i) if is_numeric(dt) => Ok(lit(*i)),
        Literal::Float(f) if is_numeric(dt) => Ok(lit(*f)),
        Literal::Str(s) if is_temporal(dt) => {
            let target = match dt {
                DataType::Timestamp(unit, _) => DataType::Timestamp(*unit, None),
                other => other.clone(),
            };
            ScalarValue::Utf8(Some(s.clone()))
                .cast_to(&target)
                .map(|v| match (v, dt) {
                    // Compare in the column's own time zone.
                    (ScalarValue::TimestampSecond(x, _), DataType::Timestamp(_, tz)) => {
                        ScalarValue::TimestampSecond(x, tz.clone())
                    }
                    (ScalarValue::TimestampMillisecond(x, _), DataType::Timestamp(_, tz)) => {
                        ScalarValue::TimestampMillisecond(x, tz.clone())
                    }
                    (ScalarValue::TimestampMicrosecond(x, _), DataType::Timestamp(_, tz)) => {
                        ScalarValue::TimestampMicrosecond(x, tz.clone())
                    }
                    (ScalarValue::TimestampNanosecond(x, _), DataType::Timestamp(_, tz)) => {
                        ScalarValue::TimestampNanosecond(x, tz.clone())
                    }
                    (v, _) => v,
                })
                .map(lit)
                .map_err(|_| {
                    cx.error(
                        Code::InvalidValue,
                        b.span(),
                        format!("`{s}` is not a valid {} for `{col}`", family_name(dt)),
                    )
                    .label("cannot be read")
                    .help("write dates as \"2024-01-31\" and timestamps as \"2024-01-31T12:00:00Z\"")
                })
        }
        Literal::Str(s) if is_string(dt) => Ok(lit(s.clone())),
        _ if is_numeric(dt) => Err(mismatch("a number")),
        _ if is_temporal(dt) => Err(mismatch("a date or timestamp string")),
        _ if is_string(dt) => Err(mismatch("a string")),
        _ => Err(cx
            .error(
                Code::TypeMismatch,
                b.span(),
                format!("`{col}` is {}, which has no order lakegate can check", family_name(dt)),
            )
            .label("unsupported column type")),
    }
}

impl Check for Range {
    fn kind(&self) -> &'static str {
        "range"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let name = self.column.get_ref();
        let dt = cx.column_type(name).clone();
        let c = column(name);
        let lo = self.min.as_ref().map(|b| bound(cx, name, &dt, b, "min")).transpose()?;
        let hi = self.max.as_ref().map(|b| bound(cx, name, &dt, b, "max")).transpose()?;
        // Numbers are compared when the suite is read; dates, timestamps and strings only once
        // the column's type is known.
        if let (Some(Expr::Literal(a, _)), Some(Expr::Literal(b, _)), Some(min), Some(max)) =
            (&lo, &hi, &self.min, &self.max)
            && a.data_type() == b.data_type()
            && !is_numeric(&a.data_type())
            && a.partial_cmp(b) == Some(std::cmp::Ordering::Greater)
        {
            return Err(cx
                .error(
                    Code::BoundsReversed,
                    max.span(),
                    format!("`max` ({}) comes before `min` ({})", max.get_ref(), min.get_ref()),
                )
                .label("empty range"));
        }
        let mut parts = Vec::new();
        if let Some(b) = lo {
            parts.push(if self.exclusive {
                c.clone().lt_eq(b)
            } else {
                c.clone().lt(b)
            });
        }
        if let Some(b) = hi {
            parts.push(if self.exclusive {
                c.clone().gt_eq(b)
            } else {
                c.clone().gt(b)
            });
        }
        let failing = parts.into_iter().reduce(Expr::or).expect("range has a bound");
        Ok(Shape::Rows { failing })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        let (lo, hi) = if self.exclusive { ("(", ")") } else { ("[", "]") };
        let show = |b: &Option<Spanned<Literal>>, inf: &str| {
            b.as_ref().map_or(inf.to_string(), |b| {
                b.get_ref().to_string().trim_matches('"').to_string()
            })
        };
        let interval = format!("{lo}{}, {}{hi}", show(&self.min, "-∞"), show(&self.max, "∞"));
        let mut v = row_verdict(
            cx,
            *failing,
            &format!("have `{}` outside {interval}", self.column.get_ref()),
            &format!("outside {interval}"),
        );
        v.expected = json!({
            "min": self.min.as_ref().map(|b| b.get_ref().to_json()),
            "max": self.max.as_ref().map(|b| b.get_ref().to_json()),
            "exclusive": self.exclusive,
            "max_fraction": cx.common.max_fraction,
        });
        v
    }
}
