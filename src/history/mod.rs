//! The history store: every run's records, and the versioned schema catalog.
//!
//! Layout under `[history] dir` (default `.lakegate/history`), plain NDJSON so DataFusion (and
//! `lakegate history --sql`) can query it directly:
//!
//! ```text
//! runs/DATASET/YYYY-MM-DD/RUN_ID.json     one line: the dataset's run record
//! checks/DATASET/YYYY-MM-DD/RUN_ID.json   one line per check
//! schemas/DATASET/v000001.json            accepted schema versions
//! incremental/DATASET/state.json          per-file numbers of incremental runs (replaced each run)
//! ```
//!
//! Each file is written once, atomically (temp name starting with `.`, fsync, rename), and named by
//! its run id, so concurrent runs never touch the same file and a torn write is never visible under a
//! data name. Files that do not parse (foreign or damaged) are skipped with a warning.

pub(crate) mod catalog;
pub(crate) mod incremental;
pub(crate) mod query;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fs_atomic;
use crate::results::{DatasetResult, RunResult, Status};

/// One dataset's part of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub command: String,
    pub dataset: String,
    pub zone: String,
    pub location: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: Status,
    pub rows: Option<u64>,
    pub files: usize,
    pub queries: u32,
    pub duration_ms: u64,
    pub checks: usize,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    pub errored: usize,
    pub schema_version: Option<u32>,
    pub error: Option<String>,
}

/// One check's outcome in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    pub run_id: String,
    pub dataset: String,
    pub started_at: DateTime<Utc>,
    /// The run's clock (`--now`, or its start): alert timing (`repeat`, "failing since") is
    /// measured on it, so a run with `--now` is timed like the checks it judged. Absent in records
    /// written before it existed (read as `started_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    pub check_id: String,
    pub name: String,
    pub kind: String,
    pub column: Option<String>,
    pub severity: String,
    pub status: Status,
    pub failing_rows: Option<u64>,
    pub failing_fraction: Option<f64>,
    /// The check's measure for trends: failing rows, the row count, the metric, the age in seconds.
    pub value: Option<f64>,
    pub message: String,
    /// The lowest value (or failing fraction, for checks that count rows) the check allows, for the
    /// trend chart. Absent in records written before lakegate kept it, and when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_min: Option<f64>,
    /// The highest value (or failing fraction) the check allows; see `limit_min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_max: Option<f64>,
}

/// The store at a directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

/// The records of one history file; `None` (with a warning) when it cannot be read or a line is not
/// a lakegate record.
fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> Option<Vec<T>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        tracing::warn!(file = %path.display(), "Skipping an unreadable history file.");
        return None;
    };
    let parsed: Result<Vec<T>, _> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect();
    match parsed {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::warn!(file = %path.display(), %err, "Skipping a history file that is not a lakegate record.");
            None
        }
    }
}

/// Whether a directory entry is a record file (not a hidden temporary file, not a foreign name).
fn is_record_file(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    e.file_type().is_file() && !name.starts_with('.') && name.ends_with(".json")
}

fn records<T: serde::de::DeserializeOwned>(root: &Path) -> Vec<T> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(root).sort_by_file_name().into_iter().flatten() {
        if is_record_file(&e) {
            out.extend(read_file(e.path()).unwrap_or_default());
        }
    }
    out
}

/// A dataset's run record file in the store, `runs/DATASET/DATE/RUN_ID.json`, known by its name
/// alone (listing the store reads no file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RunFile {
    pub dataset: String,
    pub date: String,
    pub run_id: String,
}

impl RunFile {
    /// The file of `run`'s record of `dataset`, as [`Store::append`] names it.
    pub(crate) fn of(run: &RunResult, dataset: &str) -> Self {
        Self {
            dataset: dataset.to_string(),
            date: run.started_at.format("%Y-%m-%d").to_string(),
            run_id: run.run_id.clone(),
        }
    }

    fn rel(&self) -> PathBuf {
        Path::new(&self.dataset)
            .join(&self.date)
            .join(format!("{}.json", self.run_id))
    }
}

