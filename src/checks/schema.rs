//! `schema`: declared columns exist with the declared type family; the dataset's files agree.
//!
//! Answered from file metadata only (no scan). Types compare by family (see [`crate::types`]):
//! every string type is `string`, every timestamp unit and zone is `timestamp`, decimals are exact.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::Schema as ArrowSchema;
use serde_json::json;

use super::{Check, EvalCx, FileSchema, KeyDoc, KindSpec, Observation, PlanCx, Shape, Verdict};
use crate::diag::{Code, Diagnostic, backticked, did_you_mean};
use crate::schemas::{Change, SchemaVersion, columns_of, diff};
use crate::spanned::TableReader;
use crate::types::{TYPE_NAMES, TypeName, family_name};

pub(super) const SPEC: KindSpec = KindSpec {
    name: "schema",
    summary: "Declared columns exist with the declared types, and every file of the dataset has the same columns.",
    semantics: "Fails when a declared column is missing or has another type family, when `mode = \"exact\"` and the dataset has columns that are not declared, or when the dataset's files disagree (a file with an extra, missing or differently typed column; the message names the file). Types compare by family: `string` matches every Arrow string type, `timestamp` every unit and time zone, `int` any integer, `float` any float, `decimal(p,s)` exactly. For CSV and JSON files, whose types are inferred, files are compared by column names only. Reads file metadata only.",
    keys: &[
        KeyDoc {
            name: "columns",
            ty: "table of name = type",
            required: false,
            doc: "Expected columns and type names: string, int8..int64, uint8..uint64, int, float32, float64, float, bool, date, timestamp, decimal(p,s), binary.",
        },
        KeyDoc {
            name: "mode",
            ty: "\"superset\" | \"exact\"",
            required: false,
            doc: "`superset` (default) allows undeclared columns; `exact` fails on them.",
        },
        KeyDoc {
            name: "drift",
            ty: "\"fail\" | \"warn\" | \"ignore\"",
            required: false,
            doc: "What a difference from the latest accepted schema version (see `lakegate schema`) does: `fail` (default), `warn`, or `ignore`. Added, removed and retyped columns (by family) and columns that became nullable are drift; a wider integer or float of the same kind (int32 → int64) is reported but is not drift.",
        },
    ],
    example: "[[check]]\nkind = \"schema\"\nmode = \"exact\"\ncolumns = { order_id = \"int64\", amount = \"float64\", created_at = \"timestamp\" }\n",
    parse,
};

#[derive(Debug)]
struct Schema {
    columns: Vec<(String, TypeName)>,
    exact: bool,
    drift: Drift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drift {
    Fail,
    Warn,
    Ignore,
}

fn parse(t: &mut TableReader<'_, '_>) -> Vec<Box<dyn Check>> {
    let mut columns = Vec::new();
    if let Some(map) = t.str_map("columns") {
        for (name, ty) in map.into_inner() {
            match TypeName::parse(ty.get_ref()) {
                Some(tn) => columns.push((name.into_inner(), tn)),
                None => t.push(
                    t.error(
                        Code::UnknownType,
                        ty.span(),
                        format!("`{}` is not a type name", ty.get_ref()),
                    )
                    .label("unknown type")
                    .help(did_you_mean(ty.get_ref(), TYPE_NAMES, "use one of")),
                ),
            }
        }
    }
    let exact = match t.str("mode") {
        Some(m) if m.get_ref() == "exact" => true,
        Some(m) if m.get_ref() == "superset" => false,
        Some(m) => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    m.span(),
                    format!("`{}` is not a schema mode", m.get_ref()),
                )
                .label("unknown mode")
                .help("use \"superset\" (extra columns allowed) or \"exact\""),
            );
            false
        }
        None => false,
    };
    let drift = match t.str("drift") {
        Some(d) if d.get_ref() == "fail" => Drift::Fail,
        Some(d) if d.get_ref() == "warn" => Drift::Warn,
        Some(d) if d.get_ref() == "ignore" => Drift::Ignore,
        Some(d) => {
            t.push(
                t.error(
                    Code::InvalidChoice,
                    d.span(),
                    format!("`{}` is not a drift policy", d.get_ref()),
                )
                .label("unknown policy")
                .help("use \"fail\" (the default), \"warn\" or \"ignore\""),
            );
            Drift::Fail
        }
        None => Drift::Fail,
    };
    vec![Box::new(Schema { columns, exact, drift })]
}

