//! `lakegate audit`: every suite on its schedule (a daemon), `--once` for any scheduler, and
//! `audit status`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{CmdResult, Global, OutputFormat, print_stdout};
use crate::audit::daemon::{self, DaemonOptions, Ended};
use crate::audit::{self, Once, Outputs, Selection};
use crate::exit::{self, CliError, FailOn};
use crate::results::{self, text};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    #[command(flatten)]
    pub run: AuditRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Per dataset: its schedule, last run and next due slot (read from history; works while a daemon runs).
    Status(SelectArgs),
}

/// Which suites.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only this dataset (repeatable).
    #[arg(long = "dataset", value_name = "NAME")]
    pub datasets: Vec<String>,
    /// Only the datasets of this zone.
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditRunArgs {
    /// Run the selected suites once and exit (for cron, systemd timers, Airflow); exit code as `check`.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Suites that run at the same time (default: `[audit] jobs`, else 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// The schedule of suites that name none (a cron expression; overrides `[audit] schedule`).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// The time zone of `--schedule` and of suites that name none (IANA name, e.g. Europe/Berlin).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// How long a stopping daemon waits for running suites (default: `[audit] grace`, else 60s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub grace: Option<Duration>,
    /// Write the HTML report into this directory; overrides `[report] dir`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Report templates that replace the built-in ones, file by file.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// With `--once`: what fails the run, `error` (default) or also `warn`.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Read every file in these runs (audits read only new or changed files unless
    /// `[engine] incremental = false`).
    #[arg(long)]
    pub full: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s).map_err(|e| format!("{e}; {}", crate::duration::DURATION_HELP))
}

pub async fn run(global: &Global, args: &AuditArgs) -> CmdResult {
    match &args.action {
        Some(AuditAction::Status(select)) => status(global, select),
        None if args.run.once => once(global, &args.run).await,
        None => run_daemon(global, &args.run).await,
    }
}

fn selection(select: &SelectArgs) -> Selection {
    Selection {
        datasets: select.datasets.clone(),
        zone: select.zone.clone(),
    }
}

fn outputs(global: &Global, args: &AuditRunArgs) -> Outputs {
    Outputs {
        history: !global.no_history,
        alerts: !global.no_alerts,
        report_dir: args.report.clone(),
        templates: args.templates.clone(),
        full: args.full,
    }
}

fn usage(message: String, help: Option<&str>) -> CliError {
    CliError::Usage {
        message,
        help: help.map(str::to_string),
    }
}

/// `--schedule` and `--timezone`, checked before anything runs.
fn check_overrides(args: &AuditRunArgs) -> Result<(), CliError> {
    if args.schedule.is_none() && args.timezone.is_none() {
        return Ok(());
    }
    crate::schedule::Schedule::parse(
        args.schedule.as_deref().unwrap_or("0 0 * * *"),
        args.timezone.as_deref(),
    )
    .map(|_| ())
    .map_err(|e| usage(format!("--schedule/--timezone: {e}"), Some(&e.help())))
}

async fn once(global: &Global, args: &AuditRunArgs) -> CmdResult {
    check_overrides(args)?;
    let (project, suites) = global.project_and_suites()?;
    global.engine_ready(&project)?;
    let names = selection(&args.select)
        .names(&suites)
        .map_err(|m| usage(m, Some("`lakegate audit status` lists the suites")))?;
    let jobs = args.jobs.map_or(project.audit.jobs, usize::from);
    match audit::once(&project, &suites, names, jobs, global.clock(), &outputs(global, args)).await {
        Once::Config(d) => Err(CliError::Config(d)),
        Once::Failed(why) => Err(CliError::RunFailed(why)),
        Once::Ran(run) => {
            match global.format {
                OutputFormat::Json => print_stdout(&results::to_json(&run)),
                OutputFormat::Text if global.quiet => print_stdout(&text::verdict(&run)),
                OutputFormat::Text => print_stdout(&text::render(&run, global.verbose > 0)),
            }
            Ok(exit::Outcome::Ran(Box::new(run), args.fail_on))
        }
    }
}

async fn run_daemon(global: &Global, args: &AuditRunArgs) -> CmdResult {
    check_overrides(args)?;
    if global.now.is_some() {
        return Err(usage(
            "the audit daemon runs on the real clock; --now works with `audit --once` and `audit status`".into(),
            None,
        ));
    }
    let opts = DaemonOptions {
        config: global.config.clone(),
        memory_limit: global.memory_limit,
        selection: selection(&args.select),
        jobs: args.jobs.map(usize::from),
        schedule: args.schedule.clone(),
        timezone: args.timezone.clone(),
        grace: args.grace,
        outputs: outputs(global, args),
    };
    match daemon::run(opts, global.clock()).await {
        Ended::Clean => {
            tracing::info!("Stopped; every running suite finished.");
            Ok(exit::Outcome::Done)
        }
        Ended::Abandoned(names) => Err(CliError::RunFailed(format!(
            "stopped before these suites finished (the grace period ran out): {}; their runs are not recorded",
            names.join(", ")
        ))),
        Ended::NothingToRun(why) => Err(usage(why, None)),
        Ended::Config(d) => Err(CliError::Config(d)),
    }
}

fn status(global: &Global, select: &SelectArgs) -> CmdResult {
    let (project, suites) = global.project_and_suites()?;
    let names = selection(select).names(&suites).map_err(|m| usage(m, None))?;
    let now = global.clock().now();
    let rows = audit::status::rows(&project, &suites, &names, now);
    match global.format {
        OutputFormat::Json => print_stdout(
            &serde_json::to_string_pretty(&serde_json::json!({ "now": now, "datasets": rows })).unwrap_or_default(),
        ),
        OutputFormat::Text => print_stdout(&audit::status::render_text(&rows, now)),
    }
    Ok(exit::Outcome::Done)
}