fn ndjson<T: Serialize>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        if let Ok(line) = serde_json::to_vec(i) {
            out.extend(line);
            out.push(b'\n');
        }
    }
    out
}

impl Store {
    pub fn catalog(&self) -> catalog::Catalog {
        catalog::Catalog { dir: self.dir.clone() }
    }

    /// The per-dataset states of incremental runs.
    pub(crate) fn incremental(&self) -> incremental::States {
        incremental::States::new(&self.dir)
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    pub fn checks_dir(&self) -> PathBuf {
        self.dir.join("checks")
    }

    /// Appends a run: per dataset, its checks first, then the run record that makes it visible.
    pub fn append(&self, run: &RunResult, schema_versions: &HashMap<String, u32>) -> std::io::Result<()> {
        // The whole result first (samples, observed values): what `lakegate report` renders a run's
        // pages from. The run exists once its run records follow.
        let json = serde_json::to_vec(run).map_err(std::io::Error::other)?;
        fs_atomic::write_atomic(&self.result_path(&run.run_id, run.started_at), &json)?;
        for d in &run.datasets {
            let date = run.started_at.format("%Y-%m-%d").to_string();
            let name = format!("{}.json", run.run_id);
            let checks = check_records(run, d);
            fs_atomic::write_atomic(
                &self.checks_dir().join(&d.name).join(&date).join(&name),
                &ndjson(&checks),
            )?;
            fs_atomic::fault_point("history-between-files");
            let record = run_record(run, d, schema_versions.get(&d.name).copied());
            fs_atomic::write_atomic(
                &self.runs_dir().join(&d.name).join(&date).join(&name),
                &ndjson(&[record]),
            )?;
        }
        Ok(())
    }

    fn result_path(&self, run_id: &str, started_at: DateTime<Utc>) -> PathBuf {
        self.dir
            .join("results")
            .join(started_at.format("%Y-%m-%d").to_string())
            .join(format!("{run_id}.json"))
    }

    /// A run's whole result as it was recorded (`None` for runs recorded before results were kept,
    /// or a file someone damaged).
    pub(crate) fn result(&self, run_id: &str, started_at: DateTime<Utc>) -> Option<RunResult> {
        let path = self.result_path(run_id, started_at);
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "Skipping a run result that does not read.");
                None
            }
        }
    }

    /// Records what became of a run's alerts: `alerts/YYYY-MM-DD/RUN_ID.json`, one line per message
    /// (written after the run's own records, once the messages were sent or queued).
    pub fn append_alerts(&self, run: &RunResult) -> std::io::Result<()> {
        if run.alerts.is_empty() {
            return Ok(());
        }
        let lines: Vec<serde_json::Value> = run
            .alerts
            .iter()
            .map(|a| {
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["run_id"] = run.run_id.clone().into();
                v
            })
            .collect();
        let date = run.started_at.format("%Y-%m-%d").to_string();
        fs_atomic::write_atomic(
            &self.dir.join("alerts").join(date).join(format!("{}.json", run.run_id)),
            &ndjson(&lines),
        )
    }

    /// Every run record file of the store, sorted; names only, nothing is read.
    pub(crate) fn run_files(&self) -> Vec<RunFile> {
        let root = self.runs_dir();
        let mut out = Vec::new();
        let walk = walkdir::WalkDir::new(&root).min_depth(3).max_depth(3);
        for e in walk.into_iter().flatten().filter(is_record_file) {
            let Ok(rel) = e.path().strip_prefix(&root) else {
                continue;
            };
            let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if let [dataset, date, name] = &parts[..] {
                out.push(RunFile {
                    dataset: dataset.clone(),
                    date: date.clone(),
                    run_id: name.trim_end_matches(".json").to_string(),
                });
            }
        }
        out.sort();
        out
    }

    /// A run file's run records and the check records written with them (the checks file of the
    /// same name); `None` when the run file cannot be read as records.
    pub(crate) fn read_run_file(&self, f: &RunFile) -> Option<(Vec<RunRecord>, Vec<CheckRecord>)> {
        let runs: Vec<RunRecord> = read_file(&self.runs_dir().join(f.rel()))?;
        let checks_path = self.checks_dir().join(f.rel());
        let checks = if checks_path.is_file() {
            read_file(&checks_path).unwrap_or_default()
        } else {
            Vec::new()
        };
        Some((runs, checks))
    }

    /// A dataset's runs, oldest first.
    pub fn runs(&self, dataset: &str) -> Vec<RunRecord> {
        let mut v: Vec<RunRecord> = records(&self.runs_dir().join(dataset));
        v.sort_by_key(|r| r.started_at);
        v
    }

    /// Every dataset's runs, oldest first (ties by run id and dataset, so the order is stable).
    pub fn all_runs(&self) -> Vec<RunRecord> {
        let mut v: Vec<RunRecord> = records(&self.runs_dir());
        v.sort_by(|a, b| (a.started_at, &a.run_id, &a.dataset).cmp(&(b.started_at, &b.run_id, &b.dataset)));
        v
    }

    /// A dataset's check records of runs that completed (whose run record exists), oldest first.
    pub fn checks(&self, dataset: &str) -> Vec<CheckRecord> {
        let runs: std::collections::HashSet<String> = self.runs(dataset).into_iter().map(|r| r.run_id).collect();
        let mut v: Vec<CheckRecord> = records(&self.checks_dir().join(dataset));
        v.retain(|c| runs.contains(&c.run_id));
        v.sort_by_key(|r| r.started_at);
        v
    }

    /// The status of a dataset's previous run (for alerts on a change of status).
    pub fn previous_status(&self, dataset: &str) -> Option<Status> {
        self.runs(dataset).last().map(|r| r.status)
    }

    /// Baselines for history-based checks: per check id, the values of earlier runs in which the
    /// check did not fail, most recent first.
    pub fn baselines(&self, dataset: &str) -> HashMap<String, Vec<f64>> {
        let mut out: HashMap<String, Vec<f64>> = HashMap::new();
        for c in self.checks(dataset).into_iter().rev() {
            if matches!(c.status, Status::Pass | Status::Warn)
                && let Some(v) = c.value
            {
                out.entry(c.check_id).or_default().push(v);
            }
        }
        out
    }
}

