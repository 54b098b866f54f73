//! The HTML report: a static site of runs, rendered from the result model and the history store,
//! never from data (this module imports no `engine` and runs no query; `tests/it/layers.rs` keeps
//! it so).
//!
//! The site is `index.html` (every dataset's latest status, then the runs newest first, paged),
//! `runs/RUN/DATASET.html` (a run of one dataset: its step table, failures first, with badges from
//! the history, and the failing-row sample of each failed check) and `checks/DATASET/CHECK.html` (a
//! check's trend over its last runs). docs/report.md describes it for users. Pages are Tera templates from `reports/`, embedded in
//! the binary and replaceable file by file with `--templates DIR`. Autoescaping is on for every
//! template and nothing is ever marked safe, so a value from data, a column name or a suite string
//! is text, never markup. Styles are inline and nothing is fetched from a network, so a page opened
//! from `file://` on a machine without network looks complete. A page depends on the results and
//! the history alone (no wall-clock time beyond the runs' own timestamps), so the same history
//! renders the same bytes.

mod state;
pub(crate) mod summary;
mod trend;
mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use std::path::{Path, PathBuf};

use state::{Model, RUNS_PER_PAGE, RunEntry};

use crate::fs_atomic;
use crate::history::{self, Store};
use crate::results::{DatasetResult, RunResult};

/// The templates, by name, as built into the binary (`reports/`).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../reports/base.html")),
    ("check.html", include_str!("../../reports/check.html")),
    ("index.html", include_str!("../../reports/index.html")),
    ("run.html", include_str!("../../reports/run.html")),
    ("runs.html", include_str!("../../reports/runs.html")),
    ("style.css", include_str!("../../reports/style.css")),
    ("summary.html", include_str!("../../reports/summary.html")),
];

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error("cannot read the report template {}: {error}", path.display())]
    ReadTemplate { path: PathBuf, error: std::io::Error },
    #[error("the report template {name} is not valid: {error}")]
    Template { name: String, error: String },
    #[error("cannot write the report file {}: {error}", path.display())]
    Write { path: PathBuf, error: std::io::Error },
    #[error("cannot remove the report page {} (beyond `[report] keep_runs`): {error}", path.display())]
    Remove { path: PathBuf, error: std::io::Error },
}

/// The Tera environment: the built-in templates, each replaced by `DIR/NAME` when `templates` has it.
fn tera(templates: Option<&Path>) -> Result<tera::Tera, ReportError> {
    let mut t = tera::Tera::new();
    // Escape in every template (the CSS holds no variables); never configurable.
    t.autoescape_on([".html", ".css"]);
    let mut sources = Vec::new();
    for (name, builtin) in TEMPLATES {
        let text = match templates.map(|d| d.join(name)).filter(|p| p.is_file()) {
            Some(path) => std::fs::read_to_string(&path).map_err(|error| ReportError::ReadTemplate { path, error })?,
            None => (*builtin).to_string(),
        };
        sources.push((*name, text));
    }
    t.add_raw_templates(sources).map_err(|e| ReportError::Template {
        name: "reports/".into(),
        error: format_tera_error(&e),
    })?;
    Ok(t)
}

/// Tera's error with its causes (the template, the line, what was wrong).
fn format_tera_error(e: &tera::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

fn render(t: &tera::Tera, name: &str, context: &tera::Context) -> Result<String, ReportError> {
    t.render(name, context).map_err(|e| ReportError::Template {
        name: name.into(),
        error: format_tera_error(&e),
    })
}

/// Writes pages and state files into the site, skipping a file whose bytes are already there (so an
/// update changes only what changed, mtimes included), and removes pages retention gave up.
struct Writer<'a> {
    dir: &'a Path,
    /// Pages written (relative to the site), in order.
    written: Vec<String>,
}

