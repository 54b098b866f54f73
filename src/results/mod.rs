//! The versioned result model of a run, and its renderers (text, JSON, JUnit).
//!
//! A result carries everything later consumers need — the history store, the HTML report, alerts,
//! lineage events — so none of them has to re-derive a status or re-read a suite: each check has
//! its id, kind, columns, severity, status, counts, observed and expected values, a sentence, a
//! sample, and the suite file and line that declared it.

pub mod junit;
pub mod numbers;
pub mod text;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// How much a failed check matters: `error` fails the run, `warn` is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
        }
    }
}

/// Bumped when the JSON shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunResult {
    /// The version that produced the result (a result read back from the history says this one's).
    #[serde(skip_deserializing, default = "this_version")]
    pub lakegate: &'static str,
    pub format_version: u32,
    pub run_id: String,
    pub command: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The clock freshness used (`--now`, or the start of the run).
    pub now: DateTime<Utc>,
    pub status: Status,
    pub summary: Summary,
    pub datasets: Vec<DatasetResult>,
    /// What became of the alerts this run sent (and of earlier ones it retried from the outbox);
    /// left out when no alert was due. Delivery never changes the run's status or exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertOutcome>,
    /// What became of each OpenLineage event of the run (`[lineage]`), left out without one.
    /// Delivery never changes the run's status or exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<LineageOutcome>,
}

fn this_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// What became of one OpenLineage event.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LineageOutcome {
    /// `START`, `COMPLETE` or `FAIL`.
    #[serde(rename = "eventType")]
    pub event_type: String,
    /// The job: `<zone>.<dataset>`.
    pub job: String,
    /// `sent`; `queued` (not delivered yet: waiting in the outbox for the next run, in order); or
    /// `failed` (the file could not be written).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One alert message's delivery: through which channel, to whom, and what happened.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AlertOutcome {
    /// `email`.
    pub channel: String,
    /// The relay's URL (it holds no secret), or a webhook's scheme and host (its path may be one).
    pub via: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The message's stable id (the same on every retry).
    pub message_id: String,
    /// `sent`, `queued` (not delivered yet: waiting in the outbox for the next run) or `failed`
    /// (not even queued).
    pub status: String,
    /// The run whose alert this is, when it is an earlier run's message retried now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Summary {
    pub datasets: usize,
    pub checks: usize,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    pub errored: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DatasetResult {
    pub name: String,
    pub zone: String,
    /// The dataset's directory or file.
    pub location: String,
    pub format: Option<String>,
    pub suite: String,
    pub files: usize,
    pub rows: Option<u64>,
    pub status: Status,
    /// Queries that read data for this dataset, samples included.
    pub queries: u32,
    /// Of `queries`, those that fetched failing-row samples.
    pub sample_queries: u32,
    /// The columns the dataset's fused scan read; empty when Parquet statistics answered every
    /// check that needed one.
    pub scanned_columns: Vec<String>,
    pub duration_ms: u64,
    /// Why the dataset could not be checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// In an incremental run: which files were read and which answered from stored states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalRun>,
    pub checks: Vec<CheckResult>,
}

/// What an incremental run read of a dataset (`[engine] incremental`, `check --incremental`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncrementalRun {
    /// Files whose rows (or keys) were read in this run.
    pub files_scanned: usize,
    /// Files answered from the numbers stored by earlier runs.
    pub files_reused: usize,
    /// The stored state: `new`, `reused`, or `discarded: …` with why (then every file is read).
    pub state: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The first column, for consumers that expect one.
    pub column: Option<String>,
    pub columns: Vec<String>,
    pub severity: Severity,
    pub status: Status,
    pub failing_rows: Option<u64>,
    pub failing_fraction: Option<f64>,
    /// The check's measure for trends: failing rows, the row count, the metric value, the age in seconds.
    pub value: Option<f64>,
    pub observed: Value,
    pub expected: Value,
    pub message: String,
    /// The numbers came from Parquet footers (exact statistics), not from a scan.
    pub from_statistics: bool,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub sample: Vec<Value>,
    pub source: SourceRef,
    /// In an incremental run: whether the check's numbers were merged from stored per-file numbers
    /// (or a stored key set), or measured over every file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<bool>,
    /// The bounds of the charted measure (history and trend charts only).
    #[serde(skip)]
    pub limits: Limits,
}

/// The bounds a check allows its charted measure — the failing fraction of a check that counts
/// rows, else its value — for the trend chart's threshold lines. Kept in the history, not in the
/// JSON result (which states what was expected in `expected`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Where a check was declared.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SourceRef {
    pub file: String,
    pub line: usize,
}

impl RunResult {
    /// Counts and overall status from the datasets.
    pub fn finalize(&mut self) {
        let mut s = Summary {
            datasets: self.datasets.len(),
            ..Summary::default()
        };
        for d in &self.datasets {
            for c in &d.checks {
                s.checks += 1;
                match c.status {
                    Status::Pass => s.passed += 1,
                    Status::Warn => s.warned += 1,
                    Status::Fail => s.failed += 1,
                    Status::Error => s.errored += 1,
                }
            }
        }
        self.summary = s;
        self.status = self.datasets.iter().map(|d| d.status).max().unwrap_or(Status::Pass);
    }

    /// Whether some dataset could not be read at all (exit 3).
    pub fn has_unreadable_dataset(&self) -> bool {
        self.datasets.iter().any(|d| d.error.is_some())
    }
}

impl DatasetResult {
    pub fn finalize(&mut self) {
        let worst = self.checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass);
        self.status = if self.error.is_some() { Status::Error } else { worst };
    }
}

/// The JSON document of a run.
pub fn to_json(run: &RunResult) -> String {
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
