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

pub(crate) mod summary;
mod trend;
mod view;

use std::path::{Path, PathBuf};

use crate::fs_atomic;
use crate::history::{RunRecord, Store};
use crate::results::RunResult;

/// The templates, by name, as built into the binary (`reports/`).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../reports/base.html")),
    ("check.html", include_str!("../../reports/check.html")),
    ("index.html", include_str!("../../reports/index.html")),
    ("run.html", include_str!("../../reports/run.html")),
    ("style.css", include_str!("../../reports/style.css")),
    ("summary.html", include_str!("../../reports/summary.html")),
];

/// Runs listed on one index page.
const RUNS_PER_PAGE: usize = 50;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error("cannot read the report template {}: {error}", path.display())]
    ReadTemplate { path: PathBuf, error: std::io::Error },
    #[error("the report template {name} is not valid: {error}")]
    Template { name: String, error: String },
    #[error("cannot write the report page {}: {error}", path.display())]
    Write { path: PathBuf, error: std::io::Error },
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

fn write(dir: &Path, rel: &str, html: &str) -> Result<(), ReportError> {
    let path = dir.join(rel);
    fs_atomic::write_atomic(&path, html.as_bytes()).map_err(|error| ReportError::Write { path, error })
}

/// Writes the pages of `run` into the site at `dir`, then rewrites its index from the history
/// store (`history`) and this run; returns the pages written, relative to `dir`.
pub(crate) fn write_run(
    dir: &Path,
    templates: Option<&Path>,
    run: &RunResult,
    history: Option<&Store>,
) -> Result<Vec<String>, ReportError> {
    let t = tera(templates)?;
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut written = Vec::new();
    for d in &run.datasets {
        let records = history.map(|h| h.checks(&d.name)).unwrap_or_default();
        let badges = trend::badges(d, &run.run_id, &records);
        let rel = view::run_page(&run.run_id, &d.name);
        let html = render(&t, "run.html", &view::run_context(run, d, badges, history.is_some()))?;
        write(dir, &rel, &html)?;
        written.push(rel);
        if history.is_some() {
            for c in &d.checks {
                let rel = trend::check_page(&d.name, &c.id);
                let cx = trend::check_context(&d.name, &c.id, &records, |p| dir.join(p).is_file());
                write(dir, &rel, &render(&t, "check.html", &cx)?)?;
                written.push(rel);
            }
        }
    }
    let mut records: Vec<RunRecord> = history.map(Store::all_runs).unwrap_or_default();
    for d in &run.datasets {
        if !records.iter().any(|r| r.run_id == run.run_id && r.dataset == d.name) {
            records.push(crate::history::run_record(run, d, None));
        }
    }
    written.extend(write_index(dir, &t, &records)?);
    Ok(written)
}

/// Rebuilds the site at `dir` from the history store alone: the index and every check's trend page.
/// Run pages are kept as `check --report` wrote them (they need the run's full result).
pub(crate) fn rebuild(dir: &Path, templates: Option<&Path>, history: &Store) -> Result<Vec<String>, ReportError> {
    let t = tera(templates)?;
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let records = history.all_runs();
    let mut datasets: Vec<&str> = records.iter().map(|r| r.dataset.as_str()).collect();
    datasets.sort_unstable();
    datasets.dedup();
    let mut written = Vec::new();
    for dataset in datasets {
        let checks = history.checks(dataset);
        let mut ids: Vec<&str> = checks.iter().map(|c| c.check_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let rel = trend::check_page(dataset, id);
            let cx = trend::check_context(dataset, id, &checks, |p| dir.join(p).is_file());
            write(dir, &rel, &render(&t, "check.html", &cx)?)?;
            written.push(rel);
        }
    }
    written.extend(write_index(dir, &t, &records)?);
    Ok(written)
}

/// Writes the index pages (`index.html`, `index-2.html`, …) for `records`; a run links to its page
/// when the site has it.
fn write_index(dir: &Path, t: &tera::Tera, records: &[RunRecord]) -> Result<Vec<String>, ReportError> {
    let index = view::Index::new(records, |rel| dir.join(rel).is_file());
    let pages = index.page_count(RUNS_PER_PAGE);
    let mut written = Vec::new();
    for page in 1..=pages {
        let rel = view::index_page(page);
        let html = render(t, "index.html", &index.context(page, RUNS_PER_PAGE))?;
        write(dir, &rel, &html)?;
        written.push(rel);
    }
    Ok(written)
}
