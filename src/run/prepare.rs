//! Before any row is read: every suite the project names loaded, the datasets a run needs selected
//! (with those their checks reference), opened (metadata only) and planned. Every configuration
//! problem is collected here and stops the run with all of them.

use std::collections::HashMap;

use datafusion::arrow::datatypes::SchemaRef;
use futures::StreamExt;

use super::RunOptions;
use crate::config::Project;
use crate::diag::{Code, Diagnostic, Diags, backticked, did_you_mean, display_path};
use crate::engine::incremental::State;
use crate::engine::{DatasetError, Engine, OpenDataset, PlannedCheck};
use crate::paths::glob_files;
use crate::suite::{self, Suite};

/// Reads every suite the project names. Problems are collected.
pub(crate) fn load_suites(project: &Project, diags: &Diags) -> Vec<Suite> {
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
            .help("set `suites = [\"checks/*.toml\"]` at the top of lakegate.toml to where your suites are, or start a suite with `lakegate suggest PATH --write`"),
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
pub(crate) struct Prepared<'a> {
    pub engine: Engine,
    pub selected: Vec<&'a Suite>,
    pub opened: Vec<Result<OpenDataset, DatasetError>>,
    pub plans: Vec<Vec<PlannedCheck>>,
    /// Per selected dataset, in an incremental run: its stored state as read (`Err`: why it cannot
    /// be used), taken by the dataset's measurement.
    pub states: Vec<std::sync::Mutex<Option<Result<Option<State>, String>>>>,
}

/// Opens every needed dataset and plans every selected suite. Configuration problems come back as
/// diagnostics; unreadable datasets are kept as errors for the result.
pub(crate) async fn prepare<'a>(
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
    // Incremental runs read each selected dataset's state first: unchanged files keep their schemas.
    let states: Vec<Option<Result<Option<State>, String>>> = selected
        .iter()
        .map(|s| {
            let store = opts
                .history
                .as_ref()
                .filter(|_| opts.incremental && opts.files.is_none())?;
            Some(store.incremental().load(s.dataset.name.get_ref()))
        })
        .collect();
    let opened: Vec<Result<OpenDataset, DatasetError>> = futures::stream::iter(all.iter().enumerate().map(|(i, s)| {
        let known = states
            .get(i)
            .and_then(|st| st.as_ref())
            .and_then(|st| st.as_ref().ok())
            .and_then(Option::as_ref);
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
            engine.open(s, &project.lake_root, &zone_dir, files, known).await
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
        states: states.into_iter().map(std::sync::Mutex::new).collect(),
    })
}
