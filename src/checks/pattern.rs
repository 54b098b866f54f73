//! `pattern`: string values match a regular expression.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, Operator, lit};
use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, column, row_verdict};
use crate::diag::{Code, Diagnostic};
use crate::spanned::TableReader;
use crate::types::is_string;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "pattern",
    summary: "String values match a regular expression.",
    semantics: "A row fails when its value does not match `regex` (Rust regex syntax; the match is a search, so anchor with `^…$` to match the whole value). Nulls are not violations. Non-string columns are matched on their text form.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "The column.",
        },
        KeyDoc {
            name: "regex",
            ty: "string",
            required: true,
            doc: "The regular expression, e.g. `^[A-Z]{2}$`.",
        },
    ],
    example: "[[check]]\nkind = \"pattern\"\ncolumn = \"country\"\nregex = \"^[A-Z]{2}$\"\n",
    parse,
};

#[derive(Debug)]
struct Pattern {
    column: Spanned<String>,
    regex: String,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let regex = t.req_str("regex");
    if let Some(r) = &regex
        && let Err(e) = regex::Regex::new(r.get_ref())
    {
        let msg = e.to_string();
        let last = msg
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("invalid")
            .trim()
            .to_string();
        t.push(
            t.error(Code::InvalidRegex, r.span(), format!("`{}` is not a valid regular expression: {last}", r.get_ref()))
                .label("invalid regex")
                .help("the syntax is Rust's `regex` crate; in TOML prefer single quotes ('^\\d+$') so backslashes stay literal"),
        );
        return Vec::new();
    }
    match (column, regex) {
        (Some(column), Some(regex)) => vec![Box::new(Pattern {
            column,
            regex: regex.into_inner(),
        })],
        _ => Vec::new(),
    }
}

impl Check for Pattern {
    fn kind(&self) -> &'static str {
        "pattern"
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
        Ok(Shape::Rows {
            failing: Expr::BinaryExpr(BinaryExpr::new(
                Box::new(c),
                Operator::RegexNotMatch,
                Box::new(lit(self.regex.clone())),
            )),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let failing = &obs.failing();
        let mut v = row_verdict(
            cx,
            *failing,
            &format!("have `{}` not matching `{}`", self.column.get_ref(), self.regex),
            "not matching",
        );
        v.expected = json!({ "regex": self.regex, "max_fraction": cx.common.max_fraction });
        v
    }
}
