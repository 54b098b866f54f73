//! What the site remembers of the history store, so that a run's update reads its own records and
//! a few small files instead of the whole store.
//!
//! The run list is numbered from the oldest run: run `n` (0-based) sits in chunk `n / 50`, and a
//! chunk's archive page `runs-K.html` never changes once full (except to drop a link to a run
//! whose page retention removed). `index.html` shows the newest 50 runs. The state under
//! `site/.lakegate/` mirrors that:
//!
//! ```text
//! site.json            per dataset: its last 30 runs, the data age of its latest run, the oldest
//!                      run whose page is kept; the run count; a digest of the history files covered
//! runs-000001.json     the runs of chunk 1 (oldest first), as the run list shows them
//! datasets/SLUG.json   per dataset: the runs whose pages are kept, and each check's last 100 records
//! ```
//!
//! It is a cache, never trusted over the history: an update lists the store's run files (names
//! only, nothing read) and uses the state only when its digest covers exactly those files besides
//! the run's own, the run is newer than every run it holds, and every file it needs parses.
//! Otherwise the site is rebuilt from the history, which writes the state afresh. Every file is
//! written atomically, `site.json` last, so a crash leaves an old digest and the next update
//! rebuilds.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::trend::TREND_RUNS;
use super::view::slug;
use crate::history::{CheckRecord, RunFile, RunRecord, Store};
use crate::results::{RunResult, Status};

/// The state's directory, inside the site.
pub(super) const STATE_DIR: &str = ".lakegate";

/// Bumped when the state's shape changes; another number means "rebuild".
const FORMAT: u32 = 1;

/// Runs in a chunk of the run list (and on an archive page), and on the index.
pub(super) const RUNS_PER_PAGE: usize = 50;

/// Runs a dataset's sparkline shows.
pub(super) const SPARK_RUNS: usize = 30;

/// One dataset's part of a run, as the run list shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct EntryDataset {
    pub dataset: String,
    pub status: Status,
    /// Failed and errored checks.
    pub failed: usize,
    pub checks: usize,
}

/// One run in the run list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RunEntry {
    pub run_id: String,
    pub command: String,
    pub started_at: DateTime<Utc>,
    pub datasets: Vec<EntryDataset>,
}

/// A dataset as the index shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DatasetState {
    /// Its last runs (at most [`SPARK_RUNS`]), oldest first; the last is its latest.
    pub recent: Vec<RunRecord>,
    /// The age in seconds of the newest data its latest run saw, by its own clock: the largest
    /// value of that run's `freshness` checks.
    pub data_age: Option<f64>,
    /// The position of its oldest run whose page is kept (retention); older runs are not linked.
    pub kept_from: usize,
}

/// The site's summary of the history (`site.json`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SiteState {
    format: u32,
    keep_runs: usize,
    /// SHA-256 of the sorted names of the history's run files this state covers.
    digest: String,
    /// Runs in the run list.
    pub runs: usize,
    /// The newest run's start and id: an update's run must sort after it.
    last: Option<(DateTime<Utc>, String)>,
    pub datasets: BTreeMap<String, DatasetState>,
}

/// A check's recent records and its failing streak.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Trend {
    /// Its last [`TREND_RUNS`] records, oldest first.
    pub records: Vec<CheckRecord>,
    /// When its current failing streak began (`None` when its latest run did not fail).
    pub failing_since: Option<DateTime<Utc>>,
}

/// A dataset's runs with pages and its checks' trends (`datasets/SLUG.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Detail {
    /// The positions and ids of its newest `keep_runs` runs, oldest first.
    pub kept: VecDeque<(usize, String)>,
    pub checks: BTreeMap<String, Trend>,
}

pub(super) fn failing(s: Status) -> bool {
    matches!(s, Status::Fail | Status::Error)
}

