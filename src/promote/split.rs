//! Split mode: rows that pass every error-severity row-level check go to the target as Parquet; the
//! others go to quarantine with `_lakegate_failed`, the ids of the checks each row failed.
//! Dataset-level checks (row_count, freshness, schema, unique, reference, metric) still gate the
//! whole batch.

use std::path::Path;

use super::publish::SplitRows;
use super::snapshot::{SnapFile, sha256_file};
use super::{PromoteError, publish};
use crate::checks::{Severity, Shape};
use crate::config::Project;
use crate::engine::PlannedCheck;
use crate::engine::split::SplitRule;
use crate::fs_atomic;
use crate::results::{RunResult, Status};
use crate::run::Prepared;
use crate::suite::Suite;

/// The column of quarantined rows naming the checks they failed (comma-separated ids).
pub(super) const FAILED_COLUMN: &str = "_lakegate_failed";

/// The batch passes split mode when no check could not be evaluated and every failed
/// error-severity check is row-level (its rows are split off instead).
pub(super) fn gate_passes(result: &RunResult, plan: &[PlannedCheck]) -> bool {
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
            e_tag: None,
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
pub(super) async fn stage(
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
    // Error-severity row-level checks split the rows; the others gate the batch (`gate_passes`).
    let rules: Vec<SplitRule> = plan
        .iter()
        .filter(|p| suite.checks[p.index].common.severity == Severity::Error)
        .filter_map(|p| {
            p.failing_in_scope().map(|failing| SplitRule {
                id: suite.checks[p.index].id.clone(),
                failing,
            })
        })
        .collect();
    // Renamed into place when the promotion commits (publish.rs), not before.
    let quarantine = project.zone_dir("quarantine").map(|qzone| {
        let qbase = qzone.join(rel_base);
        publish::QuarantineMove {
            from: qbase.join(publish::META_DIR).join("staging").join(run_id),
            to: qbase.join(run_id),
        }
    });
    fs_atomic::create_dir_all(staging).map_err(|e| PromoteError::io(staging, &e))?;
    let counts = prepared
        .engine
        .split(
            ds,
            &rules,
            FAILED_COLUMN,
            staging,
            quarantine.as_ref().map(|q| q.from.as_path()),
        )
        .await
        .map_err(|e| df_err(&e))?;
    fsync_tree(staging)?;
    let files = staged_files(staging)?;
    let rows = SplitRows {
        total: counts.total,
        passed: counts.total - counts.failing,
        quarantined: counts.failing,
    };
    if counts.failing == 0 {
        return Ok((rows, files, None));
    }
    let Some(quarantine) = quarantine.filter(|_| counts.failing_written) else {
        return Err(PromoteError::Refused(
            "split mode needs a `quarantine` zone in lakegate.toml for the failing rows".into(),
        ));
    };
    fsync_tree(&quarantine.from)?;
    Ok((rows, files, Some(quarantine)))
}
