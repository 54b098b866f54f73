//! Orchestrates a run: project → suites → datasets opened → checks planned → datasets run →
//! one [`RunResult`]. Shared by `check` and `validate` (and later `promote` and `audit`).
//!
//! Every configuration problem is found before any row is read: suites are parsed, then every
//! dataset is opened (metadata only) and every check planned against its schema; only when all of
//! that is clean does a scan start.

use std::collections::HashMap;
use std::path::PathBuf;

use datafusion::arrow::datatypes::SchemaRef;
use futures::StreamExt;

use crate::clock::Clock;
use crate::config::Project;
use crate::diag::{Code, Diagnostic, Diags, backticked, did_you_mean, display_path};
use crate::engine::{DatasetError, Engine, OpenDataset, PlannedCheck};
use crate::paths::glob_files;
use crate::results::{CheckResult, DatasetResult, RunResult, SourceRef, Status};
use crate::suite::{self, Suite};

/// What a run asks for.
#[derive(Debug, Clone)]
pub struct RunOptions {
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
}

/// A run that happened, or the configuration problems that stopped it.
#[derive(Debug)]
pub enum Outcome {
    Config(Vec<Diagnostic>),
    Ran(RunResult),
}

/// Reads every suite the project names. Problems are collected.
pub fn load_suites(project: &Project, diags: &Diags) -> Vec<Suite> {
    let mut paths = Vec::new();
    for pattern in &project.suite_patterns {
        match glob_files(&project.dir, pattern, None) {
            Ok(found) => paths.extend(found),
            Err(e) => diags.push(
                Diagnostic::plain(Code::InvalidGlob, format!("suite pattern `{pattern}`: {e}")).in_file(&project.file),
            ),
        }
    }
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        diags.push(
            Diagnostic::plain(
                Code::NoSuites,
                format!(
                    "no suite files match {} (relative to {})",
                    backticked(&project.suite_patterns),
                    display_path(&project.dir)
                ),
            )
            .in_file(&project.file)
            .help("set `suites = [\"checks/*.toml\"]` at the top of lakegate.toml to where your suites are"),
        );
    }
    let suites: Vec<Suite> = paths.iter().filter_map(|p| suite::load(p, diags)).collect();

    let zones = project.zone_names();
    let mut seen: HashMap<&str, &Suite> = HashMap::new();
    for s in &suites {
        let zone = &s.dataset.zone;
        if !zones.contains(&zone.get_ref().as_str()) {
            let help = did_you_mean(zone.get_ref(), &zones, "zones:");
            diags.push(
                Diagnostic::at(
                    Code::UnknownZone,
                    &s.file,
                    zone.span(),
                    format!("zone `{}` is not defined in lakegate.toml", zone.get_ref()),
                )
                .label("unknown zone")
                .help(help),
            );
        }
        let name = s.dataset.name.get_ref().as_str();
        if let Some(first) = seen.get(name) {
            diags.push(
                Diagnostic::at(
                    Code::DuplicateDataset,
                    &s.file,
                    s.dataset.name.span(),
                    format!("dataset `{name}` is declared by two suites"),
                )
                .label("declared again")
                .help(format!(
                    "it is also declared in {}; dataset names are unique in a project",
                    display_path(&first.file.path)
                )),
            );
        } else {
            seen.insert(name, s);
        }
    }
    suites
}

/// Datasets other than its own that a suite's checks read (e.g. the target of a `reference`).
fn referenced(suite: &Suite) -> Vec<String> {
    suite.checks.iter().filter_map(|c| c.check.other_dataset()).collect()
}