impl Trend {
    fn push(&mut self, r: CheckRecord) {
        self.failing_since = if failing(r.status) {
            self.failing_since.or(Some(r.started_at))
        } else {
            None
        };
        self.records.push(r);
        if self.records.len() > TREND_RUNS {
            self.records.drain(..self.records.len() - TREND_RUNS);
        }
    }
}

/// Check records (in order) grouped into trends by check id.
pub(super) fn trends<'a>(records: impl IntoIterator<Item = &'a CheckRecord>) -> BTreeMap<String, Trend> {
    let mut out: BTreeMap<String, Trend> = BTreeMap::new();
    for r in records {
        out.entry(r.check_id.clone()).or_default().push(r.clone());
    }
    out
}

fn digest(files: &[RunFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(format!("{}\0{}\0{}\n", f.dataset, f.date, f.run_id).as_bytes());
    }
    format!("{:x}", h.finalize())
}

fn key(r: &RunRecord) -> (DateTime<Utc>, &str, &str) {
    (r.started_at, &r.run_id, &r.dataset)
}

/// The data age a run's check records state: the largest value of its `freshness` checks.
fn data_age(checks: &[CheckRecord]) -> Option<f64> {
    checks
        .iter()
        .filter(|c| c.kind == "freshness")
        .filter_map(|c| c.value)
        .fold(None, |a, v| Some(a.map_or(v, |a: f64| a.max(v))))
}

fn entry_dataset(r: &RunRecord) -> EntryDataset {
    EntryDataset {
        dataset: r.dataset.clone(),
        status: r.status,
        failed: r.failed + r.errored,
        checks: r.checks,
    }
}

/// Adds a dataset's run at `position` to its state and detail; returns the runs that fall out of
/// retention (position, id).
fn add_run(
    ds: &mut DatasetState,
    detail: &mut Detail,
    run: &RunRecord,
    checks: &[CheckRecord],
    position: usize,
    keep_runs: usize,
) -> Vec<(usize, String)> {
    ds.recent.push(run.clone());
    if ds.recent.len() > SPARK_RUNS {
        ds.recent.drain(..ds.recent.len() - SPARK_RUNS);
    }
    ds.data_age = data_age(checks);
    detail.kept.push_back((position, run.run_id.clone()));
    let mut pruned = Vec::new();
    while detail.kept.len() > keep_runs {
        pruned.extend(detail.kept.pop_front());
    }
    ds.kept_from = detail.kept.front().map_or(position + 1, |k| k.0);
    for c in checks {
        detail.checks.entry(c.check_id.clone()).or_default().push(c.clone());
    }
    pruned
}

/// The whole site's state from the history store, with the run list and every record.
pub(super) struct Model {
    pub state: SiteState,
    pub entries: Vec<RunEntry>,
    pub details: BTreeMap<String, Detail>,
    /// Every run record, in run order.
    runs: Vec<RunRecord>,
    /// The check records of each (dataset, run id).
    checks: HashMap<(String, String), Vec<CheckRecord>>,
    /// Runs beyond retention: (dataset, run id).
    pub pruned: Vec<(String, String)>,
}

impl Model {
    /// Reads the run files `files` (as listed) and their check records.
    pub(super) fn from_history(store: &Store, files: &[RunFile], keep_runs: usize) -> Self {
        let mut records = Vec::new();
        for f in files {
            let Some((runs, checks)) = store.read_run_file(f) else {
                continue;
            };
            for run in runs {
                let mine = checks
                    .iter()
                    .filter(|c| c.run_id == run.run_id && c.dataset == run.dataset)
                    .cloned()
                    .collect();
                records.push((run, mine));
            }
        }
        Self::from_records(records, digest(files), keep_runs)
    }

