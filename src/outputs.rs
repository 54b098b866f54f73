//! What follows a judged run, in `check` and in every `audit` run alike: the HTML report is
//! updated, then alerts go out per policy (their outcomes recorded in the run and the history),
//! each email's HTML part being the report's summary with a link to the run's page. One function,
//! so a scheduled run and a manual one can never differ in what they deliver.

use std::path::Path;

use crate::alerts::policy::{Digest, DigestKind};
use crate::alerts::render;
use crate::config::Project;
use crate::report::summary::{Part, Site, Summary, summary_html};
use crate::results::{RunResult, Status};
use crate::suite::Suite;

/// Where the report goes (when one is written) and the templates that replace the built-in ones
/// (for the report's pages and the alert emails' HTML part alike).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportTarget<'a> {
    pub dir: Option<&'a Path>,
    pub templates: Option<&'a Path>,
}

/// The lineage job of a dataset: its zone, name and absolute location.
fn job_of(project: &Project, suites: &[Suite], dataset: &str) -> Option<crate::lineage::Job> {
    let s = suites.iter().find(|s| s.dataset.name.get_ref() == dataset)?;
    let zone = s.dataset.zone.get_ref();
    let dir = project.zone_dir(zone)?.join(s.dataset.path.get_ref());
    Some(crate::lineage::Job {
        dataset: dataset.to_string(),
        zone: zone.clone(),
        // An object's location (`s3://…`) is already absolute.
        location: if crate::paths::is_remote(&dir) {
            dir.to_string_lossy().into_owned()
        } else {
            std::path::absolute(&dir).unwrap_or(dir).to_string_lossy().into_owned()
        },
    })
}

/// Before a run: the START events of the datasets it will check (`datasets`; empty: every suite's),
/// under the run's id. Returns what became of them, for the run's result.
pub(crate) fn lineage_start(
    project: &Project,
    suites: &[Suite],
    datasets: &[String],
    run_id: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::results::LineageOutcome> {
    let Some(cfg) = &project.lineage else {
        return Vec::new();
    };
    let events: Vec<serde_json::Value> = suites
        .iter()
        .map(|s| s.dataset.name.get_ref())
        .filter(|n| datasets.is_empty() || datasets.contains(n))
        .filter_map(|n| job_of(project, suites, n))
        .map(|job| crate::lineage::start_event(cfg, run_id, started, &job))
        .collect();
    crate::lineage::emit(project, &events)
}

/// When a run stops on configuration problems after its START events: their FAIL events, with the
/// problems as the error message.
pub(crate) fn lineage_abort(
    project: &Project,
    suites: &[Suite],
    datasets: &[String],
    run_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    problems: &[crate::diag::Diagnostic],
) {
    let Some(cfg) = &project.lineage else {
        return;
    };
    let why = problems
        .iter()
        .map(crate::diag::Diagnostic::render)
        .collect::<Vec<_>>()
        .join("\n");
    let events: Vec<serde_json::Value> = suites
        .iter()
        .map(|s| s.dataset.name.get_ref())
        .filter(|n| datasets.is_empty() || datasets.contains(n))
        .filter_map(|n| job_of(project, suites, n))
        .map(|job| crate::lineage::abort_event(cfg, run_id, at, &job, &why))
        .collect();
    crate::lineage::emit(project, &events);
}

/// Writes the run's report pages, emits its lineage events, then sends its alerts (unless `alerts`
/// is false), so an alert can point at the run's page. A report that cannot be written is the error, returned once the alerts
/// went out (the run itself stands; its history is already recorded).
pub(crate) async fn deliver(
    project: &Project,
    suites: &[Suite],
    run: &mut RunResult,
    history: Option<&crate::history::Store>,
    alerts: bool,
    report: ReportTarget<'_>,
) -> Result<(), String> {
    let templates = report.templates;
    let written = report.dir.map(|dir| {
        crate::report::write_run(dir, templates, run, history, project.report_keep_runs)
            .map(|pages| tracing::info!(dir = %dir.display(), pages = pages.len(), "Wrote the HTML report."))
            .map_err(|e| e.to_string())
    });
    if let Some(cfg) = &project.lineage {
        let events: Vec<serde_json::Value> = run
            .datasets
            .iter()
            .filter_map(|d| {
                Some(crate::lineage::end_event(
                    cfg,
                    run,
                    d,
                    &job_of(project, suites, &d.name)?,
                ))
            })
            .collect();
        let sent = crate::lineage::emit(project, &events);
        run.lineage.extend(sent);
    }
    if alerts {
        let site_dir = report
            .dir
            .filter(|_| matches!(written, Some(Ok(()))))
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
        let site = Site {
            written: site_dir.as_deref(),
            base_url: project.report_base_url.as_deref(),
        };
        let html = |d: &Digest<'_>, r: &RunResult| email_html(d, r, templates, site);
        crate::alerts::deliver_and_record(project, suites, run, history, &html).await;
    }
    written.unwrap_or(Ok(()))
}

/// The HTML part of an alert email: the report's summary of the digest (`report::summary`, from the
/// `summary.html` template or its replacement in `templates`), with a link to each dataset's run
/// page when this run wrote the report. Joined here because `alerts` and `report` share a layer
/// and import neither each other.
pub(crate) fn email_html(
    d: &Digest<'_>,
    run: &RunResult,
    templates: Option<&Path>,
    site: Site<'_>,
) -> Result<String, String> {
    let status = match d.kind {
        DigestKind::Firing => d
            .datasets
            .iter()
            .map(|a| a.dataset.status)
            .max()
            .unwrap_or(Status::Pass),
        DigestKind::Resolved | DigestKind::Passing => Status::Pass,
    };
    let summary = Summary {
        run,
        status,
        // The subject without `[lakegate]` and the status word, which the badge shows.
        headline: render::subject(d)
            .trim_start_matches("[lakegate] ")
            .split_once(' ')
            .map_or_else(String::new, |(_, rest)| rest.to_string()),
        datasets: d
            .datasets
            .iter()
            .map(|a| Part {
                dataset: a.dataset,
                checks: a.checks.clone(),
                since: &a.since,
            })
            .collect(),
        full: render::FULL,
        listed: render::LISTED,
        site,
    };
    summary_html(&summary, templates).map_err(|e| e.to_string())
}
