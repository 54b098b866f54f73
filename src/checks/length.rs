//! `length`: string lengths (in characters) lie between `min` and `max`.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions::unicode::expr_fn::character_length;
use datafusion::logical_expr::{Cast, Expr, lit};
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::spanned::TableReader;
use crate::types::is_string;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "length",
    summary: "String lengths lie between `min` and `max` characters.",
    semantics: "A row fails when the value's length in characters (not bytes) is below `min` or above `max` (inclusive bounds). Nulls are not violations. Non-string columns are measured on their text form.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "The column.",
        },
        KeyDoc {
            name: "min",
            ty: "integer",
            required: false,
            doc: "Shortest allowed length.",
        },
        KeyDoc {
            name: "max",
            ty: "integer",
            required: false,
            doc: "Longest allowed length.",
        },
    ],
    example: "[[check]]\nkind = \"length\"\ncolumn = \"country\"\nmin = 2\nmax = 2\n",
    parse,
};

#[derive(Debug)]
struct Length {
    column: Spanned<String>,
    min: Option<u64>,
    max: Option<u64>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let min_at = t.uint("min");
    let max_at = t.uint("max");
    let (min, max) = (
        min_at.as_ref().map(|m| *m.get_ref()),
        max_at.as_ref().map(|m| *m.get_ref()),
    );
    if min.is_none() && max.is_none() && !t.has("min") && !t.has("max") {
        t.push(
            t.error(Code::NoBounds, t.span(), "a `length` check needs `min`, `max` or both")
                .label("no bounds"),
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
    let Some(column) = column else { return Vec::new() };
    vec![Box::new(Length { column, min, max })]
}

impl Check for Length {
    fn kind(&self) -> &'static str {
        "length"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let name = self.column.get_ref();
        let mut c = column(name);
        if !is_string(cx.column_type(name)) {
            c = Expr::Cast(Cast::new(Box::new(c), DataType::Utf8));
        }
        let len = character_length(c);
        let parts: Vec<Expr> = [
            self.min.map(|m| len.clone().lt(lit(m as i64))),
            self.max.map(|m| len.clone().gt(lit(m as i64))),
        ]
        .into_iter()
        .flatten()
        .collect();
        Ok(Shape::Rows {
            failing: parts.into_iter().reduce(Expr::or).expect("length has a bound"),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        let bounds = match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => format!("exactly {a} characters"),
            (Some(a), Some(b)) => format!("{a} to {b} characters"),
            (Some(a), None) => format!("at least {a} characters"),
            (None, Some(b)) => format!("at most {b} characters"),
            (None, None) => "any length".into(),
        };
        let mut v = row_verdict(
            cx,
            *failing,
            &format!("have `{}` not {bounds} long", self.column.get_ref()),
            &format!("of a length other than {bounds}"),
        );
        v.expected = json!({ "min": self.min, "max": self.max, "max_fraction": cx.common.max_fraction });
        v
    }
}