    /// The model of run records, each with its check records; `digest` names the files they came from.
    pub(super) fn from_records(records: Vec<(RunRecord, Vec<CheckRecord>)>, digest: String, keep_runs: usize) -> Self {
        let mut runs: Vec<RunRecord> = Vec::new();
        let mut checks: HashMap<(String, String), Vec<CheckRecord>> = HashMap::new();
        for (run, mine) in records {
            checks
                .entry((run.dataset.clone(), run.run_id.clone()))
                .or_default()
                .extend(mine);
            runs.push(run);
        }
        runs.sort_by(|a, b| key(a).cmp(&key(b)));
        let mut entries: Vec<RunEntry> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut state = SiteState {
            format: FORMAT,
            keep_runs,
            digest,
            runs: 0,
            last: None,
            datasets: BTreeMap::new(),
        };
        let mut details: BTreeMap<String, Detail> = BTreeMap::new();
        let mut pruned = Vec::new();
        for r in &runs {
            let pos = *position.entry(r.run_id.clone()).or_insert_with(|| {
                entries.push(RunEntry {
                    run_id: r.run_id.clone(),
                    command: r.command.clone(),
                    started_at: r.started_at,
                    datasets: Vec::new(),
                });
                entries.len() - 1
            });
            entries[pos].datasets.push(entry_dataset(r));
            let mine = checks
                .get(&(r.dataset.clone(), r.run_id.clone()))
                .map_or(&[][..], Vec::as_slice);
            let ds = state
                .datasets
                .entry(r.dataset.clone())
                .or_insert_with(DatasetState::new);
            let detail = details.entry(r.dataset.clone()).or_default();
            for (_, id) in add_run(ds, detail, r, mine, pos, keep_runs) {
                pruned.push((r.dataset.clone(), id));
            }
        }
        for e in &mut entries {
            e.datasets.sort_by(|a, b| a.dataset.cmp(&b.dataset));
        }
        state.runs = entries.len();
        state.last = entries.last().map(|e| (e.started_at, e.run_id.clone()));
        Self {
            state,
            entries,
            details,
            runs,
            checks,
            pruned,
        }
    }

    /// A dataset's check trends from its runs before `run_id` (in run order): the state its badges
    /// compare with, also for an older run whose page is rebuilt.
    pub(super) fn trends_before(&self, dataset: &str, run_id: &str) -> BTreeMap<String, Trend> {
        let records = self
            .runs
            .iter()
            .filter(|r| r.dataset == dataset)
            .take_while(|r| r.run_id != run_id)
            .filter_map(|r| self.checks.get(&(r.dataset.clone(), r.run_id.clone())))
            .flatten();
        trends(records)
    }
}

impl DatasetState {
    fn new() -> Self {
        Self {
            recent: Vec::new(),
            data_age: None,
            kept_from: 0,
        }
    }
}

/// Reads a state file; `None` when it is missing or does not parse (then the site is rebuilt).
fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::warn!(file = %path.display(), %err, "The report's state does not parse; rebuilding the site from the history.");
            None
        }
    }
}

pub(super) fn chunk_file(chunk: usize) -> String {
    format!("{STATE_DIR}/runs-{:06}.json", chunk + 1)
}

pub(super) fn detail_file(dataset: &str) -> String {
    format!("{STATE_DIR}/datasets/{}.json", slug(dataset))
}

pub(super) fn site_file() -> String {
    format!("{STATE_DIR}/site.json")
}

pub(super) fn read_chunk(dir: &Path, chunk: usize) -> Option<Vec<RunEntry>> {
    read(&dir.join(chunk_file(chunk)))
}

/// A run added to the state: what an update renders and writes.
pub(super) struct Update {
    pub state: SiteState,
    /// The chunks it read or changed (the run's, the one before it, those of pruned runs).
    pub chunks: BTreeMap<usize, Vec<RunEntry>>,
    /// The chunk the run went into.
    pub chunk: usize,
    /// The details of the run's datasets, after the run.
    pub details: BTreeMap<String, Detail>,
    /// The trends of the run's datasets before the run (for badges).
    pub before: BTreeMap<String, BTreeMap<String, Trend>>,
    /// Runs that fell out of retention: (dataset, position, run id).
    pub pruned: Vec<(String, usize, String)>,
}

