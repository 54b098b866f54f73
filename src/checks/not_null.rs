//! `not_null`: a column has no nulls (or at most `max_fraction` of them).

use datafusion::logical_expr::Expr;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "not_null",
    summary: "Every value of a column is present.",
    semantics: "A row fails when the value is null. For CSV files the `null_values` of the dataset (default: the empty string) are nulls. With `columns`, each column becomes its own check with its own id.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: false,
            doc: "The column (or use `columns`).",
        },
        KeyDoc {
            name: "columns",
            ty: "array of strings",
            required: false,
            doc: "Several columns, one check each.",
        },
    ],
    example: "[[check]]\nkind = \"not_null\"\ncolumn = \"order_id\"\n",
    parse,
};

#[derive(Debug)]
struct NotNull {
    column: Spanned<String>,
}

/// Reads `column` or `columns` (one of them is required).
pub(super) fn columns_key(t: &mut TableReader<'_, '_>, kind: &str) -> Vec<Spanned<String>> {
    let one = t.str("column");
    let many = t.str_list("columns");
    match (one, many) {
        (Some(c), None) => vec![c],
        (None, Some(cs)) if !cs.get_ref().is_empty() => cs.into_inner(),
        (Some(c), Some(_)) => {
            t.push(
                t.error(
                    Code::ConflictingKeys,
                    c.span(),
                    "give either `column` or `columns`, not both",
                )
                .label("both given")
                .help("use `columns = [...]` for several columns"),
            );
            Vec::new()
        }
        (None, Some(cs)) => {
            t.push(
                t.error(Code::EmptyValue, cs.span(), "`columns` is empty")
                    .label("no columns"),
            );
            Vec::new()
        }
        (None, None) => {
            t.missing(
                "column",
                Some(format!(
                    "a `{kind}` check needs `column = \"name\"` or `columns = [...]`"
                )),
            );
            Vec::new()
        }
    }
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    columns_key(t, "not_null")
        .into_iter()
        .map(|column| Box::new(NotNull { column }) as Box<dyn Check>)
        .collect()
}

impl Check for NotNull {
    fn kind(&self) -> &'static str {
        "not_null"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn plan(&self, _cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        Ok(Shape::Rows {
            failing: Expr::IsNull(Box::new(column(self.column.get_ref()))),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        row_verdict(
            cx,
            *failing,
            &format!("have a null `{}`", self.column.get_ref()),
            "null",
        )
    }
}
