//! The long-running `lakegate audit`: each suite on its own cron schedule.
//!
//! One loop on one task: each tick it asks every suite's [`Schedule`] for the latest slot that is
//! due since the last one it consumed (missed slots collapse into one), starts due suites up to
//! `jobs` at a time, and waits for a run to finish or the next slot (at most a quarter of a second,
//! so signals are noticed promptly). A suite never runs twice at once: within the daemon by its
//! `running` flag (overlap `skip` drops the slot, `queue` runs once more afterwards), across processes
//! by its lock file ([`StateDir::try_lock`]). After each run its slot is persisted, so a daemon that
//! was down runs a missed slot once on restart, not once per slot.
//!
//! SIGTERM and Ctrl-C stop new runs; running ones finish within `grace` (a second signal stops
//! waiting). SIGHUP reloads the suites now; otherwise they are reloaded before each start. An
//! invalid edit is logged as the usual diagnostics and the last valid suites keep running.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::state::{SlotState, StateDir};
use super::{Outputs, Selection};
use crate::clock::Clock;
use crate::config::Project;
use crate::config::audit::Overlap;
use crate::diag::Diagnostic;
use crate::results::{RunResult, Status};
use crate::schedule::Schedule;
use crate::suite::Suite;

/// How often an idle daemon reads the suites again (runs read them before they start anyway).
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// What the daemon was started with.
#[derive(Debug, Clone)]
pub(crate) struct DaemonOptions {
    pub config: std::path::PathBuf,
    pub memory_limit: Option<u64>,
    pub selection: Selection,
    /// `--jobs`, else `[audit] jobs`.
    pub jobs: Option<usize>,
    /// `--schedule` / `--timezone`: the default for suites without their own.
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    /// `--grace`, else `[audit] grace`.
    pub grace: Option<Duration>,
    pub outputs: Outputs,
}

/// How the daemon ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Stopped by a signal after every running suite finished.
    Clean,
    /// Stopped by a signal; these suites were still running when the grace period ran out.
    Abandoned(Vec<String>),
    /// It could not start: no suite has a schedule, or the configuration is invalid.
    NothingToRun(String),
    Config(Vec<Diagnostic>),
}

/// The signals the daemon listens to, as flags the loop polls.
struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Signals {
    fn register() -> std::io::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGTERM, Arc::clone(&stop))?;
        signal_hook::flag::register(SIGINT, Arc::clone(&stop))?;
        signal_hook::flag::register(SIGHUP, Arc::clone(&reload))?;
        Ok(Self { stop, reload })
    }

    /// Whether a stop signal arrived since the last call (each call consumes it).
    fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::SeqCst)
    }

    fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::SeqCst)
    }
}

/// One scheduled suite.
struct Entry {
    schedule: Schedule,
    /// The last slot consumed (run, skipped or queued).
    anchor: DateTime<Utc>,
    running: bool,
    /// Overlap `queue`: run again when the current run ends.
    queued: bool,
    /// Due and waiting for a free job.
    waiting: bool,
}

/// The daemon's state between ticks.
struct Daemon {
    opts: DaemonOptions,
    clock: Clock,
    /// The last valid configuration (replaced only by a valid one).
    config: Arc<(Project, Vec<Suite>)>,
    /// The text of the last configuration problems logged (so an invalid edit is said once).
    last_problem: Option<String>,
    /// When the configuration was last read.
    reloaded: std::time::Instant,
    entries: HashMap<String, Entry>,
    ready: VecDeque<String>,
}

/// What a finished run reports to the loop.
struct Finished {
    dataset: String,
    slot: DateTime<Utc>,
    outcome: Result<RunResult, String>,
    took: Duration,
}