impl Writer<'_> {
    /// Writes `bytes` at `rel` unless the file already holds them; whether it wrote.
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<bool, ReportError> {
        let path = self.dir.join(rel);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        fs_atomic::write_atomic(&path, bytes).map_err(|error| ReportError::Write { path, error })?;
        Ok(true)
    }

    fn page(&mut self, t: &tera::Tera, template: &str, rel: &str, cx: &tera::Context) -> Result<(), ReportError> {
        if self.put(rel, render(t, template, cx)?.as_bytes())? {
            self.written.push(rel.to_string());
        }
        Ok(())
    }

    fn state<T: serde::Serialize>(&self, rel: &str, v: &T) -> Result<(), ReportError> {
        self.put(rel, &state::to_bytes(v)).map(drop)
    }

    /// Removes a file when it exists.
    fn remove(&self, rel: &str) -> Result<(), ReportError> {
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Ok(());
        }
        fs_atomic::remove_file(&path).map_err(|error| ReportError::Remove { path, error })
    }

    /// Removes a run's page, and the run's directory once it holds no other dataset's page.
    fn remove_run_page(&self, run_id: &str, dataset: &str) -> Result<(), ReportError> {
        let rel = view::run_page(run_id, dataset);
        self.remove(&rel)?;
        let parent = self.dir.join(&rel).parent().map(Path::to_path_buf);
        if let Some(parent) = parent {
            fs_atomic::remove_empty_dir(&parent).map_err(|error| ReportError::Remove { path: parent, error })?;
        }
        Ok(())
    }

    fn has(&self, rel: &str) -> bool {
        self.dir.join(rel).is_file()
    }
}

/// Writes the page of `run`'s dataset `d`; `before` are its checks' trends before the run (for
/// badges), `trends` whether the site has trend pages to link.
fn write_run_page(
    t: &tera::Tera,
    w: &mut Writer<'_>,
    run: &RunResult,
    d: &DatasetResult,
    before: &BTreeMap<String, state::Trend>,
    trends: bool,
) -> Result<(), ReportError> {
    let badges = trend::badges(d, before);
    let cx = view::run_context(run, d, badges, trends);
    w.page(t, "run.html", &view::run_page(&run.run_id, &d.name), &cx)
}

/// Writes the trend page of every check of `dataset` (`detail`'s checks); a run is linked when
/// retention keeps its page and the site has it.
fn write_trends(t: &tera::Tera, w: &mut Writer<'_>, dataset: &str, detail: &state::Detail) -> Result<(), ReportError> {
    let kept: HashSet<&str> = detail.kept.iter().map(|(_, id)| id.as_str()).collect();
    for (id, tr) in &detail.checks {
        let cx = trend::check_context(dataset, id, &tr.records, |run_id| {
            let rel = view::run_page(run_id, dataset);
            (kept.contains(run_id) && w.has(&rel)).then_some(rel)
        });
        w.page(t, "check.html", &trend::check_page(dataset, id), &cx)?;
    }
    Ok(())
}

/// Writes the pages of `run` into the site at `dir` and updates the rest of the site from the
/// history store (`history`); returns the pages written, relative to `dir`. When the site's state
/// covers the history, the update reads the run's own records and a few state files and writes
/// the run's pages, its datasets' trend pages, the index, and an archive page when one fills up
/// or retention drops a link from it; otherwise it rebuilds the site from the history. Without a
/// history (`--no-history`) only the run's pages are written (and an index, when the site has
/// none), since the rest of the site shows the history, which this run does not enter.
pub(crate) fn write_run(
    dir: &Path,
    templates: Option<&Path>,
    run: &RunResult,
    history: Option<&Store>,
    keep_runs: usize,
) -> Result<Vec<String>, ReportError> {
    let t = tera(templates)?;
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut w = Writer {
        dir,
        written: Vec::new(),
    };
    let Some(store) = history else {
        unrecorded(&t, &mut w, run, keep_runs)?;
        return Ok(w.written);
    };
    let files = store.run_files();
    if let Some(update) = state::Update::load(dir, store, &files, run, keep_runs) {
        tracing::debug!(dir = %dir.display(), "Updating the report from its state and the run's own records.");
        apply(&t, &mut w, run, &update)?;
    } else {
        tracing::debug!(dir = %dir.display(), "Rebuilding the report's index and trend pages from the history.");
        let model = Model::from_history(store, &files, keep_runs);
        for d in &run.datasets {
            write_run_page(&t, &mut w, run, d, &model.trends_before(&d.name, &run.run_id), true)?;
        }
        write_model(&t, &mut w, &model)?;
    }
    Ok(w.written)
}

