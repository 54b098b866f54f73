//! Split mode: rows that pass every error-severity row-level check go to the target as Parquet; the
//! others go to quarantine with `_lakegate_failed`, the ids of the checks each row failed.
//! Dataset-level checks (row_count, freshness, schema, unique, reference, metric) still gate the
//! whole batch.

use std::path::Path;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::functions::string::expr_fn::concat_ws;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, ExprFunctionExt, lit, when};

use super::publish::SplitRows;
use super::snapshot::{SnapFile, sha256_file};
use super::{PromoteError, publish};
use crate::checks::{Severity, Shape, column};
use crate::config::Project;
use crate::engine::PlannedCheck;
use crate::fs_atomic;
use crate::results::{RunResult, Status};
use crate::runner::Prepared;
use crate::suite::Suite;

/// The column of quarantined rows naming the checks they failed (comma-separated ids).
pub const FAILED_COLUMN: &str = "_lakegate_failed";

/// The batch passes split mode when no check could not be evaluated and every failed
/// error-severity check is row-level (its rows are split off instead).
pub fn gate_passes(result: &RunResult, plan: &[PlannedCheck]) -> bool {
    let Some(d) = result.datasets.first() else { return false };
    d.error.is_none()
        && d.checks.iter().zip(plan).all(|(c, p)| match c.status {
            Status::Pass | Status::Warn => true,
            Status::Fail => matches!(p.shape, Shape::Rows { .. }),
            Status::Error => false,
        })
        // Checks the run adds after the suite's (columns the data lacks) cannot be split off.
        && d.checks.iter().skip(plan.len()).all(|c| matches!(c.status, Status::Pass | Status::Warn))
}

fn df_err(e: &datafusion::error::DataFusionError) -> PromoteError {
    PromoteError::Refused(format!("split mode could not run: {}", crate::engine::error::clean(e)))
}

/// Lists the files under a staging directory as batch records.
fn staged_files(staging: &Path) -> Result<Vec<SnapFile>, PromoteError> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(staging).sort_by_file_name() {
        let e = e.map_err(|e| PromoteError::Refused(e.to_string()))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = crate::paths::slash(e.path().strip_prefix(staging).unwrap_or(e.path()));
        if rel.starts_with('_') || rel.starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(e.path()).map_err(|err| PromoteError::io(e.path(), &err))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        let sha256 = sha256_file(e.path()).map_err(|err| PromoteError::io(e.path(), &err))?;
        out.push(SnapFile {
            path: rel,
            size: meta.len(),
            mtime_ns,
            sha256,
        });
    }
    Ok(out)
}

fn fsync_tree(dir: &Path) -> Result<(), PromoteError> {
    for e in walkdir::WalkDir::new(dir).contents_first(true).into_iter().flatten() {
        let r = if e.file_type().is_file() {
            std::fs::File::open(e.path()).and_then(|f| f.sync_all())
        } else {
            fs_atomic::fsync_dir(e.path())
        };
        r.map_err(|err| PromoteError::io(e.path(), &err))?;
    }
    Ok(())
}

/// Writes passing rows into `staging` and failing rows into the quarantine zone's staging; returns
/// the counts, the staged files, and the quarantined rows' staging directory with its destination.
pub async fn stage(
    project: &Project,
    prepared: &Prepared<'_>,
    suite: &Suite,
    staging: &Path,
    rel_base: &Path,
    run_id: &str,
) -> Result<(SplitRows, Vec<SnapFile>, Option<publish::QuarantineMove>), PromoteError> {
    let ds = prepared
        .opened
        .first()
        .and_then(|o| o.as_ref().ok())
        .ok_or_else(|| PromoteError::Refused("the batch could not be read".into()))?;
    let plan = prepared.plans.first().map_or(&[][..], Vec::as_slice);
    let ctx = prepared.engine.context();

    let mut flags = Vec::new();
    for p in plan {
        let decl = &suite.checks[p.index];
        if decl.common.severity != Severity::Error {
            continue;
        }
        if let Shape::Rows { failing } = &p.shape {
            let pred = match &p.scope {
                Some(s) => s.clone().and(failing.clone()),
                None => failing.clone(),
            };
            flags.push(when(pred, lit(decl.id.clone())).end().map_err(|e| df_err(&e))?);
        }
    }
    let failed = if flags.is_empty() {
        lit("")
    } else {
        concat_ws(lit(","), flags)
    };
    let cols: Vec<Expr> = ds.schema.fields().iter().map(|f| column(f.name())).collect();
    let mut with_flag = cols.clone();
    with_flag.push(failed.alias(FAILED_COLUMN));
    let df = ctx
        .table(ds.table.as_str())
        .await
        .map_err(|e| df_err(&e))?
        .select(with_flag)
        .map_err(|e| df_err(&e))?;
    let is_bad = column(FAILED_COLUMN)
        .is_not_null()
        .and(column(FAILED_COLUMN).not_eq(lit("")));

    let counts = df
        .clone()
        .aggregate(
            vec![],
            vec![
                count(lit(1i64)),
                count(lit(1i64))
                    .filter(is_bad.clone())
                    .build()
                    .map_err(|e| df_err(&e))?,
            ],
        )
        .map_err(|e| df_err(&e))?
        .collect()
        .await
        .map_err(|e| df_err(&e))?;
    let get = |i: usize| {
        counts
            .first()
            .and_then(|b| datafusion::scalar::ScalarValue::try_from_array(b.column(i), 0).ok())
            .and_then(|v| {
                if let datafusion::scalar::ScalarValue::Int64(Some(x)) = v {
                    u64::try_from(x).ok()
                } else {
                    None
                }
            })
            .unwrap_or(0)
    };
    let (total, quarantined) = (get(0), get(1));
    let rows = SplitRows {
        total,
        passed: total - quarantined,
        quarantined,
    };

    let partition_by = ds.partition_keys.clone();
    let passing = df
        .clone()
        .filter(Expr::Not(Box::new(is_bad.clone())))
        .map_err(|e| df_err(&e))?
        .select(cols)
        .map_err(|e| df_err(&e))?;
    fs_atomic::create_dir_all(staging).map_err(|e| PromoteError::io(staging, &e))?;
    let out = format!("{}/", staging.display());
    passing
        .write_parquet(
            &out,
            DataFrameWriteOptions::new().with_partition_by(partition_by.clone()),
            None,
        )
        .await
        .map_err(|e| df_err(&e))?;
    fsync_tree(staging)?;
    let files = staged_files(staging)?;

    let mut quarantine = None;
    if quarantined > 0 {
        let qzone = project.zone_dir("quarantine").ok_or_else(|| {
            PromoteError::Refused("split mode needs a `quarantine` zone in lakegate.toml for the failing rows".into())
        })?;
        let qbase = qzone.join(rel_base);
        let qstaging = qbase.join(publish::META_DIR).join("staging").join(run_id);
        fs_atomic::create_dir_all(&qstaging).map_err(|e| PromoteError::io(&qstaging, &e))?;
        let bad = df.filter(is_bad).map_err(|e| df_err(&e))?;
        bad.write_parquet(
            &format!("{}/", qstaging.display()),
            DataFrameWriteOptions::new().with_partition_by(partition_by),
            None,
        )
        .await
        .map_err(|e| df_err(&e))?;
        fsync_tree(&qstaging)?;
        // Renamed into place when the promotion commits (publish.rs), not before.
        quarantine = Some(publish::QuarantineMove {
            from: qstaging,
            to: qbase.join(run_id),
        });
    }
    Ok((rows, files, quarantine))
}
