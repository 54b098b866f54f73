//! `lakegate promote`: the gate between zones.
//!
//! A promotion locks the dataset, finishes any interrupted promotion, snapshots the source files,
//! runs the dataset's suite on exactly that snapshot, and — only if it passes — publishes the batch
//! into the target zone through [`publish`] (all or nothing, crash-safe). A failing batch leaves the
//! target untouched and, with `on_fail = "quarantine"`, moves to the quarantine zone with its
//! results. Split mode writes passing rows to the target and failing rows to quarantine.

pub(crate) mod lock;
mod object;
pub(crate) mod publish;
pub(crate) mod snapshot;
mod split;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::clock::Clock;
use crate::config::Project;
use crate::diag::{Code, Diagnostic, did_you_mean, display_path};
use crate::engine::DatasetError;
use crate::engine::dataset::discover;
use crate::fs_atomic::{self, fault_point};
use crate::paths::{is_glob, literal_prefix};
use crate::results::{RunResult, Status};
use crate::run::{self, RunOptions};
use crate::suite::{OnFail, Suite};
use publish::{Manifest, SplitRows, Target};
use snapshot::{BatchFile, SnapFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The whole batch passes or none of it moves.
    Batch,
    /// Passing rows go to the target, failing rows to quarantine.
    Split,
}

#[derive(Debug, Clone)]
pub(crate) struct PromoteOptions {
    pub dataset: String,
    pub to: Option<String>,
    pub mode: Mode,
    pub move_sources: bool,
    pub dry_run: bool,
    /// Only finish or clean up interrupted promotions.
    pub recover_only: bool,
    pub lock_timeout: Duration,
    pub clock: Clock,
    pub history: Option<crate::history::Store>,
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("configuration problems")]
    Config(Vec<Diagnostic>),
    #[error("dataset `{dataset}` is being promoted by {holder}; waited {}s", waited.as_secs())]
    Locked {
        dataset: String,
        holder: String,
        waited: Duration,
    },
    #[error("{0}")]
    Dataset(#[from] DatasetError),
    #[error("{}: {message}", display_path(path))]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Refused(String),
}

impl PromoteError {
    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// What a promotion did.
#[derive(Debug, Serialize)]
pub(crate) struct PromoteReport {
    pub lakegate: &'static str,
    pub run_id: String,
    pub dataset: String,
    pub from_zone: String,
    pub to_zone: String,
    pub mode: Mode,
    /// promoted | already_promoted | nothing_to_promote | failed | would_promote | would_fail | recovered
    pub status: &'static str,
    pub message: String,
    /// The checked batch (relative to the source dataset directory).
    pub batch: Vec<SnapFile>,
    /// Files written to the target (relative to the target dataset directory).
    pub published: Vec<String>,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<SplitRows>,
    pub recovered: Vec<String>,
    /// Source files a `--move` (or quarantine) left in place, each with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<RunResult>,
}

impl PromoteReport {
    pub(crate) fn failed(&self) -> bool {
        matches!(self.status, "failed" | "would_fail")
    }
}

/// The directory a dataset's files live in, relative to its zone (the literal part of its path).
fn dataset_base(suite: &Suite, zone_dir: &Path) -> PathBuf {
    let p = suite.dataset.path.get_ref().trim_end_matches('/');
    let base = if is_glob(p) {
        literal_prefix(p).to_string()
    } else {
        p.to_string()
    };
    let full = zone_dir.join(&base);
    if full.is_file() {
        full.parent().map_or(full.clone(), Path::to_path_buf)
    } else {
        full
    }
}

fn target_zone(project: &Project, suite: &Suite, to: Option<&str>) -> Result<String, Diagnostic> {
    let zones = project.zone_names();
    if let Some(t) = to {
        if t == "quarantine" {
            return Err(Diagnostic::plain(Code::PromoteTarget, "`quarantine` is not a promotion target")
                .help("failing batches go there by themselves: set `on_fail = \"quarantine\"` in the suite, or use `--mode split`"));
        }
        if zones.contains(&t) {
            return Ok(t.to_string());
        }
        let help = did_you_mean(t, &zones, "zones:");
        return Err(
            Diagnostic::plain(Code::UnknownZone, format!("zone `{t}` is not defined in lakegate.toml")).help(help),
        );
    }
    let from = suite.dataset.zone.get_ref();
    let order: Vec<&str> = zones.iter().copied().filter(|z| *z != "quarantine").collect();
    order
        .iter()
        .position(|z| z == from)
        .and_then(|i| order.get(i + 1))
        .map(|z| (*z).to_string())
        .ok_or_else(|| {
            Diagnostic::plain(
                Code::PromoteTarget,
                format!(
                    "zone `{from}` has no next zone to promote `{}` into",
                    suite.dataset.name.get_ref()
                ),
            )
            .help("pass --to ZONE")
        })
}

fn find_suite<'a>(suites: &'a [Suite], name: &str) -> Result<&'a Suite, PromoteError> {
    suites.iter().find(|s| s.dataset.name.get_ref() == name).ok_or_else(|| {
        let names: Vec<&str> = suites.iter().map(|s| s.dataset.name.get_ref().as_str()).collect();
        let help = did_you_mean(name, &names, "datasets:");
        PromoteError::Config(vec![
            Diagnostic::plain(
                Code::UnknownDataset,
                format!("no suite declares a dataset named `{name}`"),
            )
            .help(help),
        ])
    })
}

