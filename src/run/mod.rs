//! A run: suites loaded, datasets opened and planned ([`prepare`]), then each dataset measured by
//! the engine, judged by its checks and sampled ([`dataset`], [`judge`]), and one [`RunResult`]
//! assembled and recorded in the history store. Shared by `check`, `validate`, `schema` and
//! `promote` (and later `audit`).
//!
//! Every configuration problem is found before any row is read: suites are parsed, then every
//! dataset is opened (metadata only) and every check planned against its schema; only when all of
//! that is clean does a scan start. The run owns the clock (`now`) and the history (baselines,
//! accepted schemas); the engine sees neither.

mod dataset;
pub(crate) mod judge;
pub(crate) mod prepare;

use std::collections::HashMap;
use std::path::PathBuf;

use futures::StreamExt;

pub(crate) use judge::missing_columns;
pub(crate) use prepare::{Prepared, load_suites, prepare};

use crate::clock::Clock;
use crate::config::Project;
use crate::diag::Diagnostic;
use crate::results::{DatasetResult, RunResult, Status};
use crate::suite::Suite;

/// What a run asks for.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// Datasets to check (empty: all).
    pub datasets: Vec<String>,
    pub clock: Clock,
    pub command: String,
    /// Check exactly these files for one dataset instead of listing its path.
    pub files: Option<(String, Vec<PathBuf>)>,
    /// The history store to read baselines and accepted schemas from and to record the run in.
    pub history: Option<crate::history::Store>,
    /// Whether to record the run in the history store (a dry run reads baselines, writes nothing).
    pub record: bool,
    /// The run's id instead of a fresh UUIDv7 (hidden `--run-id`, for reproducible reports in tests).
    pub run_id: Option<String>,
    /// Measure only the files that are new or changed since the stored state (needs `history`).
    pub incremental: bool,
}

/// A run that happened, or the configuration problems that stopped it.
#[derive(Debug)]
// One value per run, moved a few times: boxing the result would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    Config(Vec<Diagnostic>),
    Ran(RunResult),
}

/// Runs the checks of the selected datasets.
pub(crate) async fn check(project: &Project, suites: &[Suite], opts: &RunOptions) -> Outcome {
    let started_at = opts.clock.wall();
    match prepare(project, suites, opts).await {
        Ok(p) => Outcome::Ran(execute(project, &p, opts, started_at).await),
        Err(d) => Outcome::Config(d),
    }
}

/// Runs prepared datasets (as many at once as `[engine] concurrency`) and assembles the run's
/// result.
pub(crate) async fn execute(
    project: &Project,
    prepared: &Prepared<'_>,
    opts: &RunOptions,
    started_at: chrono::DateTime<chrono::Utc>,
) -> RunResult {
    let now = if opts.clock.is_fixed() {
        opts.clock.now()
    } else {
        started_at
    };
    let progress = crate::progress::Progress::start(prepared.selected.len(), "checking");
    let jobs = prepared
        .selected
        .iter()
        .zip(&prepared.opened)
        .zip(&prepared.plans)
        .zip(&prepared.states)
        .map(|(((suite, open), plan), state)| async {
            let prior = state.lock().ok().and_then(|mut s| s.take());
            let d = dataset::run(project, &prepared.engine, suite, (open, plan, prior), opts, now).await;
            progress.dataset_done(d.rows.unwrap_or(0));
            d
        });
    let datasets: Vec<DatasetResult> = futures::stream::iter(jobs)
        .buffered(project.engine.concurrency.max(1))
        .collect()
        .await;
    drop(progress);
    let mut run = RunResult {
        lakegate: env!("CARGO_PKG_VERSION"),
        format_version: crate::results::FORMAT_VERSION,
        run_id: opts.run_id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        command: opts.command.clone(),
        started_at,
        finished_at: opts.clock.wall(),
        now,
        status: Status::Pass,
        summary: crate::results::Summary::default(),
        datasets,
        alerts: Vec::new(),
        lineage: Vec::new(),
    };
    run.finalize();
    if let Some(store) = opts.history.as_ref().filter(|_| opts.record) {
        record(store, &run, prepared);
    }
    run
}

/// Records a run in the history store; a dataset's first recorded run accepts its schema as
/// version 1. A failure to write is logged loudly but does not change the run's outcome.
fn record(store: &crate::history::Store, run: &RunResult, prepared: &Prepared<'_>) {
    let catalog = store.catalog();
    let mut versions = HashMap::new();
    for ds in prepared.opened.iter().flatten() {
        if !run.datasets.iter().any(|d| d.name == ds.name && d.error.is_none()) || ds.is_empty() {
            continue;
        }
        let version = match catalog.read_latest(&ds.name) {
            Err(e) => Err(e),
            Ok(Some(v)) => Ok(v.version),
            Ok(None) => catalog
                .accept(
                    &ds.name,
                    crate::history::catalog::columns_of(&ds.schema),
                    "first run",
                    Some(run.run_id.clone()),
                    run.started_at,
                )
                .map(|(v, _)| v),
        };
        match version {
            Ok(v) => {
                versions.insert(ds.name.clone(), v);
            }
            Err(e) => tracing::error!(dataset = %ds.name, error = %e, "Could not record the accepted schema."),
        }
    }
    if let Err(e) = store.append(run, &versions) {
        tracing::error!(dir = %store.dir.display(), error = %e, "Could not record this run in the history store.");
    }
}