/// A run without history: its pages, without badges or trend links, and an index of this run
/// alone when the site has none yet (so the pages are reachable). No state is written: the next
/// recorded run rebuilds the index from the history, which does not have this run.
fn unrecorded(t: &tera::Tera, w: &mut Writer<'_>, run: &RunResult, keep_runs: usize) -> Result<(), ReportError> {
    for d in &run.datasets {
        write_run_page(t, w, run, d, &BTreeMap::new(), false)?;
    }
    if !w.has("index.html") {
        let records = run
            .datasets
            .iter()
            .map(|d| (history::run_record(run, d, None), history::check_records(run, d)))
            .collect();
        let model = Model::from_records(records, digest_of_nothing(), keep_runs);
        let links = view::Links {
            state: &model.state,
            has_page: &|rel: &str| w.has(rel),
        };
        let cx = view::index_context(&links, &model.entries);
        w.page(t, "index.html", "index.html", &cx)?;
    }
    Ok(())
}

/// The digest of an empty listing (an index of an unrecorded run writes no state, so it is unused).
fn digest_of_nothing() -> String {
    String::new()
}

/// Renders and writes what an incremental update changed, then removes the pages retention gave
/// up (nothing links them any more), then writes the state (`site.json` last).
fn apply(t: &tera::Tera, w: &mut Writer<'_>, run: &RunResult, u: &state::Update) -> Result<(), ReportError> {
    for d in &run.datasets {
        let before = u.before.get(&d.name).cloned().unwrap_or_default();
        write_run_page(t, w, run, d, &before, true)?;
    }
    for (dataset, detail) in &u.details {
        write_trends(t, w, dataset, detail)?;
    }
    let full = u.state.runs / RUNS_PER_PAGE;
    let mut archives = BTreeSet::new();
    if u.state.runs.is_multiple_of(RUNS_PER_PAGE) {
        // The run filled its chunk: its archive page appears, and the one before links to it.
        archives.insert(u.chunk);
        archives.extend(u.chunk.checked_sub(1));
    }
    archives.extend(u.pruned.iter().map(|p| p.1 / RUNS_PER_PAGE).filter(|c| *c < full));
    let has_page = |rel: &str| w.has(rel);
    let links = view::Links {
        state: &u.state,
        has_page: &has_page,
    };
    let mut pages = Vec::new();
    for c in archives {
        pages.push((
            view::archive_page(c),
            "runs.html",
            view::archive_context(&links, c, &u.chunks[&c]),
        ));
    }
    let mut newest: Vec<RunEntry> = Vec::new();
    for c in u.chunk.saturating_sub(1)..=u.chunk {
        newest.extend(u.chunks.get(&c).into_iter().flatten().cloned());
    }
    let newest = &newest[newest.len().saturating_sub(RUNS_PER_PAGE)..];
    pages.push(("index.html".into(), "index.html", view::index_context(&links, newest)));
    for (rel, template, cx) in &pages {
        w.page(t, template, rel, cx)?;
    }
    for (dataset, _, run_id) in &u.pruned {
        w.remove_run_page(run_id, dataset)?;
    }
    w.state(&state::chunk_file(u.chunk), &u.chunks[&u.chunk])?;
    for (dataset, detail) in &u.details {
        w.state(&state::detail_file(dataset), detail)?;
    }
    w.state(&state::site_file(), &u.state)
}