/// Where a promotion reads and writes.
struct Places {
    from_zone: String,
    to_zone: String,
    from_dir: PathBuf,
    to_dir: PathBuf,
    /// The dataset's base directory in the source zone.
    source_base: PathBuf,
    /// That directory relative to its zone: the same in the target and quarantine zones.
    rel_base: PathBuf,
    target: Target,
    /// The dataset's directory in the quarantine zone, when the project has one.
    quarantine_dir: Option<PathBuf>,
}

/// The zones and directories of a promotion, checked: distinct zones, every directory inside its
/// zone (`check_layout`).
fn locate(project: &Project, suite: &Suite, opts: &PromoteOptions) -> Result<Places, PromoteError> {
    let from_zone = suite.dataset.zone.get_ref().clone();
    let to_zone = target_zone(project, suite, opts.to.as_deref()).map_err(|d| PromoteError::Config(vec![d]))?;
    if to_zone == from_zone {
        return Err(PromoteError::Config(vec![Diagnostic::plain(
            Code::PromoteTarget,
            format!("`{}` is already in zone `{to_zone}`", opts.dataset),
        )]));
    }
    // Both zones were checked against lakegate.toml above; never fall back to the working directory.
    let zone = |z: &str| {
        project.zone_dir(z).ok_or_else(|| {
            PromoteError::Config(vec![Diagnostic::plain(
                Code::UnknownZone,
                format!("zone `{z}` is not defined in lakegate.toml"),
            )])
        })
    };
    let from_dir = zone(&from_zone)?;
    let to_dir = zone(&to_zone)?;
    let source_base = dataset_base(suite, &from_dir);
    let rel_base = source_base
        .strip_prefix(&from_dir)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let target = Target {
        dir: to_dir.join(&rel_base),
        lake_root: project.lake_root.clone(),
    };
    let quarantine_dir = project.zone_dir("quarantine").map(|q| q.join(&rel_base));
    check_layout(
        project,
        &[(&from_zone, &from_dir, &source_base), (&to_zone, &to_dir, &target.dir)],
        quarantine_dir.as_deref(),
    )?;
    Ok(Places {
        from_zone,
        to_zone,
        from_dir,
        to_dir,
        source_base,
        rel_base,
        target,
        quarantine_dir,
    })
}

