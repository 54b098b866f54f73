//! Check kinds: one file per kind, registered in the sorted [`REGISTRY`].
//!
//! A kind knows four things about itself: how to read its keys from a `[[check]]` table, how to
//! lower itself to a [`Shape`] once the dataset's schema is known, how to turn what the engine
//! measured (an [`Observation`]) into a [`Verdict`] with a sentence a person can act on, and its own
//! documentation. It knows nothing about queries: the engine fuses the shapes of every check of a
//! dataset into one scan, so "one scan per dataset" is a property of one module, not a promise each
//! kind must keep.

pub(crate) mod common;

mod accepted_values;
mod anomaly;
mod expression;
mod freshness;
mod length;
mod metric;
mod not_null;
mod pattern;
mod range;
mod reference;
mod row_count;
mod schema;
mod unique;

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::logical_expr::Expr;
use datafusion::scalar::ScalarValue;
use serde_json::Value;
use toml::Spanned;

pub(crate) use common::{Common, Severity};

use crate::diag::{Code, Diagnostic, SourceFile};
use crate::fragment::FragmentRole;
pub(crate) use crate::results::numbers::{count_of, fmt_count, fmt_pct};
use crate::spanned::TableReader;

/// One key of a check kind, for its documentation.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub name: &'static str,
    pub ty: &'static str,
    pub required: bool,
    pub doc: &'static str,
}

/// A check kind: its name, documentation and parser.
pub struct KindSpec {
    pub name: &'static str,
    /// One sentence: what the check guarantees.
    pub summary: &'static str,
    /// Markdown: when a row fails / when the check fails, and how nulls count.
    pub semantics: &'static str,
    pub keys: &'static [KeyDoc],
    /// A `[[check]]` table that parses (tested).
    pub example: &'static str,
    /// Reads the kind's own keys (the common keys are already read). Several checks may come back
    /// (`not_null` with `columns` makes one per column).
    pub parse: fn(&mut TableReader<'_, '_>) -> Vec<Box<dyn Check>>,
}

/// Every check kind, sorted by name (a test keeps it sorted and complete).
pub const REGISTRY: &[&KindSpec] = &[
    &accepted_values::SPEC,
    &anomaly::SPEC,
    &expression::SPEC,
    &freshness::SPEC,
    &length::SPEC,
    &metric::SPEC,
    &not_null::SPEC,
    &pattern::SPEC,
    &range::SPEC,
    &reference::SPEC,
    &row_count::SPEC,
    &schema::SPEC,
    &unique::SPEC,
];

/// Kinds that are designed but come with a later version.
pub(crate) const LATER_KINDS: &[&str] = &[];

pub(crate) fn kind(name: &str) -> Option<&'static KindSpec> {
    REGISTRY.iter().copied().find(|k| k.name == name)
}

pub(crate) fn kind_names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|k| k.name)
}

/// What a check needs from the engine.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A row fails when `failing` is true (null is "not failing"). Fused into the dataset's scan.
    Rows { failing: Expr },
    /// Aggregates computed in the dataset's scan; their values come back in order.
    Aggregates(Vec<Expr>),
    /// Rows whose key occurs more than once (null keys ignored). Its own query.
    Unique { columns: Vec<String> },
    /// Rows whose value is absent from another dataset's column. Its own query.
    Reference {
        column: String,
        dataset: String,
        to_column: String,
    },
    /// Answered from file metadata; no query.
    Schema,
    /// The check names a column the data lacks (`column`; `dataset.column` for another dataset's):
    /// it cannot be evaluated (`found` says why and where the suite names it), and the run reports
    /// the missing column.
    Missing {
        column: String,
        found: Box<crate::diag::Diagnostic>,
    },
}

/// What the engine measured for one check.
#[derive(Debug)]
pub enum Observation<'a> {
    Rows {
        failing: u64,
    },
    Aggregates {
        values: Vec<ScalarValue>,
    },
    Unique {
        failing_rows: u64,
        duplicate_keys: u64,
    },
    Reference {
        failing_rows: u64,
        distinct_missing: u64,
    },
    Schema {
        files: &'a [FileSchema],
        unified: &'a Schema,
        compare_file_types: bool,
    },
    /// The dataset has no files: nothing was queried and every count is zero.
    Empty,
}