/// The run's datasets' records, read back from the history (as a rebuild would read them); `None`
/// when a file is missing or damaged.
fn own_records(store: &Store, own: &[RunFile]) -> Option<Vec<(RunRecord, Vec<CheckRecord>)>> {
    let mut out = Vec::new();
    for f in own {
        let (runs, checks) = store.read_run_file(f)?;
        let [run] = &runs[..] else { return None };
        out.push((run.clone(), checks));
    }
    Some(out)
}

impl Update {
    /// Adds `run` to the site's state at `dir`, when the state covers exactly the history's other
    /// run files (`files`) and every file it needs parses; `None` means "rebuild".
    pub(super) fn load(
        dir: &Path,
        store: &Store,
        files: &[RunFile],
        run: &RunResult,
        keep_runs: usize,
    ) -> Option<Self> {
        let mut state: SiteState = read(&dir.join(site_file()))?;
        let own: Vec<RunFile> = run.datasets.iter().map(|d| RunFile::of(run, &d.name)).collect();
        let others: Vec<RunFile> = files.iter().filter(|f| !own.contains(f)).cloned().collect();
        let usable = state.format == FORMAT
            && state.keep_runs == keep_runs
            && others.len() + own.len() == files.len()
            && state.digest == digest(&others)
            && !others.iter().any(|f| f.run_id == run.run_id)
            && state
                .last
                .as_ref()
                .is_none_or(|last| (last.0, last.1.as_str()) < (run.started_at, run.run_id.as_str()));
        if !usable || own.is_empty() {
            return None;
        }
        let records = own_records(store, &own)?;
        let pos = state.runs;
        let chunk = pos / RUNS_PER_PAGE;
        let mut chunks = BTreeMap::new();
        chunks.insert(
            chunk,
            if pos.is_multiple_of(RUNS_PER_PAGE) {
                Vec::new()
            } else {
                read_chunk(dir, chunk)?
            },
        );
        if chunk > 0 {
            chunks.insert(chunk - 1, read_chunk(dir, chunk - 1)?);
        }
        let mut details = BTreeMap::new();
        let mut before = BTreeMap::new();
        let mut pruned = Vec::new();
        let mut entry = RunEntry {
            run_id: run.run_id.clone(),
            command: records[0].0.command.clone(),
            started_at: run.started_at,
            datasets: Vec::new(),
        };
        for (r, checks) in &records {
            let mut detail: Detail = if state.datasets.contains_key(&r.dataset) {
                read(&dir.join(detail_file(&r.dataset)))?
            } else {
                Detail::default()
            };
            before.insert(r.dataset.clone(), detail.checks.clone());
            let ds = state
                .datasets
                .entry(r.dataset.clone())
                .or_insert_with(DatasetState::new);
            for (p, id) in add_run(ds, &mut detail, r, checks, pos, keep_runs) {
                pruned.push((r.dataset.clone(), p, id));
            }
            entry.datasets.push(entry_dataset(r));
            details.insert(r.dataset.clone(), detail);
        }
        entry.datasets.sort_by(|a, b| a.dataset.cmp(&b.dataset));
        for (_, p, _) in &pruned {
            let c = p / RUNS_PER_PAGE;
            if let std::collections::btree_map::Entry::Vacant(e) = chunks.entry(c) {
                e.insert(read_chunk(dir, c)?);
            }
        }
        chunks.entry(chunk).or_default().push(entry);
        state.runs += 1;
        state.last = Some((run.started_at, run.run_id.clone()));
        state.digest = digest(files);
        Some(Self {
            state,
            chunks,
            chunk,
            details,
            before,
            pruned,
        })
    }
}

/// The state's files as bytes (stable formatting: the same state is the same bytes).
pub(super) fn to_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}