/// Locks every directory the promotion shares with others: the dataset's base directory as
/// written and, since links may make it another dataset's, as links resolve it in each zone.
fn lock_places(
    project: &Project,
    at: &Places,
    opts: &PromoteOptions,
    run_id: &str,
) -> Result<lock::DatasetLock, PromoteError> {
    let holder = format!(
        "pid {} (run {run_id}, started {})",
        std::process::id(),
        opts.clock.wall().to_rfc3339()
    );
    let resolved_rel = |zone_dir: &Path, dir: &Path| {
        crate::paths::resolved(dir)
            .strip_prefix(crate::paths::resolved(zone_dir))
            .map_or_else(|_| at.rel_base.clone(), Path::to_path_buf)
    };
    let mut lock_dirs = vec![
        at.rel_base.clone(),
        resolved_rel(&at.from_dir, &at.source_base),
        resolved_rel(&at.to_dir, &at.target.dir),
    ];
    if let (Some(q), Some(qd)) = (project.zone_dir("quarantine"), at.quarantine_dir.as_deref()) {
        lock_dirs.push(resolved_rel(&q, qd));
    }
    lock::acquire(
        &project.lake_root,
        &lock_dirs,
        &opts.dataset,
        opts.lock_timeout,
        &holder,
        opts.dry_run,
    )
}

/// The split writes the batch's rows through the engine's session: on a cluster they would land on
/// the executors' disks, not in the zone.
fn refuse_split_on_a_cluster(project: &Project, opts: &PromoteOptions) -> Result<(), PromoteError> {
    if opts.mode == Mode::Split && project.engine.url.is_some() {
        return Err(PromoteError::Refused(
            "`--mode split` writes the batch's rows from this process and cannot run on a Ballista cluster; run it without --engine (or with --engine local)".into(),
        ));
    }
    Ok(())
}

/// The gate: the suite on exactly the batch's `files` (recorded in the history unless a dry run);
/// a batch that cannot be read is refused. The prepared run comes back too: split mode reads its
/// plans.
async fn gate<'s>(
    project: &Project,
    suites: &'s [Suite],
    opts: &PromoteOptions,
    files: Vec<PathBuf>,
) -> Result<(run::Prepared<'s>, RunResult), PromoteError> {
    let run_opts = RunOptions {
        run_id: None,
        incremental: false,
        datasets: vec![opts.dataset.clone()],
        clock: opts.clock,
        command: "promote".into(),
        files: Some((opts.dataset.clone(), files)),
        history: opts.history.clone(),
        record: !opts.dry_run,
    };
    let started = opts.clock.wall();
    let prepared = run::prepare(project, suites, &run_opts)
        .await
        .map_err(PromoteError::Config)?;
    let result = run::execute(project, &prepared, &run_opts, started).await;
    if let Some(e) = result.datasets.first().and_then(|d| d.error.clone()) {
        return Err(PromoteError::Refused(e));
    }
    Ok((prepared, result))
}