impl Observation<'_> {
    /// Failing rows of a row-level check (zero for an empty dataset).
    pub fn failing(&self) -> u64 {
        match self {
            Observation::Rows { failing } => *failing,
            _ => 0,
        }
    }

    /// Aggregate values in the order the check asked for them (none for an empty dataset).
    pub fn values(&self) -> &[ScalarValue] {
        match self {
            Observation::Aggregates { values } => values,
            _ => &[],
        }
    }
}

/// A data file's own schema, for the schema check.
#[derive(Debug, Clone)]
pub struct FileSchema {
    /// Path relative to the dataset's root, `/`-separated.
    pub file: String,
    pub schema: SchemaRef,
}

/// Context for lowering a check.
pub struct PlanCx<'a> {
    pub file: &'a SourceFile,
    pub dataset: &'a str,
    pub schema: &'a Schema,
    /// Parses a `where`/`sql` fragment against this dataset's schema.
    pub parse_fragment: &'a dyn Fn(&Spanned<String>, FragmentRole) -> Result<Expr, Diagnostic>,
    /// Schemas of the other datasets (for `reference`).
    pub datasets: &'a HashMap<String, SchemaRef>,
    /// Datasets declared by the project that could not be read (a `reference` to one is judged
    /// `error` at run time rather than reported as a configuration problem).
    pub unreadable: &'a [String],
}

impl PlanCx<'_> {
    /// The type of a column known to exist (columns are checked before `plan`).
    pub fn column_type(&self, name: &str) -> &DataType {
        self.schema
            .field_with_name(name)
            .map_or(&DataType::Null, |f| f.data_type())
    }

    pub fn error(&self, code: Code, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(code, self.file, span, message)
    }
}

/// Context for judging a check.
pub struct EvalCx<'a> {
    pub common: &'a Common,
    /// Rows the check applies to (after its `where`).
    pub in_scope: u64,
    pub now: DateTime<Utc>,
    /// This check's values in earlier runs in which it did not fail, most recent first.
    pub baseline: &'a [f64],
    /// The dataset's latest accepted schema version, when the history store has one.
    pub accepted: Option<&'a crate::schemas::SchemaVersion>,
}

/// A check's judgement, before severity turns "failed" into `fail` or `warn`.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub failed: bool,
    /// Not failed, but worth a warning whatever the severity (e.g. schema drift with `drift = "warn"`).
    pub warn: bool,
    /// The check's measure, kept in the history for trends and anomaly baselines.
    pub value: Option<f64>,
    pub failing_rows: Option<u64>,
    pub failing_fraction: Option<f64>,
    pub observed: Value,
    pub expected: Value,
    pub message: String,
    /// The bounds the check allows its measure (failing fraction or value), for trend charts.
    pub limits: crate::results::Limits,
}

/// A check as a kind implements it.
pub trait Check: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> &'static str;

    /// The columns the check is about (they must exist; the check's id is made from them).
    fn columns(&self) -> Vec<Spanned<String>> {
        Vec::new()
    }

    /// Another dataset this check reads (it must be opened too when only this suite is run).
    fn other_dataset(&self) -> Option<String> {
        None
    }

    /// Whether judging this check needs the values of earlier runs (`EvalCx::baseline`), which
    /// the run then reads from the history store.
    fn needs_history(&self) -> bool {
        false
    }

    fn plan(&self, cx: &PlanCx<'_>) -> Result<Shape, Diagnostic>;

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict;
}

/// The verdict of a row-level check: `failing` of `in_scope` rows against `max_fraction`.
/// `what` completes "N of M rows …", e.g. "have a null `email`".
pub(crate) fn row_verdict(cx: &EvalCx<'_>, failing: u64, what: &str, expected_rows: &str) -> Verdict {
    let in_scope = cx.in_scope;
    let fraction = if in_scope == 0 {
        0.0
    } else {
        failing as f64 / in_scope as f64
    };
    let max = cx.common.max_fraction;
    let failed = if max > 0.0 { fraction > max } else { failing > 0 };
    let scope = if cx.common.where_.is_some() { " in scope" } else { "" };
    let mut message = format!(
        "{} of {}{scope} {what}",
        fmt_count(failing),
        count_of(in_scope, "row", "rows")
    );
    if failing > 0 || max > 0.0 {
        if max > 0.0 {
            let verb = if failed { "more than" } else { "within" };
            message.push_str(&format!(
                " ({}, {verb} the {} allowed)",
                fmt_pct(fraction),
                fmt_pct(max)
            ));
        } else {
            message.push_str(&format!(" ({})", fmt_pct(fraction)));
        }
    }
    message.push('.');
    let expected = if max > 0.0 {
        Value::String(format!("at most {} of rows {expected_rows}", fmt_pct(max)))
    } else {
        Value::String(format!("no rows {expected_rows}"))
    };
    Verdict {
        failed,
        failing_rows: Some(failing),
        failing_fraction: Some(fraction),
        observed: failing.into(),
        expected,
        message,
        value: Some(failing as f64),
        warn: false,
        limits: crate::results::Limits {
            min: None,
            max: Some(max),
        },
    }
}