/// Which suites to run, and which others must be opened because they are referenced.
fn select<'a>(suites: &'a [Suite], wanted: &[String], diags: &Diags) -> (Vec<&'a Suite>, Vec<&'a Suite>) {
    let names: Vec<&str> = suites.iter().map(|s| s.dataset.name.get_ref().as_str()).collect();
    let selected: Vec<&Suite> = if wanted.is_empty() {
        suites.iter().collect()
    } else {
        for w in wanted {
            if !names.contains(&w.as_str()) {
                let help = did_you_mean(w, &names, "datasets:");
                diags.push(
                    Diagnostic::plain(Code::UnknownDataset, format!("no suite declares a dataset named `{w}`"))
                        .help(help),
                );
            }
        }
        suites
            .iter()
            .filter(|s| wanted.contains(s.dataset.name.get_ref()))
            .collect()
    };
    let mut extra: Vec<&Suite> = Vec::new();
    for s in &selected {
        for r in referenced(s) {
            if let Some(t) = suites.iter().find(|t| *t.dataset.name.get_ref() == r)
                && !selected.iter().any(|x| std::ptr::eq(*x, t))
                && !extra.iter().any(|x| std::ptr::eq(*x, t))
            {
                extra.push(t);
            }
        }
    }
    (selected, extra)
}

/// Opened and planned datasets, ready to run.
pub struct Prepared<'a> {
    pub engine: Engine,
    pub selected: Vec<&'a Suite>,
    pub opened: Vec<Result<OpenDataset, DatasetError>>,
    pub plans: Vec<Vec<PlannedCheck>>,
}

/// Opens every needed dataset and plans every selected suite. Configuration problems come back as
/// diagnostics; unreadable datasets are kept as errors for the result.
pub async fn prepare<'a>(
    project: &Project,
    suites: &'a [Suite],
    opts: &RunOptions,
) -> Result<Prepared<'a>, Vec<Diagnostic>> {
    let diags = Diags::default();
    let (selected, extra) = select(suites, &opts.datasets, &diags);
    if !diags.is_empty() {
        return Err(diags.into_vec());
    }
    let engine = Engine::new(&project.engine).map_err(|e| {
        vec![Diagnostic::plain(
            Code::Engine,
            format!("cannot start the query engine: {e}"),
        )]
    })?;

    let all: Vec<&Suite> = selected.iter().chain(extra.iter()).copied().collect();
    let opened: Vec<Result<OpenDataset, DatasetError>> = futures::stream::iter(all.iter().map(|s| {
        // Zones were checked when the suites were loaded; an unknown one is never the working directory.
        let zone_dir = project.zone_dir(s.dataset.zone.get_ref());
        let files = opts
            .files
            .as_ref()
            .filter(|(name, _)| name == s.dataset.name.get_ref())
            .map(|(_, f)| f.clone());
        let engine = &engine;
        async move {
            let Some(zone_dir) = zone_dir else {
                return Err(DatasetError::Listing {
                    dataset: s.dataset.name.get_ref().clone(),
                    path: project.lake_root.clone(),
                    message: format!("zone `{}` is not defined in lakegate.toml", s.dataset.zone.get_ref()),
                });
            };
            engine.open(s, &project.lake_root, &zone_dir, files).await
        }
    }))
    .buffered(project.engine.concurrency.max(1))
    .collect()
    .await;

    let mut schemas: HashMap<String, SchemaRef> = HashMap::new();
    let mut unreadable = Vec::new();
    for (s, o) in all.iter().zip(&opened) {
        match o {
            Ok(ds) => {
                schemas.insert(ds.name.clone(), ds.schema.clone());
            }
            Err(_) => unreadable.push(s.dataset.name.get_ref().clone()),
        }
    }
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for (s, o) in selected.iter().zip(&opened) {
        match o {
            Ok(ds) => match engine.plan(s, ds, &schemas, &unreadable) {
                Ok(p) => plans.push(p),
                Err(d) => {
                    problems.extend(d);
                    plans.push(Vec::new());
                }
            },
            Err(_) => plans.push(Vec::new()),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let n = selected.len();
    Ok(Prepared {
        engine,
        selected,
        opened: opened.into_iter().take(n).collect(),
        plans,
    })
}

fn check_result(
    suite: &Suite,
    index: usize,
    verdict: Result<crate::checks::Verdict, String>,
    sample: Vec<serde_json::Value>,
    from_statistics: bool,
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
                (true, crate::checks::Severity::Error) => Status::Fail,
                (true, crate::checks::Severity::Warn) => Status::Warn,
            };
            (status, v)
        }
        Err(e) => (
            Status::Error,
            crate::checks::Verdict {
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
    }
}