/// Runs a promotion: locate, lock, recover, take the batch, gate it, publish it.
pub(crate) async fn promote(
    project: &Project,
    suites: &[Suite],
    opts: &PromoteOptions,
) -> Result<PromoteReport, PromoteError> {
    let suite = find_suite(suites, &opts.dataset)?;
    refuse_split_on_a_cluster(project, opts)?;
    if crate::paths::is_remote(&project.lake_root) {
        return object::promote(project, suites, suite, opts).await;
    }
    let at = locate(project, suite, opts)?;
    let run_id = uuid::Uuid::now_v7().to_string();
    let _lock = lock_places(project, &at, opts, &run_id)?;
    let recovered = publish::recover(&at.target, at.quarantine_dir.as_deref(), opts.dry_run)
        .map_err(|e| PromoteError::io(&at.target.meta(), &e))?;

    let mut report = PromoteReport {
        lakegate: env!("CARGO_PKG_VERSION"),
        run_id: run_id.clone(),
        dataset: opts.dataset.clone(),
        from_zone: at.from_zone.clone(),
        to_zone: at.to_zone.clone(),
        mode: opts.mode,
        status: "recovered",
        message: String::new(),
        batch: Vec::new(),
        published: Vec::new(),
        target: display_path(&at.target.dir),
        quarantine: None,
        rows: None,
        recovered,
        kept_sources: Vec::new(),
        results: None,
    };
    if opts.recover_only {
        report.message = if report.recovered.is_empty() {
            "Nothing to recover.".into()
        } else {
            format!("Recovered: {}.", report.recovered.join("; "))
        };
        return Ok(report);
    }
    let Some(batch) = take_batch(project, suite, &at, opts, &mut report)? else {
        return Ok(report);
    };
    fault_point("after-snapshot");

    let files = batch.iter().map(|f| f.source.clone()).collect();
    let (prepared, result) = gate(project, suites, opts, files).await?;
    let passed = match opts.mode {
        Mode::Batch => matches!(result.status, Status::Pass | Status::Warn),
        Mode::Split => split::gate_passes(&result, prepared.plans.first().map_or(&[][..], Vec::as_slice)),
    };
    report.results = Some(result.clone());
    let gated = Gated {
        project,
        suite,
        at: &at,
        opts,
        run_id: &run_id,
        batch: &batch,
        result: &result,
    };
    if !passed {
        gated.refuse(&mut report)?;
        return Ok(report);
    }
    crate::engine::dataset::verify::parquet_batch(batch.iter().map(|f| f.source.clone()))
        .map_err(PromoteError::Refused)?;
    if opts.dry_run {
        report.status = "would_promote";
        report.published = batch.iter().map(|f| f.record.path.clone()).collect();
        report.message = format!(
            "The batch of {} passed; it would be published to {}.",
            crate::results::numbers::count_of(batch.len() as u64, "file", "files"),
            report.target
        );
        return Ok(report);
    }
    gated.publish(&prepared, &mut report).await?;
    Ok(report)
}

/// The batch: the source files now, minus those already published unchanged. `None` (with the
/// report saying why) when there is nothing to promote.
fn take_batch(
    project: &Project,
    suite: &Suite,
    at: &Places,
    opts: &PromoteOptions,
    report: &mut PromoteReport,
) -> Result<Option<Vec<BatchFile>>, PromoteError> {
    let found = discover::discover(&project.lake_root, &at.from_dir, &suite.dataset)?;
    let snap = snapshot::take(&found.files).map_err(|e| PromoteError::io(&at.source_base, &e))?;
    // In a dry run, an interrupted promotion that recovery would finish counts as published.
    let mut done_runs = at.target.manifests();
    if opts.dry_run {
        done_runs.extend(at.target.pending_intents());
    }
    let done: Vec<SnapFile> = done_runs.into_iter().flat_map(|m| m.batch).collect();
    let (already, batch): (Vec<BatchFile>, Vec<BatchFile>) = snap.into_iter().partition(|f| {
        done.iter()
            .any(|d| d.path == f.record.path && d.sha256 == f.record.sha256)
    });
    // A file promoted before that has changed since would publish its old rows a second time.
    if let Some(f) = batch.iter().find(|f| done.iter().any(|d| d.path == f.record.path)) {
        return Err(PromoteError::Refused(format!(
            "{} was promoted before and has changed since; lakegate never promotes a file twice \
             (its earlier rows are already in `{}`). Write new rows to a new file, or remove this one",
            display_path(&f.source),
            at.to_zone
        )));
    }
    report.batch = batch.iter().map(|f| f.record.clone()).collect();
    if !batch.is_empty() {
        return Ok(Some(batch));
    }
    report.status = if already.is_empty() {
        "nothing_to_promote"
    } else {
        "already_promoted"
    };
    report.message = if already.is_empty() {
        format!(
            "`{}` has no files in zone `{}`; nothing to promote.",
            opts.dataset, at.from_zone
        )
    } else {
        format!(
            "{} of `{}` {} already promoted to `{}` unchanged; nothing to do.",
            if already.len() == 1 {
                "The only file".to_string()
            } else {
                format!("All {} files", already.len())
            },
            opts.dataset,
            if already.len() == 1 { "was" } else { "were" },
            at.to_zone
        )
    };
    Ok(None)
}