/// Runs until SIGTERM or Ctrl-C.
pub(crate) async fn run(opts: DaemonOptions, clock: Clock) -> Ended {
    let config = match super::load(&opts.config, opts.memory_limit) {
        Ok(c) => c,
        Err(d) => return Ended::Config(d),
    };
    // One daemon per history store: a second would run every suite twice.
    let _daemon = match StateDir::new(&config.0.history_dir).lock_daemon() {
        Ok(Ok(f)) => Some(f),
        Ok(Err(pid)) => {
            return Ended::NothingToRun(format!(
                "another lakegate audit daemon (pid {pid}) is running for the history store {}; stop it first",
                crate::diag::display_path(&config.0.history_dir)
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "Cannot take the audit daemon lock; running without it.");
            None
        }
    };
    let signals = match Signals::register() {
        Ok(s) => s,
        Err(e) => return Ended::NothingToRun(format!("cannot listen for signals: {e}")),
    };
    let mut d = Daemon {
        opts,
        clock,
        config: Arc::new(config),
        last_problem: None,
        reloaded: std::time::Instant::now(),
        entries: HashMap::new(),
        ready: VecDeque::new(),
    };
    if let Err(why) = d.schedule_all(true) {
        return Ended::NothingToRun(why);
    }
    let jobs = d.jobs();
    let mut inflight = FuturesUnordered::new();
    loop {
        if signals.take_stop() {
            break;
        }
        let last_reload = d.reloaded;
        if signals.take_reload() {
            tracing::info!("SIGHUP: reloading the suites.");
            d.reload();
        } else if last_reload.elapsed() >= RELOAD_EVERY {
            // New suite files and edited schedules are noticed without a signal, too.
            d.reload();
        }
        d.tick();
        if inflight.len() < jobs && !d.ready.is_empty() {
            d.reload();
        }
        while inflight.len() < jobs
            && let Some(name) = d.ready.pop_front()
        {
            if let Some(fut) = d.start(&name) {
                inflight.push(fut);
            }
        }
        let wait = d.until_next().min(Duration::from_millis(250));
        tokio::select! {
            Some(done) = inflight.next(), if !inflight.is_empty() => d.finished(done),
            () = tokio::time::sleep(wait) => {}
        }
    }
    d.stop(inflight, &signals).await
}

impl Daemon {
    fn jobs(&self) -> usize {
        self.opts.jobs.unwrap_or(self.config.0.audit.jobs).max(1)
    }

    /// (Re)builds the schedule of every selected suite, keeping each known suite's anchor. At start,
    /// anchors come from the persisted state (a missed slot then runs once) or "now".
    fn schedule_all(&mut self, at_start: bool) -> Result<(), String> {
        let (project, suites) = &*self.config;
        let names = self.opts.selection.names(suites)?;
        let states = StateDir::new(&project.history_dir);
        let now = self.clock.wall();
        let mut next: HashMap<String, Entry> = HashMap::new();
        for suite in suites.iter().filter(|s| names.contains(s.dataset.name.get_ref())) {
            let name = suite.dataset.name.get_ref().clone();
            let schedule = match super::schedule_of(
                suite,
                project,
                self.opts.schedule.as_deref(),
                self.opts.timezone.as_deref(),
            ) {
                None => {
                    if at_start {
                        tracing::warn!(dataset = %name, "No schedule: add `schedule` to its [dataset] or to [audit]; it runs only with --once.");
                    }
                    continue;
                }
                Some(Err(e)) => {
                    tracing::error!(dataset = %name, error = %e, "Not scheduled.");
                    continue;
                }
                Some(Ok(s)) => s,
            };
            let mut changed = true;
            let entry = match self.entries.remove(&name) {
                Some(mut old) => {
                    changed = (old.schedule.text(), old.schedule.timezone()) != (schedule.text(), schedule.timezone());
                    old.schedule = schedule;
                    old
                }
                None => Entry {
                    anchor: (if at_start {
                        states.read(&name).map(|s| s.last_slot)
                    } else {
                        None
                    })
                    .unwrap_or(now)
                    .min(now),
                    schedule,
                    running: false,
                    queued: false,
                    waiting: false,
                },
            };
            if changed {
                let next_due = entry.schedule.next_after(entry.anchor);
                tracing::info!(
                    dataset = %name,
                    schedule = entry.schedule.text(),
                    timezone = entry.schedule.timezone(),
                    next_due = %next_due.map_or_else(|| "never".into(), |t| t.to_rfc3339()),
                    "Scheduled."
                );
            }
            next.insert(name, entry);
        }
        // A suite removed from the configuration while it runs stays until its run ends.
        for (name, e) in self.entries.drain() {
            if e.running {
                next.insert(name, e);
            }
        }
        if next.is_empty() {
            return Err("no selected suite has a schedule; add `schedule = \"…\"` to a suite's [dataset] or to [audit] in lakegate.toml, or pass --schedule (or run once with --once)".into());
        }
        self.entries = next;
        Ok(())
    }

    /// Reads the configuration afresh; an invalid one is logged (once) and the last valid one stays.
    fn reload(&mut self) {
        self.reloaded = std::time::Instant::now();
        match super::load(&self.opts.config, self.opts.memory_limit) {
            Ok(c) => {
                self.last_problem = None;
                self.config = Arc::new(c);
                if let Err(why) = self.schedule_all(false) {
                    tracing::error!("{why}");
                }
            }
            Err(diags) => {
                let text: String = diags.iter().map(|d| format!("{}\n", d.render())).collect();
                if self.last_problem.as_ref() != Some(&text) {
                    tracing::error!(
                        "The configuration changed and is not valid; the last valid suites keep running.\n{}",
                        crate::term::escape_output(&text)
                    );
                    self.last_problem = Some(text);
                }
            }
        }
    }

    /// Marks due suites: ready to start, skipped or queued when still running.
    fn tick(&mut self) {
        let now = self.clock.wall();
        let overlap = self.config.0.audit.overlap;
        let mut names: Vec<&String> = self.entries.keys().collect();
        names.sort();
        let names: Vec<String> = names.into_iter().cloned().collect();
        for name in names {
            let Some(e) = self.entries.get_mut(&name) else { continue };
            let Some(slot) = e.schedule.latest_due(e.anchor, now) else {
                continue;
            };
            e.anchor = slot;
            if e.running {
                match overlap {
                    Overlap::Skip => {
                        tracing::info!(dataset = %name, slot = %slot.to_rfc3339(), "Skipped this slot: the previous run is still going (overlap = \"skip\").")
                    }
                    Overlap::Queue => {
                        if !e.queued {
                            tracing::info!(dataset = %name, slot = %slot.to_rfc3339(), "Queued: the previous run is still going (overlap = \"queue\").");
                        }
                        e.queued = true;
                    }
                }
            } else if !e.waiting {
                e.waiting = true;
                self.ready.push_back(name);
            }
        }
    }

    /// How long until the next slot of any idle suite.
    fn until_next(&self) -> Duration {
        let now = self.clock.wall();
        self.entries
            .values()
            .filter_map(|e| e.schedule.next_after(e.anchor))
            .min()
            .map_or(Duration::from_secs(60), |t| {
                (t - now).to_std().unwrap_or(Duration::ZERO)
            })
    }

    /// Starts a run of `name` for its current slot.
    fn start(&mut self, name: &str) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = Finished>>>> {
        let e = self.entries.get_mut(name)?;
        e.waiting = false;
        e.running = true;
        let slot = e.anchor;
        let config = Arc::clone(&self.config);
        let outputs = self.opts.outputs.clone();
        let clock = self.clock;
        let dataset = name.to_string();
        // Each run on its own thread (the runtime's blocking pool), so a slow suite, relay or
        // report never stalls the schedule of the others.
        let handle = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let outcome = handle.block_on(run_one(&config, &dataset, clock, &outputs));
            Finished {
                dataset,
                slot,
                outcome,
                took: started.elapsed(),
            }
        });
        let name = name.to_string();
        Some(Box::pin(async move {
            task.await.unwrap_or_else(|e| Finished {
                dataset: name,
                slot,
                outcome: Err(format!("the run stopped unexpectedly: {e}")),
                took: Duration::ZERO,
            })
        }))
    }

    /// Records a finished run: its slot persisted, one log line, a queued run started next.
    fn finished(&mut self, f: Finished) {
        let project = &self.config.0;
        let Some(e) = self.entries.get_mut(&f.dataset) else {
            return;
        };
        e.running = false;
        let next_due = e
            .schedule
            .next_after(e.anchor)
            .map_or_else(|| "never".into(), |t| t.to_rfc3339());
        if self.opts.outputs.history {
            let state = SlotState {
                dataset: f.dataset.clone(),
                last_slot: f.slot,
                schedule: e.schedule.text().to_string(),
                timezone: e.schedule.timezone().to_string(),
            };
            if let Err(err) = StateDir::new(&project.history_dir).write(&state) {
                tracing::error!(dataset = %f.dataset, error = %err, "Cannot record the audit slot; after a restart this slot may run again.");
            }
        }
        let took = format!("{:.1}s", f.took.as_secs_f64());
        match &f.outcome {
            Ok(run) => {
                let status = run.status;
                let error = run.datasets.iter().find_map(|d| d.error.clone());
                if status == Status::Error || error.is_some() {
                    tracing::warn!(dataset = %f.dataset, status = %status.as_str(), duration = %took, next_due = %next_due, error = %error.unwrap_or_default(), "Ran.");
                } else {
                    tracing::info!(dataset = %f.dataset, status = %status.as_str(), duration = %took, next_due = %next_due, run_id = %run.run_id, "Ran.");
                    if let Some(hb) = &project.audit.heartbeat {
                        heartbeat(hb, &f.dataset, run);
                    }
                }
            }
            Err(why) => {
                tracing::error!(dataset = %f.dataset, duration = %took, next_due = %next_due, "Could not run: {why}")
            }
        }
        if e.queued {
            e.queued = false;
            e.waiting = true;
            self.ready.push_back(f.dataset);
        }
    }

    /// Stops: no new runs; running ones finish within the grace period (a second signal ends it).
    async fn stop(
        mut self,
        mut inflight: FuturesUnordered<std::pin::Pin<Box<dyn std::future::Future<Output = Finished>>>>,
        signals: &Signals,
    ) -> Ended {
        let grace = self.opts.grace.unwrap_or(self.config.0.audit.grace);
        tracing::info!(running = inflight.len(), grace = ?grace, "Stopping: no new runs; waiting for running suites.");
        let deadline = tokio::time::Instant::now() + grace;
        while !inflight.is_empty() {
            tokio::select! {
                Some(done) = inflight.next() => self.finished(done),
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    if signals.take_stop() || tokio::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        let left: Vec<String> = {
            let mut v: Vec<String> = self
                .entries
                .iter()
                .filter(|(_, e)| e.running)
                .map(|(n, _)| n.clone())
                .collect();
            v.sort();
            v
        };
        if left.is_empty() {
            Ended::Clean
        } else {
            Ended::Abandoned(left)
        }
    }
}

/// One scheduled run of one dataset: its lock, the run, alerts and report.
async fn run_one(
    config: &(Project, Vec<Suite>),
    dataset: &str,
    clock: Clock,
    outputs: &Outputs,
) -> Result<RunResult, String> {
    let (project, suites) = config;
    let _lock = match StateDir::new(&project.history_dir).try_lock(dataset) {
        Ok(Some(l)) => Some(l),
        Ok(None) => return Err("another lakegate process is running this suite now; this slot is skipped".into()),
        Err(e) => {
            tracing::warn!(dataset, error = %e, "Cannot take the audit lock; running without it.");
            None
        }
    };
    // Test hook: `LAKEGATE_PAUSE=audit-run:FILE` holds a run here (a slow suite).
    crate::fs_atomic::fault_point("audit-run");
    match super::run_and_deliver(project, suites, vec![dataset.to_string()], clock, outputs).await {
        super::Once::Ran(run) => Ok(run),
        super::Once::Failed(why) => Err(why),
        super::Once::Config(d) => Err(d.iter().map(Diagnostic::render).collect::<Vec<_>>().join("\n")),
    }
}

/// Pings the heartbeat URL (in the background; a failed ping is logged, never fatal).
fn heartbeat(hb: &crate::config::alerts::WebhookChannel, dataset: &str, run: &RunResult) {
    let body = serde_json::json!({
        "dataset": dataset,
        "run_id": run.run_id,
        "status": run.status.as_str(),
    })
    .to_string();
    let id = format!("heartbeat-{}", run.run_id);
    let hb = hb.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = crate::alerts::webhook::post_json(&hb, "heartbeat", &id, body) {
            tracing::warn!(url = %crate::alerts::webhook::shown_url(&hb.url), error = %e, "The heartbeat ping failed.");
        }
    });
}