/// Columns the suite names but the data lacks: `(column, who names it, suite line)`.
pub fn missing_columns(suite: &Suite, ds: &OpenDataset, plan: &[PlannedCheck]) -> Vec<(String, String, usize)> {
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
fn missing_columns_check(suite: &Suite, ds: &OpenDataset, plan: &[PlannedCheck]) -> Option<CheckResult> {
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
        crate::checks::count_of(n, "column", "columns"),
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
        severity: crate::checks::Severity::Error,
        status: Status::Fail,
        failing_rows: None,
        failing_fraction: None,
        #[allow(clippy::cast_precision_loss)]
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
    })
}

/// Runs the checks of the selected datasets.
pub async fn check(project: &Project, suites: &[Suite], opts: &RunOptions) -> Outcome {
    let started_at = opts.clock.wall();
    match prepare(project, suites, opts).await {
        Ok(p) => Outcome::Ran(execute(project, &p, opts, started_at).await),
        Err(d) => Outcome::Config(d),
    }
}

/// Runs prepared datasets and assembles the run's result.
pub async fn execute(
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
    let engine = &prepared.engine;
    let selected = &prepared.selected;
    let opened = prepared.opened.iter();
    let plans = prepared.plans.iter();

    let jobs = selected
        .iter()
        .zip(opened)
        .zip(plans)
        .map(|((suite, open), plan)| async move {
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
                    // A damaged catalog is a run that cannot happen (exit 3): the schema check would
                    // compare with the wrong version and the first run would accept a new one.
                    let accepted = match &opts.history {
                        Some(s) => s.catalog().read_latest(&ds.name),
                        None => Ok(None),
                    };
                    let accepted = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::error!(dataset = %result.name, "{e}");
                            result.error = Some(format!("dataset `{}`: {e}", result.name));
                            result.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
                            result.finalize();
                            return result;
                        }
                    };
                    let history = opts
                        .history
                        .as_ref()
                        .map_or_else(crate::checks::DatasetHistory::default, |s| {
                            crate::checks::DatasetHistory {
                                accepted,
                                // Only history-based kinds need the (larger) check records.
                                baselines: if suite.checks.iter().any(|c| c.check.kind() == "anomaly") {
                                    s.baselines(&ds.name)
                                } else {
                                    HashMap::new()
                                },
                            }
                        });
                    let run = engine.run(suite, ds, plan, now, &history).await;
                    result.rows = run.rows;
                    result.queries = run.queries;
                    result.sample_queries = run.sample_queries;
                    result.scanned_columns = run.scanned_columns;
                    if let Some(e) = run.error {
                        tracing::error!(dataset = %result.name, "{e}");
                        result.error = Some(format!("dataset `{}`: {e}", result.name));
                    }
                    result.checks = run
                        .checks
                        .into_iter()
                        .map(|c| check_result(suite, c.index, c.verdict, c.sample, c.from_statistics))
                        .collect();
                    // After the suite's own checks, so that results and plans stay aligned.
                    result.checks.extend(missing_columns_check(suite, ds, plan));
                }
            }
            result.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            result.finalize();
            result
        });
    let datasets: Vec<DatasetResult> = futures::stream::iter(jobs)
        .buffered(project.engine.concurrency.max(1))
        .collect()
        .await;
    let mut run = RunResult {
        lakegate: env!("CARGO_PKG_VERSION"),
        format_version: crate::results::FORMAT_VERSION,
        run_id: uuid::Uuid::now_v7().to_string(),
        command: opts.command.clone(),
        started_at,
        finished_at: opts.clock.wall(),
        now,
        status: Status::Pass,
        summary: crate::results::Summary::default(),
        datasets,
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
