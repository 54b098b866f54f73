//! What follows a judged run, in `check` and in every `audit` run alike: alerts go out per policy
//! (their outcomes recorded in the run and the history), then the HTML report is updated. One
//! function, so a scheduled run and a manual one can never differ in what they deliver.

use std::path::Path;

use crate::config::Project;
use crate::results::RunResult;
use crate::suite::Suite;

/// Where the report goes, when one is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportTarget<'a> {
    pub dir: &'a Path,
    pub templates: Option<&'a Path>,
}

/// Sends the run's alerts (unless `alerts` is false) and writes its report pages. A report that
/// cannot be written is the error (the run itself stands; its history is already recorded).
pub(crate) async fn deliver(
    project: &Project,
    suites: &[Suite],
    run: &mut RunResult,
    history: Option<&crate::history::Store>,
    alerts: bool,
    report: Option<ReportTarget<'_>>,
) -> Result<(), String> {
    if alerts {
        crate::alerts::deliver_and_record(project, suites, run, history).await;
    }
    if let Some(r) = report {
        let pages = crate::report::write_run(r.dir, r.templates, run, history).map_err(|e| e.to_string())?;
        tracing::info!(dir = %r.dir.display(), pages = pages.len(), "Wrote the HTML report.");
    }
    Ok(())
}
