//! One dataset's part of a run: its history read, its checks measured by the engine, judged here,
//! and the failed ones sampled.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::RunOptions;
use super::judge::{self, DatasetHistory};
use crate::config::Project;
use crate::diag::display_path;
use crate::engine::measure::Measurement;
use crate::engine::sample::SampleRequest;
use crate::engine::{DatasetError, Engine, OpenDataset, PlannedCheck};
use crate::results::{DatasetResult, Status};
use crate::suite::Suite;

/// Runs one dataset's planned suite and returns its part of the result.
pub(super) async fn run(
    project: &Project,
    engine: &Engine,
    suite: &Suite,
    (open, plan, prior): (&Result<OpenDataset, DatasetError>, &[PlannedCheck], Option<Prior>),
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
        incremental: None,
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
                Ok(history) => {
                    let cx = Cx {
                        engine,
                        suite,
                        ds,
                        plan,
                        opts,
                        prior: std::sync::Mutex::new(prior),
                    };
                    measure_judge_sample(&cx, now, &history, &mut result).await;
                }
            }
        }
    }
    result.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.finalize();
    result
}

/// What measuring one dataset works with.
struct Cx<'a> {
    engine: &'a Engine,
    suite: &'a Suite,
    ds: &'a OpenDataset,
    plan: &'a [PlannedCheck],
    opts: &'a RunOptions,
    /// The dataset's stored incremental state as `prepare` read it (taken once).
    prior: std::sync::Mutex<Option<Prior>>,
}

/// A stored incremental state as read: `Err` says why it cannot be used.
type Prior = Result<Option<crate::engine::incremental::State>, String>;

/// The engine's measurement: over every file, or (incremental runs with a history store) over the
/// files that are new or changed since the dataset's stored state, which is then replaced.
async fn measure<'a>(cx: &Cx<'a>, result: &mut DatasetResult) -> (Measurement<'a>, Option<Vec<Option<Vec<usize>>>>) {
    let Cx {
        engine,
        suite,
        ds,
        plan,
        opts,
        ..
    } = *cx;
    let store = opts
        .history
        .as_ref()
        .filter(|_| opts.incremental && opts.files.is_none());
    let Some(store) = store else {
        return (engine.measure(suite, ds, plan).await, None);
    };
    let states = store.incremental();
    let prior = cx
        .prior
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_else(|| states.load(&ds.name));
    let inc = engine.measure_incremental(suite, ds, plan, prior).await;
    result.incremental = Some(inc.report);
    if opts.record
        && let Some(mut state) = inc.state
        && let Err(e) = states.save(&ds.name, &mut state)
    {
        tracing::warn!(dataset = %ds.name, error = %e, "Could not store the incremental state; the next run reads every file.");
    }
    (inc.measurement, Some(inc.failing_files))
}

/// The three phases: the engine measures, the checks judge, the engine samples the failed ones.
async fn measure_judge_sample(cx: &Cx<'_>, now: DateTime<Utc>, history: &DatasetHistory, result: &mut DatasetResult) {
    let Cx {
        engine,
        suite,
        ds,
        plan,
        ..
    } = *cx;
    let (measured, failing_files) = measure(cx, result).await;
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
    let mut samples = match &failing_files {
        Some(files) => engine.samples_from(suite, ds, plan, &wanted, files).await,
        None => engine.samples(suite, ds, plan, &wanted).await,
    };
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
        result.checks.push(judge::check_result(
            suite,
            p.index,
            verdict,
            sample,
            m.from_statistics,
            m.merged,
        ));
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
