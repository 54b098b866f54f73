//! `lakegate audit`: every suite on its schedule. [`once`] runs the selected suites one time (what
//! cron, systemd timers and Airflow call); [`daemon`] keeps each suite on its own cron schedule until
//! SIGTERM or Ctrl-C; [`status`] says what ran and what is due, from the history store.
//!
//! A scheduled run is a `check` run of one dataset — the same run, alerts and report
//! ([`crate::outputs`]) — so a suite behaves the same on a schedule and by hand.

pub(crate) mod daemon;
mod state;
pub(crate) mod status;

use std::path::PathBuf;

use crate::config::Project;
use crate::diag::{Diagnostic, Diags};
use crate::schedule::{Schedule, ScheduleError};
use crate::suite::Suite;

pub(crate) use state::StateDir;

/// Which suites an audit runs, and how.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// Only these datasets (empty: all).
    pub datasets: Vec<String>,
    /// Only the datasets of this zone.
    pub zone: Option<String>,
}

impl Selection {
    /// The names of the selected suites' datasets, in suite order; an error names what matched none.
    pub(crate) fn names(&self, suites: &[Suite]) -> Result<Vec<String>, String> {
        let all: Vec<&Suite> = suites
            .iter()
            .filter(|s| self.zone.as_ref().is_none_or(|z| s.dataset.zone.get_ref() == z))
            .collect();
        if let Some(z) = &self.zone
            && all.is_empty()
        {
            return Err(format!("no suite checks a dataset in zone `{z}`"));
        }
        if self.datasets.is_empty() {
            return Ok(all.iter().map(|s| s.dataset.name.get_ref().clone()).collect());
        }
        let mut out = Vec::new();
        for d in &self.datasets {
            if !all.iter().any(|s| s.dataset.name.get_ref() == d) {
                let names: Vec<&str> = all.iter().map(|s| s.dataset.name.get_ref().as_str()).collect();
                return Err(format!(
                    "no suite checks a dataset named `{d}`{}; the selected suites check: {}",
                    self.zone
                        .as_ref()
                        .map(|z| format!(" in zone `{z}`"))
                        .unwrap_or_default(),
                    names.join(", ")
                ));
            }
            out.push(d.clone());
        }
        Ok(out)
    }
}

/// Where a suite's schedule comes from: its own `schedule`/`timezone`, else `--schedule` /
/// `--timezone`, else `[audit]`. `None` when nothing schedules it.
pub(crate) fn schedule_of(
    suite: &Suite,
    project: &Project,
    schedule: Option<&str>,
    timezone: Option<&str>,
) -> Option<Result<Schedule, ScheduleError>> {
    let expr = suite
        .dataset
        .schedule
        .as_deref()
        .or(schedule)
        .or(project.audit.schedule.as_deref())?;
    let tz = suite
        .dataset
        .timezone
        .as_deref()
        .or(timezone)
        .or(project.audit.timezone.as_deref());
    Some(Schedule::parse(expr, tz))
}

/// Reads the project and its suites from disk (each audit run reads them afresh, so an edited
/// suite is picked up without a restart); the diagnostics when they are not valid.
pub(crate) fn load(
    config: &std::path::Path,
    memory_limit: Option<u64>,
) -> Result<(Project, Vec<Suite>), Vec<Diagnostic>> {
    let diags = Diags::default();
    let Some(mut project) = crate::config::load(config, &diags) else {
        return Err(diags.into_vec());
    };
    if let Some(m) = memory_limit {
        project.engine.memory_limit = m;
    }
    let suites = crate::run::load_suites(&project, &diags);
    if diags.is_empty() {
        Ok((project, suites))
    } else {
        Err(diags.into_vec())
    }
}

/// What `audit --once` and the daemon share: the history, alerts and report switches.
#[derive(Debug, Clone)]
pub(crate) struct Outputs {
    /// Record runs in the history store (off with `--no-history`).
    pub history: bool,
    pub alerts: bool,
    /// `--report DIR`, else `[report] dir`.
    pub report_dir: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    /// `--full`: read every file even where audits are incremental.
    pub full: bool,
}

impl Outputs {
    fn store(&self, project: &Project) -> Option<crate::history::Store> {
        self.history.then(|| crate::history::Store {
            dir: project.history_dir.clone(),
        })
    }

    fn report<'a>(&'a self, project: &'a Project) -> crate::outputs::ReportTarget<'a> {
        crate::outputs::ReportTarget {
            dir: self.report_dir.as_deref().or(project.report_dir.as_deref()),
            templates: self.templates.as_deref().or(project.report_templates.as_deref()),
        }
    }
}

/// The result of `audit --once`.
#[derive(Debug)]
// One value per run, moved a few times: boxing the result would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Once {
    Ran(crate::results::RunResult),
    Config(Vec<Diagnostic>),
    /// Nothing could run (every selected dataset is being audited by another process, or a report
    /// could not be written).
    Failed(String),
}

/// Runs the selected suites once, `jobs` datasets at a time, with history, alerts and report.
/// A dataset another process is auditing right now is skipped with a warning.
pub(crate) async fn once(
    project: &Project,
    suites: &[Suite],
    names: Vec<String>,
    jobs: usize,
    clock: crate::clock::Clock,
    outputs: &Outputs,
) -> Once {
    let locks_dir = StateDir::new(&project.history_dir);
    let mut locks = Vec::new();
    let mut selected = Vec::new();
    for name in names {
        match locks_dir.try_lock(&name) {
            Ok(Some(l)) => {
                locks.push(l);
                selected.push(name);
            }
            Ok(None) => tracing::warn!(dataset = %name, "Skipped: another lakegate audit is running this suite now."),
            Err(e) => {
                tracing::warn!(dataset = %name, error = %e, "Cannot take the audit lock; running without it.");
                selected.push(name);
            }
        }
    }
    if selected.is_empty() {
        return Once::Failed("every selected suite is being audited by another process right now".into());
    }
    let mut project = project.clone();
    project.engine.concurrency = jobs.max(1);
    let done = run_and_deliver(&project, suites, selected, clock, outputs).await;
    drop(locks);
    done
}

/// One audit run of `datasets` (recorded as command `audit`), then its report and alerts.
pub(crate) async fn run_and_deliver(
    project: &Project,
    suites: &[Suite],
    datasets: Vec<String>,
    clock: crate::clock::Clock,
    outputs: &Outputs,
) -> Once {
    let store = outputs.store(project);
    let run_id = uuid::Uuid::now_v7().to_string();
    let started = crate::outputs::lineage_start(project, suites, &datasets, &run_id, clock.wall());
    let opts = crate::run::RunOptions {
        datasets: datasets.clone(),
        clock,
        command: "audit".into(),
        files: None,
        history: store.clone(),
        record: true,
        run_id: Some(run_id),
        // Audits re-check growing datasets: incremental unless `[engine] incremental = false`.
        incremental: !outputs.full && project.engine.incremental.unwrap_or(true),
    };
    let mut run = match crate::run::check(project, suites, &opts).await {
        crate::run::Outcome::Config(d) => {
            crate::outputs::lineage_abort(
                project,
                suites,
                &datasets,
                &opts.run_id.clone().unwrap_or_default(),
                clock.wall(),
                &d,
            );
            return Once::Config(d);
        }
        crate::run::Outcome::Ran(r) => r,
    };
    run.lineage = started;
    match crate::outputs::deliver(
        project,
        suites,
        &mut run,
        store.as_ref(),
        outputs.alerts,
        outputs.report(project),
    )
    .await
    {
        Ok(()) => Once::Ran(run),
        Err(e) => Once::Failed(e),
    }
}
