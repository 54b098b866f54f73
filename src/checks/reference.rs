//! `reference`: every value of a column exists in another dataset's column (a foreign key).

use serde_json::json;
use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, fmt_count, row_verdict};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "reference",
    summary: "Every value of a column exists in another dataset's column.",
    semantics: "A row fails when its value is absent from `dataset`.`to_column` (an anti-join; its own query). Nulls are not violations. `dataset` is the name of a dataset declared by another suite of the project; `to_column` defaults to `column`. The sample lists the missing values with how many rows carry each.",
    keys: &[
        KeyDoc {
            name: "column",
            ty: "string",
            required: true,
            doc: "The referencing column.",
        },
        KeyDoc {
            name: "dataset",
            ty: "string",
            required: true,
            doc: "The referenced dataset (by name).",
        },
        KeyDoc {
            name: "to_column",
            ty: "string",
            required: false,
            doc: "The referenced column (default: `column`).",
        },
    ],
    example: "[[check]]\nkind = \"reference\"\ncolumn = \"customer_id\"\ndataset = \"customers\"\nto_column = \"customer_id\"\n",
    parse,
};

#[derive(Debug)]
struct Reference {
    column: Spanned<String>,
    dataset: Spanned<String>,
    to_column: Spanned<String>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let column = t.req_str("column");
    let dataset = t.req_str("dataset");
    let to_column = t.str("to_column");
    match (column, dataset) {
        (Some(column), Some(dataset)) => {
            let to_column = to_column.unwrap_or_else(|| column.clone());
            vec![Box::new(Reference {
                column,
                dataset,
                to_column,
            })]
        }
        _ => Vec::new(),
    }
}

impl Check for Reference {
    fn kind(&self) -> &'static str {
        "reference"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        vec![self.column.clone()]
    }

    fn other_dataset(&self) -> Option<String> {
        Some(self.dataset.get_ref().clone())
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        let name = self.dataset.get_ref();
        if cx.unreadable.contains(name) {
            return Ok(Shape::Reference {
                column: self.column.get_ref().clone(),
                dataset: name.clone(),
                to_column: self.to_column.get_ref().clone(),
            });
        }
        let Some(other) = cx.datasets.get(name) else {
            let mut names: Vec<&str> = cx.datasets.keys().map(String::as_str).collect();
            names.sort_unstable();
            let help = did_you_mean(name, &names, "datasets:");
            return Err(cx
                .error(
                    Code::UnknownDataset,
                    self.dataset.span(),
                    format!("no suite declares a dataset named `{name}`"),
                )
                .label("unknown dataset")
                .help(help));
        };
        let to = self.to_column.get_ref();
        if other.field_with_name(to).is_err() {
            let cols: Vec<&str> = other.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(cx
                .error(
                    Code::UnknownColumn,
                    self.to_column.span(),
                    format!("dataset `{name}` has no column `{to}`"),
                )
                .label("unknown column")
                .help(did_you_mean(to, &cols, &format!("`{name}` has")))
                .lacking(format!("{name}.{to}")));
        }
        Ok(Shape::Reference {
            column: self.column.get_ref().clone(),
            dataset: name.clone(),
            to_column: to.clone(),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let (failing_rows, distinct_missing) = match obs {
            Observation::Reference {
                failing_rows,
                distinct_missing,
            } => (failing_rows, distinct_missing),
            _ => (&0, &0),
        };
        let target = format!("`{}.{}`", self.dataset.get_ref(), self.to_column.get_ref());
        let what = if *distinct_missing > 0 {
            format!(
                "have `{}` missing from {target} ({} distinct {})",
                self.column.get_ref(),
                fmt_count(*distinct_missing),
                if *distinct_missing == 1 { "value" } else { "values" }
            )
        } else {
            format!("have `{}` missing from {target}", self.column.get_ref())
        };
        let mut v = row_verdict(cx, *failing_rows, &what, &format!("missing from {target}"));
        v.expected = json!({ "dataset": self.dataset.get_ref(), "to_column": self.to_column.get_ref(), "max_fraction": cx.common.max_fraction });
        v
    }
}