/// Differences of one file from the schema most files share.
fn file_disagreements(files: &[FileSchema], compare_types: bool) -> Vec<String> {
    if files.len() < 2 {
        return Vec::new();
    }
    let sig = |f: &FileSchema| -> BTreeMap<String, String> {
        f.schema
            .fields()
            .iter()
            .map(|fl| {
                (
                    fl.name().clone(),
                    if compare_types {
                        family_name(fl.data_type())
                    } else {
                        String::new()
                    },
                )
            })
            .collect()
    };
    let sigs: Vec<_> = files.iter().map(sig).collect();
    // The reference is the signature most files share (the first such on a tie).
    let reference = sigs
        .iter()
        .max_by_key(|s| {
            (
                sigs.iter().filter(|o| o == s).count(),
                std::cmp::Reverse(sigs.iter().position(|o| o == *s)),
            )
        })
        .cloned()
        .unwrap_or_default();
    let others = sigs.iter().filter(|s| **s == reference).count();
    let mut out = Vec::new();
    for (f, s) in files.iter().zip(&sigs) {
        if *s == reference {
            continue;
        }
        let mut parts = Vec::new();
        let extra: Vec<_> = s.keys().filter(|k| !reference.contains_key(*k)).collect();
        let missing: Vec<_> = reference.keys().filter(|k| !s.contains_key(*k)).collect();
        let retyped: Vec<_> = s
            .iter()
            .filter_map(|(k, t)| {
                reference
                    .get(k)
                    .filter(|rt| *rt != t)
                    .map(|rt| format!("`{k}` is {t} (elsewhere {rt})"))
            })
            .collect();
        if !extra.is_empty() {
            parts.push(format!(
                "{} {}",
                if extra.len() == 1 {
                    "an extra column"
                } else {
                    "extra columns"
                },
                backticked(extra)
            ));
        }
        if !missing.is_empty() {
            parts.push(format!("no {}", backticked(missing)));
        }
        parts.extend(retyped);
        out.push(format!(
            "file `{}` has {} (unlike {} other {})",
            f.file,
            parts.join(", "),
            others,
            if others == 1 { "file" } else { "files" }
        ));
    }
    out
}

impl Check for Schema {
    fn kind(&self) -> &'static str {
        "schema"
    }

    fn plan(&self, _cx: &PlanCx<'_>) -> Result<Shape, Diagnostic> {
        Ok(Shape::Schema)
    }

    fn evaluate(&self, cx: &EvalCx<'_>, obs: &Observation<'_>) -> Verdict {
        let accepted = cx.accepted;
        let Observation::Schema {
            files,
            unified,
            compare_file_types,
        } = obs
        else {
            return Verdict {
                failed: false,
                failing_rows: None,
                failing_fraction: None,
                observed: json!({ "files": 0 }),
                expected: json!({ "mode": if self.exact { "exact" } else { "superset" } }),
                message: "The dataset has no files, so there is no schema to compare.".into(),
                ..Verdict::default()
            };
        };
        let mut problems = self.declared_problems(unified);
        problems.extend(file_disagreements(files, *compare_file_types));
        let drift = self.drift_findings(accepted, unified);
        problems.extend(drift.failing);
        let observed = json!({
            "accepted_version": accepted.map(|v| v.version),
            "changes": drift.changes,
            "columns": unified.fields().iter().map(|f| (f.name().clone(), json!(family_name(f.data_type())))).collect::<serde_json::Map<_, _>>(),
            "files": files.len(),
        });
        let expected = json!({
            "columns": self.columns.iter().map(|(n, t)| (n.clone(), json!(t.to_string()))).collect::<serde_json::Map<_, _>>(),
            "mode": if self.exact { "exact" } else { "superset" },
        });
        let message = self.message(&problems, &drift.warnings, &drift.notes, files.is_empty());
        Verdict {
            failed: !problems.is_empty(),
            warn: !drift.warnings.is_empty(),
            failing_rows: None,
            failing_fraction: None,
            observed,
            expected,
            message,
            value: None,
            limits: crate::results::Limits::default(),
        }
    }
}

