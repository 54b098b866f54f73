//! `unique`: no key (one column or several) occurs more than once.

use toml::Spanned;

use super::{Check, EvalCx, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict, fmt_count, row_verdict};
use crate::diag::Diagnostic;
use crate::spanned::TableReader;

pub(super) const SPEC: KindSpec = KindSpec {
    name: "unique",
    summary: "No key occurs in more than one row.",
    semantics: "Every row whose key occurs more than once fails (a key seen three times makes three failing rows). Rows with a null in any key column are ignored. For one integer key over CSV or JSON files, the dataset's one scan also collects the keys; over Parquet, when the keys span a range not much wider than the row count (ids), the check runs a scan of the key that marks each key in a bitmap; otherwise it runs a grouped count, which spills to disk under `memory_limit`. Its sample lists the most repeated keys with how often each occurs (ties in key order).",
    keys: &[
        KeyDoc {
            name: "columns",
            ty: "string or array of strings",
            required: false,
            doc: "The key: one column or several.",
        },
        KeyDoc {
            name: "column",
            ty: "string",
            required: false,
            doc: "A one-column key (same as `columns = [\"…\"]`).",
        },
    ],
    example: "[[check]]\nkind = \"unique\"\ncolumns = [\"order_id\"]\n",
    parse,
};

#[derive(Debug)]
struct Unique {
    columns: Vec<Spanned<String>>,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let columns = super::not_null::columns_key(t, "unique");
    if columns.is_empty() {
        return Vec::new();
    }
    vec![Box::new(Unique { columns })]
}

impl Check for Unique {
    fn kind(&self) -> &'static str {
        "unique"
    }

    fn columns(&self) -> Vec<Spanned<String>> {
        self.columns.clone()
    }

    fn plan(&self, _cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        Ok(Shape::Unique {
            columns: self.columns.iter().map(|c| c.get_ref().clone()).collect(),
        })
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let (failing_rows, duplicate_keys) = match obs {
            Observation::Unique {
                failing_rows,
                duplicate_keys,
            } => (failing_rows, duplicate_keys),
            _ => (&0, &0),
        };
        let key = self
            .columns
            .iter()
            .map(|c| format!("`{}`", c.get_ref()))
            .collect::<Vec<_>>()
            .join(", ");
        let what = if *duplicate_keys == 0 {
            format!("share their {key} with another row")
        } else {
            format!(
                "share their {key} with another row ({} duplicated {})",
                fmt_count(*duplicate_keys),
                if *duplicate_keys == 1 { "key" } else { "keys" }
            )
        };
        row_verdict(cx, *failing_rows, &what, "with a duplicated key")
    }
}
