//! `expression`: a SQL row predicate holds for every row.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, ExprSchemable};
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::fragment::FragmentRole;
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "expression",
    summary: "A SQL predicate holds for every row.",
    semantics: "A row fails when `sql` is false or null (null counts as false). `sql` is one SQL expression over the dataset's columns, parsed by DataFusion's parser (never spliced into a statement); aggregates and subqueries are not allowed. Column names are case-sensitive; quote names with capitals or spaces in double quotes.",
    keys: &[KeyDoc {
        name: "sql",
        ty: "SQL expression",
        required: true,
        doc: "The predicate each row must satisfy.",
    }],
    example: "[[check]]\nkind = \"expression\"\nname = \"shipped after ordered\"\nsql = \"shipped_at IS NULL OR shipped_at >= created_at\"\n",
    parse,
};

#[derive(Debug)]
struct Expression {
    sql: Spanned<String>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let Some(sql) = t.req_str("sql") else { return Vec::new() };
    if let Err(d) = crate::fragment::check_syntax(t.file(), &sql) {
        t.push(d);
        return Vec::new();
    }
    vec![Box::new(Expression { sql })]
}

impl Check for Expression {
    fn kind(&self) -> &'static str {
        "expression"
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let e = (cx.parse_fragment)(&self.sql, FragmentRole::RowPredicate)?;
        let df_schema = datafusion::common::DFSchema::try_from(cx.schema.clone())
            .map_err(|e| cx.error(Code::Engine, self.sql.span(), e.to_string()))?;
        match e.get_type(&df_schema) {
            Ok(DataType::Boolean | DataType::Null) => {}
            Ok(other) => {
                return Err(cx
                    .error(
                        Code::TypeMismatch,
                        self.sql.span(),
                        format!("the expression is {other}, not a true/false condition"),
                    )
                    .label("not a predicate")
                    .help("write a condition such as \"amount >= 0\""));
            }
            Err(err) => {
                return Err(cx
                    .error(
                        Code::TypeMismatch,
                        self.sql.span(),
                        format!("the expression cannot be typed: {err}"),
                    )
                    .label("here"));
            }
        }
        Ok(Shape::Rows {
            failing: Expr::IsNotTrue(Box::new(e)),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        let mut v = row_verdict(
            cx,
            *failing,
            &format!("do not satisfy `{}`", self.sql.get_ref()),
            "failing the predicate",
        );
        v.expected = json!({ "sql": self.sql.get_ref(), "max_fraction": cx.common.max_fraction });
        v
    }
}