/// A batch that went through the gate, with everything its refusal or its publication needs.
struct Gated<'a> {
    project: &'a Project,
    suite: &'a Suite,
    at: &'a Places,
    opts: &'a PromoteOptions,
    run_id: &'a str,
    batch: &'a [BatchFile],
    result: &'a RunResult,
}

impl Gated<'_> {
    /// A batch that failed its suite: the target is untouched; with `on_fail = "quarantine"` the
    /// batch moves to the quarantine zone with its results.
    fn refuse(&self, report: &mut PromoteReport) -> Result<(), PromoteError> {
        let Gated {
            project,
            suite,
            at,
            opts,
            run_id,
            batch,
            result,
        } = *self;
        report.status = if opts.dry_run { "would_fail" } else { "failed" };
        report.message = format!(
            "The batch of {} failed the `{}` suite; `{}` is untouched.",
            crate::results::numbers::count_of(batch.len() as u64, "file", "files"),
            opts.dataset,
            at.to_zone
        );
        if suite.dataset.on_fail == OnFail::Quarantine && !opts.dry_run {
            let (q, kept) = quarantine_batch(project, &at.rel_base, run_id, batch, result)?;
            report.message.push_str(&format!(" The batch was moved to {q}."));
            if !kept.is_empty() {
                report
                    .message
                    .push_str(&format!(" Not removed from `{}`: {}.", at.from_zone, kept.join("; ")));
            }
            report.quarantine = Some(q);
            report.kept_sources = kept;
        }
        Ok(())
    }

    /// A batch that passed: staged (copies, or the split's two halves), committed through
    /// [`publish`], and the sources removed with `--move`.
    async fn publish(&self, prepared: &run::Prepared<'_>, report: &mut PromoteReport) -> Result<(), PromoteError> {
        let Gated {
            project,
            suite,
            at,
            opts,
            run_id,
            batch,
            result,
        } = *self;
        let staging = at.target.staging(run_id);
        let mut manifest = Manifest {
            lakegate: env!("CARGO_PKG_VERSION").into(),
            format_version: 1,
            run_id: run_id.to_string(),
            dataset: opts.dataset.clone(),
            from_zone: at.from_zone.clone(),
            to_zone: at.to_zone.clone(),
            mode: match opts.mode {
                Mode::Batch => "batch".into(),
                Mode::Split => "split".into(),
            },
            promoted_at: opts.clock.wall(),
            files: Vec::new(),
            batch: report.batch.clone(),
            moved: opts.move_sources,
            sources: batch.iter().map(|f| f.source.clone()).collect(),
            rows: None,
            quarantine: None,
            quarantine_move: None,
            schema_version: opts
                .history
                .as_ref()
                .and_then(|s| s.catalog().latest(&opts.dataset))
                .map(|v| v.version),
            results: serde_json::to_value(result).unwrap_or_default(),
            holder: None,
        };
        let staged = match opts.mode {
            Mode::Batch => stage_copies(&at.target, &staging, batch),
            Mode::Split => split::stage(project, prepared, suite, &staging, &at.rel_base, run_id)
                .await
                .and_then(|s| unchanged_since_snapshot(batch).map(|()| s))
                .map(|(rows, files, q)| {
                    manifest.rows = Some(rows);
                    manifest.quarantine = q.as_ref().map(|q| display_path(&q.to));
                    manifest.quarantine_move = q;
                    report.rows = Some(rows);
                    report.quarantine = manifest.quarantine.clone();
                    files
                }),
        };
        manifest.files = match staged {
            Ok(f) => f,
            Err(e) => {
                let _ = fs_atomic::remove_dir_all(&staging);
                if let Some(q) = &at.quarantine_dir {
                    let _ = fs_atomic::remove_dir_all(&q.join(publish::META_DIR).join("staging").join(run_id));
                }
                return Err(e);
            }
        };
        fault_point("after-staging");
        let published =
            publish::commit(&at.target, &staging, &manifest).map_err(|e| PromoteError::io(&at.target.dir, &e))?;
        report.published = manifest.files.iter().map(|f| f.path.clone()).collect();
        report.status = "promoted";
        report.message = match manifest.rows {
            Some(r) => format!(
                "{} of {} passed and were published to {}; {} went to quarantine.",
                r.passed,
                crate::results::numbers::count_of(r.total, "row", "rows"),
                report.target,
                crate::results::numbers::count_of(r.quarantined, "row", "rows")
            ),
            None => format!(
                "Published {} to {}.",
                crate::results::numbers::count_of(manifest.files.len() as u64, "file", "files"),
                report.target
            ),
        };
        if opts.move_sources {
            report
                .message
                .push_str(&sources_sentence(batch.len(), &published.kept_sources));
        }
        report.kept_sources = published.kept_sources;
        Ok(())
    }
}

