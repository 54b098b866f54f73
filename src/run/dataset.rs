//! One dataset's part of a run: its history read, its checks measured by the engine, judged here,
//! and the failed ones sampled.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::RunOptions;
use super::judge::{self, DatasetHistory};
use crate::config::Project;
use crate::diag::display_path;
use crate::engine::sample::SampleRequest;
use crate::engine::{DatasetError, Engine, OpenDataset, PlannedCheck};
use crate::results::{DatasetResult, Status};
use crate::suite::Suite;

/// Runs one dataset's planned suite and returns its part of the result.
pub(super) async fn run(
    project: &Project,
    engine: &Engine,
    suite: &Suite,
    open: &Result<OpenDataset, DatasetError>,
    plan: &[PlannedCheck],
    opts: &RunOptions,
    now: DateTime<Utc>,
) -> DatasetResult {
    // Test hook: `LAKEGATE_PAUSE=run-dataset:FILE` holds the run here (a slow dataset).
    crate::fs_atomic::fault_point("run-dataset");
    let t0 = std::time::Instant::now();
    let mut result = DatasetResult {
        name: suite.dataset.name.get_ref().clone(),
        zone: suite.dataset.zone.get_ref().clone(),
        location: String::new(),
        format: None,
        suite: display_path(&suite.file.path),
        files: 0,
        rows: None,
        status: Status::Pass,
        queries: 0,
        sample_queries: 0,
        scanned_columns: Vec::new(),
        duration_ms: 0,
        error: None,
        checks: Vec::new(),
    };
    if let Some(zone_dir) = project.zone_dir(suite.dataset.zone.get_ref()) {
        result.location = display_path(&zone_dir.join(suite.dataset.path.get_ref()));
    }
    match open {
        Err(e) => {
            tracing::error!(dataset = %result.name, "{e}");
            result.error = Some(e.to_string());
        }
        Ok(ds) => {
            result.format = Some(ds.format.as_str().to_string());
            result.files = ds.files.len();
            match history(suite, ds, opts) {
                // A damaged catalog is a run that cannot happen (exit 3): the schema check would
                // compare with the wrong version and the first run would accept a new one.
                Err(e) => {
                    tracing::error!(dataset = %result.name, "{e}");
                    result.error = Some(format!("dataset `{}`: {e}", result.name));
                }
                Ok(history) => measure_judge_sample(engine, suite, ds, plan, now, &history, &mut result).await,
            }
        }
    }
    result.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.finalize();
    result
}

/// The three phases: the engine measures, the checks judge, the engine samples the failed ones.
async fn measure_judge_sample(
    engine: &Engine,
    suite: &Suite,
    ds: &OpenDataset,
    plan: &[PlannedCheck],
    now: DateTime<Utc>,
    history: &DatasetHistory,
    result: &mut DatasetResult,
) {
    let measured = engine.measure(suite, ds, plan).await;
    result.rows = measured.rows;
    result.queries = measured.queries;
    result.scanned_columns = measured.scanned_columns;
    if let Some(e) = measured.error {
        tracing::error!(dataset = %result.name, "{e}");
        result.error = Some(format!("dataset `{}`: {e}", result.name));
    }
    let verdicts: Vec<_> = plan
        .iter()
        .zip(&measured.checks)
        .map(|(p, m)| judge::verdict(suite, p, m, now, history))
        .collect();
    let wanted: Vec<SampleRequest> = verdicts
        .iter()
        .enumerate()
        .filter_map(|(slot, v)| match v {
            Ok(v) if v.failed => Some(SampleRequest {
                slot,
                failing_rows: v.failing_rows,
            }),
            _ => None,
        })
        .collect();
    let mut samples = engine.samples(suite, ds, plan, &wanted).await;
    result.queries += samples.queries;
    result.sample_queries = samples.queries;
    for (slot, ((p, m), verdict)) in plan.iter().zip(measured.checks).zip(verdicts).enumerate() {
        // A `unique` check's sample comes from the query that counted it.
        let failed = verdict.as_ref().is_ok_and(|v| v.failed);
        let sample = if failed && !m.repeated_keys.is_empty() {
            m.repeated_keys
        } else {
            std::mem::take(&mut samples.rows[slot])
        };
        result
            .checks
            .push(judge::check_result(suite, p.index, verdict, sample, m.from_statistics));
    }
    // After the suite's own checks, so that results and plans stay aligned.
    result.checks.extend(judge::missing_columns_check(suite, ds, plan));
}

/// What the history store knows about the dataset, read only as far as its checks need it.
fn history(suite: &Suite, ds: &OpenDataset, opts: &RunOptions) -> Result<DatasetHistory, String> {
    let Some(store) = &opts.history else {
        return Ok(DatasetHistory::default());
    };
    let accepted = store.catalog().read_latest(&ds.name).map_err(|e| e.to_string())?;
    // Only history-based kinds need the (larger) check records.
    let baselines = if suite.checks.iter().any(|c| c.check.needs_history()) {
        store.baselines(&ds.name)
    } else {
        HashMap::new()
    };
    Ok(DatasetHistory { accepted, baselines })
}
