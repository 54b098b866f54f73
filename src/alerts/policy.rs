//! Which datasets and checks an alert is about, under `[alerts] on`, and to whom it goes.
//!
//! A check *fires* when it failed or could not be evaluated (and, under `on = "warning"`, when a
//! warn-severity check failed). `failure` and `warning` alert on every run with a firing check;
//! `always` on every run; `change` compares with the dataset's previous run in the history store:
//! a check that starts firing alerts, one that stops firing is listed in one "resolved" message, and
//! one that keeps firing is repeated each time another `repeat` has passed since it started.
//! Runs are ordered as they ran, and timed by their clock (`RunResult::now`: `--now`, or the run's
//! start), so a run with `--now` is timed like the checks it judged.
//! Datasets are grouped per channel by recipient set (the channel's `to` plus the suites' `owners`),
//! so each recipient set gets one digest per run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::config::alerts::{AlertOn, AlertsConfig};
use crate::history::Store;
use crate::results::{CheckResult, DatasetResult, RunResult, Status};

/// What a digest says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DigestKind {
    /// Checks are firing.
    Firing,
    /// Checks that fired in the previous run stopped firing (`on = "change"`).
    Resolved,
    /// Nothing fires; sent because `on = "always"`.
    Passing,
}

/// One dataset's part of a digest.
#[derive(Debug)]
pub(crate) struct DatasetAlert<'r> {
    pub dataset: &'r DatasetResult,
    /// The checks to list, worst first (firing ones, or the recovered ones of a resolved digest).
    pub checks: Vec<&'r CheckResult>,
    /// Per listed check id: when it started firing (the first run of its current streak).
    pub since: HashMap<String, DateTime<Utc>>,
}

/// One message: a channel, its recipients and the datasets it is about.
#[derive(Debug)]
pub(crate) struct Digest<'r> {
    /// Index into `[[alerts.email]]` (or into `[[alerts.webhook]]` for [`webhook_digests`]).
    pub channel: usize,
    pub to: Vec<String>,
    pub kind: DigestKind,
    pub datasets: Vec<DatasetAlert<'r>>,
}

/// Whether a check's status fires under the policy.
pub(crate) fn fires(status: Status, on: AlertOn) -> bool {
    match status {
        Status::Fail | Status::Error => true,
        Status::Warn => on == AlertOn::Warning,
        Status::Pass => false,
    }
}

/// Worst first: errors and failures before warnings, error severity first, then more failing rows.
fn worst_first(a: &&CheckResult, b: &&CheckResult) -> std::cmp::Ordering {
    b.status
        .cmp(&a.status)
        .then((a.severity.as_str() != "error").cmp(&(b.severity.as_str() != "error")))
        .then(b.failing_rows.unwrap_or(0).cmp(&a.failing_rows.unwrap_or(0)))
        .then(a.id.cmp(&b.id))
}

/// The digests a run sends: per channel, per recipient set, per kind.
pub(crate) fn digests<'r>(
    cfg: &AlertsConfig,
    run: &'r RunResult,
    owners: &BTreeMap<String, Vec<String>>,
    history: &Store,
) -> Vec<Digest<'r>> {
    let parts = all_parts(cfg, run, history);
    let mut out = Vec::new();
    for (ci, channel) in cfg.email.iter().enumerate() {
        let mut groups: BTreeMap<(Vec<String>, DigestKind), Vec<usize>> = BTreeMap::new();
        for (i, (kind, part)) in parts.iter().enumerate() {
            let mut to: Vec<String> = channel.to.clone();
            for o in owners.get(&part.dataset.name).into_iter().flatten() {
                if !to.iter().any(|t| t.eq_ignore_ascii_case(o)) {
                    to.push(o.clone());
                }
            }
            groups.entry((to, *kind)).or_default().push(i);
        }
        for ((to, kind), idx) in groups {
            let datasets = idx
                .into_iter()
                .map(|i| {
                    let p = &parts[i].1;
                    DatasetAlert {
                        dataset: p.dataset,
                        checks: p.checks.clone(),
                        since: p.since.clone(),
                    }
                })
                .collect();
            out.push(Digest {
                channel: ci,
                to,
                kind,
                datasets,
            });
        }
    }
    out
}

/// What every dataset of the run contributes under the policy.
fn all_parts<'r>(cfg: &AlertsConfig, run: &'r RunResult, history: &Store) -> Vec<(DigestKind, DatasetAlert<'r>)> {
    run.datasets
        .iter()
        .flat_map(|d| dataset_parts(cfg, run, d, history))
        .collect()
}