/// Links resolved, every directory a promotion touches stays inside its zone, and the zones involved
/// stay apart: a link planted at `cleaned/sales` pointing into `raw/sales` would otherwise make the
/// published copies overwrite their sources, which `--move` then removes.
fn check_layout(
    project: &Project,
    dirs: &[(&String, &PathBuf, &PathBuf)],
    quarantine_dir: Option<&Path>,
) -> Result<(), PromoteError> {
    let refuse = |m: String| Err(PromoteError::Refused(m));
    let mut zones: Vec<(String, PathBuf)> = Vec::new();
    let q = project.zone_dir("quarantine");
    let with_q = quarantine_dir.zip(q.as_deref()).map(|(d, z)| ("quarantine", z, d));
    for (zone, zone_dir, dir) in dirs
        .iter()
        .map(|(z, zd, d)| (z.as_str(), zd.as_path(), d.as_path()))
        .chain(with_q)
    {
        if !crate::paths::is_within(&project.lake_root, dir) {
            return refuse(format!(
                "{} leads outside the lake root (through a link); lakegate promotes only inside the lake",
                display_path(dir)
            ));
        }
        if !crate::paths::is_within(zone_dir, dir) {
            return refuse(format!(
                "{} leads outside zone `{zone}` (through a link); lakegate promotes only within each zone",
                display_path(dir)
            ));
        }
        let real = crate::paths::resolved(zone_dir);
        for (other, other_real) in zones.iter().filter(|(o, _)| o != zone) {
            if real.starts_with(other_real) || other_real.starts_with(&real) {
                return refuse(format!(
                    "zones `{zone}` and `{other}` resolve to overlapping directories ({} and {}, through a link); \
                     each zone must be its own directory",
                    real.display(),
                    other_real.display()
                ));
            }
        }
        zones.push((zone.to_string(), real));
    }
    Ok(())
}

/// What happened to the sources of a `--move`, as a sentence.
fn sources_sentence(total: usize, kept: &[String]) -> String {
    if kept.is_empty() {
        return " The source files were removed.".into();
    }
    format!(
        " {} of {} removed; not removed: {}.",
        total - kept.len(),
        crate::checks::count_of(total as u64, "source file was", "source files were"),
        kept.join("; ")
    )
}

/// Split mode reads the sources themselves: they must still be the snapshot once the split is
/// written, or the split may hold rows that were never checked.
fn unchanged_since_snapshot(batch: &[BatchFile]) -> Result<(), PromoteError> {
    for f in batch {
        let now = snapshot::sha256_file(&f.source).map_err(|e| PromoteError::io(&f.source, &e))?;
        if now != f.record.sha256 {
            return Err(PromoteError::Refused(format!(
                "{} changed after it was checked (checksum mismatch); nothing was published",
                display_path(&f.source)
            )));
        }
    }
    Ok(())
}