/// Writes the whole site but the run pages from `model`: trend pages, archive pages, the index;
/// removes the pages retention gave up and archive pages the history no longer fills; writes the
/// state.
fn write_model(t: &tera::Tera, w: &mut Writer<'_>, model: &Model) -> Result<(), ReportError> {
    for (dataset, detail) in &model.details {
        write_trends(t, w, dataset, detail)?;
    }
    let full = model.state.runs / RUNS_PER_PAGE;
    let mut pages = Vec::new();
    {
        let has_page = |rel: &str| w.has(rel);
        let links = view::Links {
            state: &model.state,
            has_page: &has_page,
        };
        for c in 0..full {
            let chunk = &model.entries[c * RUNS_PER_PAGE..(c + 1) * RUNS_PER_PAGE];
            pages.push((
                view::archive_page(c),
                "runs.html",
                view::archive_context(&links, c, chunk),
            ));
        }
        let newest = &model.entries[model.entries.len().saturating_sub(RUNS_PER_PAGE)..];
        pages.push(("index.html".into(), "index.html", view::index_context(&links, newest)));
    }
    for (rel, template, cx) in &pages {
        w.page(t, template, rel, cx)?;
    }
    for (dataset, run_id) in &model.pruned {
        w.remove_run_page(run_id, dataset)?;
    }
    let mut c = full;
    while w.has(&view::archive_page(c)) {
        w.remove(&view::archive_page(c))?;
        c += 1;
    }
    let chunks = model.entries.chunks(RUNS_PER_PAGE).count();
    for (c, chunk) in model.entries.chunks(RUNS_PER_PAGE).enumerate() {
        w.state(&state::chunk_file(c), &chunk)?;
    }
    let mut c = chunks;
    while w.has(&state::chunk_file(c)) {
        w.remove(&state::chunk_file(c))?;
        c += 1;
    }
    for (dataset, detail) in &model.details {
        w.state(&state::detail_file(dataset), detail)?;
    }
    w.state(&state::site_file(), &model.state)
}

/// Rebuilds the site at `dir` from the history store alone: the index, the archive pages, every
/// check's trend page and the state, and the page of every kept run the site lacks (from the run's
/// recorded result); removes run pages beyond `keep_runs` per dataset. Run pages the site has are
/// kept as written.
pub(crate) fn rebuild(
    dir: &Path,
    templates: Option<&Path>,
    history: &Store,
    keep_runs: usize,
) -> Result<Vec<String>, ReportError> {
    let t = tera(templates)?;
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut w = Writer {
        dir,
        written: Vec::new(),
    };
    let model = Model::from_history(history, &history.run_files(), keep_runs);
    missing_run_pages(&t, &mut w, history, &model)?;
    write_model(&t, &mut w, &model)?;
    Ok(w.written)
}

/// Renders the pages of kept runs that the site does not have, from their recorded results (runs
/// recorded before results were kept have none: they stay listed without a link).
fn missing_run_pages(t: &tera::Tera, w: &mut Writer<'_>, history: &Store, model: &Model) -> Result<(), ReportError> {
    let started: HashMap<&str, chrono::DateTime<chrono::Utc>> = model
        .entries
        .iter()
        .map(|e| (e.run_id.as_str(), e.started_at))
        .collect();
    let mut results: HashMap<String, Option<RunResult>> = HashMap::new();
    for (dataset, detail) in &model.details {
        for (_, run_id) in &detail.kept {
            if w.has(&view::run_page(run_id, dataset)) {
                continue;
            }
            let Some(at) = started.get(run_id.as_str()) else {
                continue;
            };
            let run = results
                .entry(run_id.clone())
                .or_insert_with(|| history.result(run_id, *at));
            if let Some(run) = run.as_ref()
                && let Some(d) = run.datasets.iter().find(|d| &d.name == dataset)
            {
                write_run_page(t, w, run, d, &model.trends_before(dataset, run_id), true)?;
            }
        }
    }
    Ok(())
}