/// The digests a run posts to the webhooks: per webhook, one per kind, covering every dataset
/// (a webhook has no recipients, so owners do not split it).
pub(crate) fn webhook_digests<'r>(cfg: &AlertsConfig, run: &'r RunResult, history: &Store) -> Vec<Digest<'r>> {
    let parts = all_parts(cfg, run, history);
    let mut out = Vec::new();
    for wi in 0..cfg.webhook.len() {
        let mut groups: BTreeMap<DigestKind, Vec<DatasetAlert<'r>>> = BTreeMap::new();
        for (kind, p) in &parts {
            groups.entry(*kind).or_default().push(DatasetAlert {
                dataset: p.dataset,
                checks: p.checks.clone(),
                since: p.since.clone(),
            });
        }
        out.extend(groups.into_iter().map(|(kind, datasets)| Digest {
            channel: wi,
            to: Vec::new(),
            kind,
            datasets,
        }));
    }
    out
}

/// What one dataset contributes under the policy: nothing, a firing part, a resolved part, or both.
fn dataset_parts<'r>(
    cfg: &AlertsConfig,
    run: &'r RunResult,
    d: &'r DatasetResult,
    history: &Store,
) -> Vec<(DigestKind, DatasetAlert<'r>)> {
    let mut firing: Vec<&CheckResult> = d.checks.iter().filter(|c| fires(c.status, cfg.on)).collect();
    firing.sort_by(worst_first);
    let part = |checks: Vec<&'r CheckResult>, since: HashMap<String, DateTime<Utc>>| DatasetAlert {
        dataset: d,
        checks,
        since,
    };
    let broken = !firing.is_empty() || d.error.is_some();
    match cfg.on {
        AlertOn::Never => Vec::new(),
        AlertOn::Failure | AlertOn::Warning if broken => vec![(DigestKind::Firing, part(firing, HashMap::new()))],
        AlertOn::Failure | AlertOn::Warning => Vec::new(),
        AlertOn::Always if broken => vec![(DigestKind::Firing, part(firing, HashMap::new()))],
        AlertOn::Always => vec![(DigestKind::Passing, part(Vec::new(), HashMap::new()))],
        AlertOn::Change => change_parts(cfg, run, d, firing, history)
            .into_iter()
            .map(|(k, checks, since)| (k, part(checks, since)))
            .collect(),
    }
}

/// Under `on = "change"`: the firing part (a check started firing, or a reminder is due) and the
/// resolved part (checks that fired in the previous run and do not now), from the history store.
fn change_parts<'r>(
    cfg: &AlertsConfig,
    run: &RunResult,
    d: &'r DatasetResult,
    firing: Vec<&'r CheckResult>,
    history: &Store,
) -> Vec<(DigestKind, Vec<&'r CheckResult>, HashMap<String, DateTime<Utc>>)> {
    // Earlier runs of this dataset in the order they ran, each with its clock (`--now`, or its
    // start) and the ids of the checks that fired. Times are compared on the runs' clocks, so
    // `--now` times alerts as it times the checks.
    let mut runs: BTreeMap<(DateTime<Utc>, String), (DateTime<Utc>, BTreeSet<String>)> = BTreeMap::new();
    for c in history.checks(&d.name) {
        if c.run_id == run.run_id || c.started_at > run.started_at {
            continue;
        }
        let (_, set) = runs
            .entry((c.started_at, c.run_id.clone()))
            .or_insert_with(|| (c.now.unwrap_or(c.started_at), BTreeSet::new()));
        if fires(c.status, AlertOn::Change) {
            set.insert(c.check_id);
        }
    }
    let previous = runs.values().next_back().map(|r| r.1.clone()).unwrap_or_default();
    let prev_time = runs.values().next_back().map(|r| r.0);
    // A check fires since the first run of the streak of runs (ending now) in which it fired.
    let since_of = |id: &str| {
        let mut since = run.now;
        for (t, set) in runs.values().rev() {
            if !set.contains(id) {
                break;
            }
            since = *t;
        }
        since
    };
    let mut since = HashMap::new();
    let mut due = false;
    for c in &firing {
        let s = since_of(&c.id);
        since.insert(c.id.clone(), s);
        if !previous.contains(&c.id) {
            due = true;
        } else if let (Some(repeat), Some(prev)) = (cfg.repeat, prev_time) {
            // Reminders fall at since + k·repeat; one is due if one fell between the two runs.
            let step = chrono::Duration::from_std(repeat)
                .unwrap_or(chrono::Duration::MAX)
                .num_seconds()
                .max(1);
            let k = |t: DateTime<Utc>| (t - s).num_seconds().div_euclid(step);
            due |= k(run.now) > k(prev);
        }
    }
    let mut out = Vec::new();
    if due || (d.error.is_some() && prev_time.is_none()) {
        out.push((DigestKind::Firing, firing, since));
    }
    let resolved: Vec<&CheckResult> = d
        .checks
        .iter()
        .filter(|c| previous.contains(&c.id) && !fires(c.status, AlertOn::Change))
        .collect();
    if !resolved.is_empty() {
        out.push((DigestKind::Resolved, resolved, HashMap::new()));
    }
    out
}
