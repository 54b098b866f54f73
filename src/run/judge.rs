//! Judging: what the engine observed becomes a verdict (by the check's kind, with the run's clock
//! and the dataset's history), and a verdict becomes a status by the check's severity.
//!
//! This is where "passed or failed" is decided — the engine only measures. Columns a suite names
//! but the data lacks are judged here too, as one failing check (`DATASET.missing_columns`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::checks::{EvalCx, Verdict};
use crate::diag::{backticked, display_path};
use crate::engine::{Measured, OpenDataset, PlannedCheck};
use crate::results::{CheckResult, Severity, SourceRef, Status};
use crate::schemas::SchemaVersion;
use crate::suite::Suite;

/// What the history store knows about a dataset before a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct DatasetHistory {
    /// The latest accepted schema version.
    pub accepted: Option<SchemaVersion>,
    /// Per check id, values of earlier runs in which the check did not fail, most recent first.
    pub baselines: HashMap<String, Vec<f64>>,
}

/// The verdict on one measured check, or why it could not be evaluated.
pub(super) fn verdict(
    suite: &Suite,
    planned: &PlannedCheck,
    measured: &Measured<'_>,
    now: DateTime<Utc>,
    history: &DatasetHistory,
) -> Result<Verdict, String> {
    let decl = &suite.checks[planned.index];
    let observation = measured.observation.as_ref().map_err(Clone::clone)?;
    let cx = EvalCx {
        common: &decl.common,
        in_scope: measured.in_scope,
        now,
        baseline: history.baselines.get(&decl.id).map_or(&[][..], Vec::as_slice),
        accepted: history.accepted.as_ref(),
    };
    Ok(decl.check.evaluate(&cx, observation))
}

/// A check's result: its verdict turned into a status by its severity, with its sample.
pub(super) fn check_result(
    suite: &Suite,
    index: usize,
    verdict: Result<Verdict, String>,
    sample: Vec<serde_json::Value>,
    from_statistics: bool,
    merged: Option<bool>,
) -> CheckResult {
    let decl = &suite.checks[index];
    let columns: Vec<String> = decl
        .check
        .columns()
        .into_iter()
        .map(toml::Spanned::into_inner)
        .collect();
    let (status, v) = match verdict {
        Ok(v) => {
            let status = match (v.failed, decl.common.severity) {
                (false, _) if v.warn => Status::Warn,
                (false, _) => Status::Pass,
                (true, Severity::Error) => Status::Fail,
                (true, Severity::Warn) => Status::Warn,
            };
            (status, v)
        }
        Err(e) => (
            Status::Error,
            Verdict {
                failed: true,
                failing_rows: None,
                failing_fraction: None,
                observed: serde_json::Value::Null,
                expected: serde_json::Value::Null,
                message: format!("The check could not be evaluated: {e}"),
                ..Default::default()
            },
        ),
    };
    CheckResult {
        id: decl.id.clone(),
        name: decl.name.clone(),
        kind: decl.check.kind().to_string(),
        column: columns.first().cloned(),
        columns,
        severity: decl.common.severity,
        status,
        failing_rows: v.failing_rows,
        failing_fraction: v.failing_fraction,
        value: v.value,
        observed: v.observed,
        expected: v.expected,
        message: v.message,
        from_statistics,
        where_: decl.common.where_.as_ref().map(|w| w.get_ref().clone()),
        description: decl.common.description.clone(),
        sample,
        source: SourceRef {
            file: display_path(&suite.file.path),
            line: decl.line(&suite.file),
        },
        merged,
        limits: v.limits,
    }
}

/// Columns the suite names but the data lacks: `(column, who names it, suite line)`.
pub(crate) fn missing_columns(suite: &Suite, ds: &OpenDataset, plan: &[PlannedCheck]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    if ds.is_empty() {
        return out;
    }
    for col in &suite.dataset.key {
        if ds.schema.field_with_name(col).is_err() {
            let line = suite.file.line_of(suite.dataset.name.span().start);
            out.push((col.clone(), "the dataset's `key`".to_string(), line));
        }
    }
    for p in plan {
        if let crate::checks::Shape::Missing { column, .. } = &p.shape {
            let decl = &suite.checks[p.index];
            out.push((column.clone(), format!("`{}`", decl.id), decl.line(&suite.file)));
        }
    }
    out
}

/// The columns the suite names but the data lacks, as one failing check (kind `schema`, id
/// `DATASET.missing_columns`): a data failure that the exit code, history and alerts see like any
/// other, while the checks that read those columns are `error` and the others run.
pub(super) fn missing_columns_check(suite: &Suite, ds: &OpenDataset, plan: &[PlannedCheck]) -> Option<CheckResult> {
    let missing = missing_columns(suite, ds, plan);
    let line = missing.first()?.2;
    let mut columns: Vec<String> = Vec::new();
    let mut named_by: Vec<String> = Vec::new();
    for (c, who, _) in &missing {
        if !columns.contains(c) {
            columns.push(c.clone());
        }
        if !named_by.contains(who) {
            named_by.push(who.clone());
        }
    }
    let have: Vec<&str> = ds.schema.fields().iter().map(|f| f.name().as_str()).collect();
    let n = columns.len() as u64;
    let message = format!(
        "The data lacks {} that the suite names: {} (read by {}); dataset `{}` has {}.",
        crate::results::numbers::count_of(n, "column", "columns"),
        backticked(&columns),
        named_by.join(", "),
        ds.name,
        backticked(&have)
    );
    Some(CheckResult {
        id: format!("{}.missing_columns", ds.name),
        name: "missing_columns".to_string(),
        kind: "schema".to_string(),
        column: columns.first().cloned(),
        columns: columns.clone(),
        severity: Severity::Error,
        status: Status::Fail,
        failing_rows: None,
        failing_fraction: None,
        value: Some(n as f64),
        observed: serde_json::json!({ "missing": columns }),
        expected: serde_json::json!("every column the suite names"),
        message,
        from_statistics: false,
        where_: None,
        description: None,
        sample: Vec::new(),
        source: SourceRef {
            file: display_path(&suite.file.path),
            line,
        },
        merged: None,
        limits: crate::results::Limits::default(),
    })
}