/// How a dataset's schema differs from its latest accepted version, sorted by what `drift` makes of it.
#[derive(Default)]
struct DriftFindings {
    /// Every change from the accepted version (for the observed JSON).
    changes: Vec<Change>,
    /// The drift sentence, when drift fails the check.
    failing: Option<String>,
    /// The drift sentence, when drift only warns.
    warnings: Vec<String>,
    /// Changes that are not drift, and drift that is ignored.
    notes: Vec<String>,
}

impl Schema {
    /// The declared columns that are missing or of another family, and with `mode = "exact"` the undeclared ones.
    fn declared_problems(&self, unified: &ArrowSchema) -> Vec<String> {
        let mut problems = Vec::new();
        let mut missing = Vec::new();
        for (name, want) in &self.columns {
            match unified.field_with_name(name) {
                Err(_) => missing.push(name.as_str()),
                Ok(f) if !want.matches(f.data_type()) => {
                    problems.push(format!(
                        "`{name}` is {} but {want} is declared",
                        family_name(f.data_type())
                    ));
                }
                Ok(_) => {}
            }
        }
        if !missing.is_empty() {
            problems.insert(
                0,
                format!(
                    "missing declared {} {}",
                    if missing.len() == 1 { "column" } else { "columns" },
                    backticked(&missing)
                ),
            );
        }
        if self.exact {
            let extra: Vec<_> = unified
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .filter(|n| !self.columns.iter().any(|(c, _)| c == n))
                .collect();
            if !extra.is_empty() {
                problems.push(format!(
                    "undeclared {} {} (mode is exact)",
                    if extra.len() == 1 { "column" } else { "columns" },
                    backticked(extra)
                ));
            }
        }
        problems
    }

    /// Drift from the latest accepted version of the schema, when there is one.
    fn drift_findings(&self, accepted: Option<&SchemaVersion>, unified: &ArrowSchema) -> DriftFindings {
        let mut found = DriftFindings::default();
        let Some(v) = accepted else {
            return found;
        };
        found.changes = diff(&v.columns, &columns_of(unified));
        let drift: Vec<String> = found
            .changes
            .iter()
            .filter(|c| c.is_drift())
            .map(Change::describe)
            .collect();
        found.notes = found
            .changes
            .iter()
            .filter(|c| !c.is_drift())
            .map(Change::describe)
            .collect();
        if !drift.is_empty() {
            let text = format!(
                "drifted from accepted schema version {}: {}",
                v.version,
                drift.join(", ")
            );
            match self.drift {
                Drift::Fail => found.failing = Some(text),
                Drift::Warn => found.warnings.push(text),
                Drift::Ignore => found.notes.push(text),
            }
        }
        found
    }

    /// The verdict's sentence: the problems and warnings, or that all is well, then the notes.
    fn message(&self, problems: &[String], warnings: &[String], notes: &[String], no_files: bool) -> String {
        let shown: Vec<String> = problems.iter().chain(warnings).cloned().collect();
        let message = if shown.is_empty() {
            if no_files {
                "The dataset has no files, so there is no schema to compare.".to_string()
            } else {
                format!(
                    "All {} declared columns are present with their declared types; the files agree.",
                    self.columns.len()
                )
            }
        } else {
            let mut m = shown.join("; ");
            if let Some(first) = m.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            m.push('.');
            m
        };
        if notes.is_empty() {
            message
        } else {
            format!("{message} Noted, not drift: {}.", notes.join(", "))
        }
    }
}