/// A dataset's check records, as the store writes them.
pub(crate) fn check_records(run: &RunResult, d: &DatasetResult) -> Vec<CheckRecord> {
    d.checks
        .iter()
        .map(|c| CheckRecord {
            run_id: run.run_id.clone(),
            dataset: d.name.clone(),
            started_at: run.started_at,
            now: Some(run.now),
            check_id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            column: c.column.clone(),
            severity: c.severity.as_str().to_string(),
            status: c.status,
            failing_rows: c.failing_rows,
            failing_fraction: c.failing_fraction,
            value: c.value,
            message: c.message.clone(),
            limit_min: c.limits.min.filter(|v| v.is_finite()),
            limit_max: c.limits.max.filter(|v| v.is_finite()),
        })
        .collect()
}

/// A dataset's run record, as the store writes it.
pub(crate) fn run_record(run: &RunResult, d: &DatasetResult, schema_version: Option<u32>) -> RunRecord {
    let count = |s: Status| d.checks.iter().filter(|c| c.status == s).count();
    RunRecord {
        run_id: run.run_id.clone(),
        command: run.command.clone(),
        dataset: d.name.clone(),
        zone: d.zone.clone(),
        location: d.location.clone(),
        started_at: run.started_at,
        finished_at: run.finished_at,
        status: d.status,
        rows: d.rows,
        files: d.files,
        queries: d.queries,
        duration_ms: d.duration_ms,
        checks: d.checks.len(),
        passed: count(Status::Pass),
        warned: count(Status::Warn),
        failed: count(Status::Fail),
        errored: count(Status::Error),
        schema_version,
        error: d.error.clone(),
    }
}
