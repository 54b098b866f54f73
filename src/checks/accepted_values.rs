//! `accepted_values`: every value is one of a fixed list.

use datafusion::logical_expr::lit;
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::spanned::{Literal, TableReader};
use crate::types::{family_name, is_numeric, is_string};

pub(super) const SPEC: KindSpec = KindSpec {
    name: "accepted_values",
    summary: "Every value is one of the listed values.",
    semantics: "A row fails when its value is not in `values`. Nulls are not violations (pair with `not_null`). String comparison is exact (case-sensitive).",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "The column.",
        },
        KeyDoc {
            name: "values",
            ty: "array",
            required: true,
            doc: "The allowed values (strings, numbers or booleans, matching the column).",
        },
    ],
    example: "[[check]]\nkind = \"accepted_values\"\ncolumn = \"status\"\nvalues = [\"placed\", \"shipped\", \"delivered\", \"cancelled\"]\n",
    parse,
};

#[derive(Debug)]
struct AcceptedValues {
    column: Spanned<String>,
    values: Spanned<Vec<Spanned<Literal>>>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let values = if t.has("values") {
        t.literal_list("values")
    } else {
        t.missing("values", Some("for example values = [\"placed\", \"shipped\"]".into()));
        None
    };
    if let Some(v) = &values
        && v.get_ref().is_empty()
    {
        t.push(
            t.error(Code::EmptyValue, v.span(), "`values` is empty, so every row would fail")
                .label("empty list"),
        );
        return Vec::new();
    }
    match (column, values) {
        (Some(column), Some(values)) => vec![Box::new(AcceptedValues { column, values })],
        _ => Vec::new(),
    }
}

impl Check for AcceptedValues {
    fn kind(&self) -> &'static str {
        "accepted_values"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let name = self.column.get_ref();
        let dt = cx.column_type(name);
        let mut list = Vec::new();
        for v in self.values.get_ref() {
            let e = match v.get_ref() {
                Literal::Str(s) if is_string(dt) => lit(s.clone()),
                Literal::Int(i) if is_numeric(dt) => lit(*i),
                Literal::Float(f) if is_numeric(dt) => lit(*f),
                Literal::Bool(b) if *dt == datafusion::arrow::datatypes::DataType::Boolean => lit(*b),
                // Dates and timestamps compare as values of the column's type.
                Literal::Str(_) if crate::types::is_temporal(dt) => super::range::bound(cx, name, dt, v, "values")?,
                _ => {
                    return Err(cx
                        .error(
                            Code::TypeMismatch,
                            v.span(),
                            format!(
                                "{} cannot be a value of `{name}`, which is {}",
                                v.get_ref(),
                                family_name(dt)
                            ),
                        )
                        .label("wrong type")
                        .help(
                            "list values of the column's type: strings for string columns, numbers for numeric ones",
                        ));
                }
            };
            list.push(e);
        }
        let c = column(name);
        let failing = c.in_list(list, true);
        Ok(Shape::Rows { failing })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        let mut v = row_verdict(
            cx,
            *failing,
            &format!("have `{}` not among the accepted values", self.column.get_ref()),
            "with other values",
        );
        v.expected = json!({
            "values": self.values.get_ref().iter().map(|l| l.get_ref().to_json()).collect::<Vec<_>>(),
            "max_fraction": cx.common.max_fraction,
        });
        v
    }
}