/// A scalar as a JSON number or string.
pub(crate) fn scalar_json(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Int8(Some(x)) => (*x).into(),
        ScalarValue::Int16(Some(x)) => (*x).into(),
        ScalarValue::Int32(Some(x)) => (*x).into(),
        ScalarValue::Int64(Some(x)) => (*x).into(),
        ScalarValue::UInt8(Some(x)) => (*x).into(),
        ScalarValue::UInt16(Some(x)) => (*x).into(),
        ScalarValue::UInt32(Some(x)) => (*x).into(),
        ScalarValue::UInt64(Some(x)) => (*x).into(),
        // An integer `sum` (128 bits, `engine::overflow`): a number when JSON readers keep it exact.
        ScalarValue::Decimal128(Some(x), _, 0) => i64::try_from(*x).map_or_else(
            |_| u64::try_from(*x).map_or_else(|_| Value::String(x.to_string()), Into::into),
            Into::into,
        ),
        // NaN and the infinities are not JSON numbers; they are named rather than shown as null.
        ScalarValue::Float32(Some(x)) => float_json(f64::from(*x)),
        ScalarValue::Float64(Some(x)) => float_json(*x),
        ScalarValue::Boolean(Some(b)) => (*b).into(),
        other => Value::String(other.to_string()),
    }
}

/// A float as a JSON number, or `"NaN"`, `"inf"`, `"-inf"` (never `null`, which means missing).
pub(crate) fn float_json(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => n.into(),
        None if x.is_nan() => "NaN".into(),
        None if x > 0.0 => "inf".into(),
        None => "-inf".into(),
    }
}

/// A scalar as f64 when it is numeric.
pub(crate) fn scalar_f64(v: &ScalarValue) -> Option<f64> {
    if v.is_null() {
        return None;
    }
    v.cast_to(&DataType::Float64).ok().and_then(|c| match c {
        ScalarValue::Float64(x) => x,
        _ => None,
    })
}

/// A column reference that never parses its name (names may contain dots or capitals).
pub(crate) fn column(name: &str) -> Expr {
    Expr::Column(datafusion::common::Column::new_unqualified(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diags;

    #[test]
    fn registry_is_sorted_and_unique() {
        let names: Vec<_> = kind_names().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn registry_lists_every_kind_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".rs").map(str::to_string))
            .filter(|n| n != "mod" && n != "common")
            .collect();
        files.sort();
        assert_eq!(files, kind_names().collect::<Vec<_>>());
    }

    #[test]
    fn every_example_parses_and_documents_its_keys() {
        for spec in REGISTRY {
            let text = format!(
                "[dataset]\nname = \"t\"\nzone = \"raw\"\npath = \"t\"\n\n{}",
                spec.example
            );
            let diags = Diags::default();
            let file = SourceFile::new(format!("{}.toml", spec.name), text.as_str());
            let suite = crate::suite::parse_suite(&file, &diags);
            let all = diags.into_vec();
            assert!(all.is_empty(), "{}: {:?}", spec.name, all);
            let suite = suite.unwrap();
            assert!(!suite.checks.is_empty(), "{}", spec.name);
            assert!(suite.checks.iter().all(|c| c.check.kind() == spec.name));
            assert!(spec.example.contains(&format!("kind = \"{}\"", spec.name)));
        }
    }

    #[test]
    fn percentages_read_well() {
        assert_eq!(fmt_pct(0.003), "0.3%");
        assert_eq!(fmt_pct(0.5), "50%");
        assert_eq!(fmt_pct(0.0), "0%");
        assert_eq!(fmt_pct(0.012), "1.2%");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
    }
}