/// Copies the batch into staging and verifies every copy against the snapshot's checksum.
fn stage_copies(target: &Target, staging: &Path, batch: &[BatchFile]) -> Result<Vec<SnapFile>, PromoteError> {
    for f in batch {
        let dest = target.dir.join(&f.record.path);
        if dest.exists() {
            let same = snapshot::sha256_file(&dest).is_ok_and(|s| s == f.record.sha256);
            if !same {
                return Err(PromoteError::Refused(format!(
                    "{} already exists with other content; lakegate never overwrites a published file",
                    display_path(&dest)
                )));
            }
        }
    }
    let mut out = Vec::new();
    for f in batch {
        let dst = staging.join(&f.record.path);
        fs_atomic::copy_durable(&f.source, &dst).map_err(|e| PromoteError::io(&e.path, &e.error))?;
        let sum = snapshot::sha256_file(&dst).map_err(|e| PromoteError::io(&dst, &e))?;
        if sum != f.record.sha256 {
            return Err(PromoteError::Refused(format!(
                "{} changed after it was checked (checksum mismatch); nothing was published",
                display_path(&f.source)
            )));
        }
        out.push(f.record.clone());
    }
    Ok(out)
}

/// Moves a failed batch to `QUARANTINE/DATASET_DIR/RUN_ID/` with its results beside it.
fn quarantine_batch(
    project: &Project,
    rel_base: &Path,
    run_id: &str,
    batch: &[BatchFile],
    result: &RunResult,
) -> Result<(String, Vec<String>), PromoteError> {
    let qzone = project.zone_dir("quarantine").ok_or_else(|| {
        PromoteError::Config(vec![Diagnostic::plain(
            Code::PromoteTarget,
            "`on_fail = \"quarantine\"` needs a `quarantine` zone in lakegate.toml",
        )])
    })?;
    let qbase = qzone.join(rel_base);
    let staging = qbase.join(publish::META_DIR).join("staging").join(run_id);
    let dest = qbase.join(run_id);
    let io = |p: &Path, e: std::io::Error| PromoteError::io(p, &e);
    for own in [
        qbase.join(publish::META_DIR),
        qbase.join(publish::META_DIR).join("staging"),
    ] {
        fs_atomic::own_dir(&own).map_err(|e| PromoteError::Refused(e.to_string()))?;
    }
    for f in batch {
        let dst = staging.join(&f.record.path);
        fs_atomic::copy_durable(&f.source, &dst).map_err(|e| io(&e.path, e.error))?;
    }
    let json = serde_json::to_vec_pretty(result).unwrap_or_default();
    fs_atomic::write_atomic(&staging.join("_lakegate_results.json"), &json).map_err(|e| io(&staging, e))?;
    // Published with the batch, removed once its sources are: a crash in between is finished by
    // recovery instead of quarantining the batch a second time.
    let pending = publish::PendingRemoval {
        sources: batch.iter().map(|f| f.source.clone()).collect(),
        batch: batch.iter().map(|f| f.record.clone()).collect(),
    };
    let json = serde_json::to_vec_pretty(&pending).unwrap_or_default();
    fs_atomic::write_atomic(&staging.join(publish::QUARANTINE_PENDING), &json).map_err(|e| io(&staging, e))?;
    fault_point("after-quarantine-staged");
    fs_atomic::rename_durable(&staging, &dest).map_err(|e| io(&dest, e))?;
    let _ = fs_atomic::remove_empty_dir(&qbase.join(publish::META_DIR).join("staging"));
    fault_point("after-quarantine-published");
    let kept = publish::remove_sources(&project.lake_root, &pending.sources, &pending.batch);
    let marker = dest.join(publish::QUARANTINE_PENDING);
    if kept.iter().any(|k| k.contains("could not be removed")) {
        // Left for the next promotion or `--recover` to finish.
        tracing::warn!(kept = %kept.join("; "), "Some sources of the quarantined batch could not be removed yet.");
    } else {
        fs_atomic::remove_file(&marker).map_err(|e| io(&marker, e))?;
    }
    Ok((display_path(&dest), kept))
}
