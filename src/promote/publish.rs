//! Publishing a checked batch into the target zone: all of it or none of it, even across crashes.
//!
//! Protocol (per target dataset directory `T`):
//! 1. Files are written into `T/_lakegate/staging/RUN_ID/` (same filesystem as `T`), fsynced, and
//!    their checksums verified against the snapshot.
//! 2. The manifest is written into the staging directory as `_intent.json`: the commit point.
//! 3. Each file is renamed into place (`T/<relative path>`), directories fsynced.
//! 4. The manifest is written to `T/_lakegate/RUN_ID.json`; with `--move` the sources are removed
//!    (only those whose checksum still matches), and the staging directory is removed.
//!
//! Split mode stages the failing rows under the quarantine zone's `_lakegate/staging/RUN_ID/`; the
//! manifest names that directory, and step 3 renames it into the quarantine zone first.
//!
//! Recovery (at the start of every promotion of the dataset, under its lock, or `--recover`): a
//! staging directory with an intent is rolled forward (steps 3–4 are idempotent); one without is
//! removed, and so is anything left in the dataset's quarantine staging; a failed batch published to
//! quarantine whose sources were not yet removed (its `_lakegate_pending.json` remains) has them
//! removed. So after a crash and a
//! recovery the target holds the whole batch or none of it, quarantined rows appear exactly when
//! their batch's passing rows do, and a source file is only ever removed after its published copy
//! is durable.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::snapshot::{SnapFile, sha256_file};
use crate::fs_atomic::{self, fault_point};

pub(crate) use crate::layout::META_DIR;
use crate::layout::{INTENT, is_run_id, run_dirs};

/// Rows of a split promotion.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct SplitRows {
    pub total: u64,
    pub passed: u64,
    pub quarantined: u64,
}

/// What a promotion published; written last, as `_lakegate/RUN_ID.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub lakegate: String,
    pub format_version: u32,
    pub run_id: String,
    pub dataset: String,
    pub from_zone: String,
    pub to_zone: String,
    pub mode: String,
    pub promoted_at: DateTime<Utc>,
    /// Files as published, relative to the target dataset directory.
    pub files: Vec<SnapFile>,
    /// The batch that was checked, relative to the source dataset directory.
    pub batch: Vec<SnapFile>,
    /// Whether the sources are removed after publishing (`--move`).
    pub moved: bool,
    /// Absolute paths of the batch's source files (removed on `--move`).
    pub sources: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<SplitRows>,
    /// Where quarantined rows went (split mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    /// Split mode: the quarantined rows' staging directory, renamed into the quarantine zone as the
    /// first step of publishing (so they appear only if the passing rows are published too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_move: Option<QuarantineMove>,
    /// The accepted schema version of the dataset when the batch was checked (history store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    /// The gate's run result.
    pub results: serde_json::Value,
    /// On an object store: who staged the promotion (recovery tells a dead one from a running one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<super::object::Holder>,
}

/// A staged directory of quarantined rows and where it is published (absolute paths).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QuarantineMove {
    pub from: PathBuf,
    pub to: PathBuf,
}

/// A failed batch moved to quarantine whose sources are still to be removed: written into the
/// quarantine directory before it is published, removed once the sources are gone, finished by
/// recovery after a crash in between.
pub(crate) const QUARANTINE_PENDING: &str = "_lakegate_pending.json";

/// The sources of a quarantined batch and what they held when checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingRemoval {
    pub sources: Vec<PathBuf>,
    pub batch: Vec<SnapFile>,
}

/// A dataset directory in the target zone.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub dir: PathBuf,
    /// Sources are only ever removed inside the lake.
    pub lake_root: PathBuf,
}

impl Target {
    pub(crate) fn meta(&self) -> PathBuf {
        self.dir.join(META_DIR)
    }

    pub(crate) fn staging(&self, run_id: &str) -> PathBuf {
        self.meta().join("staging").join(run_id)
    }

    /// Every readable manifest (a torn or foreign file is skipped with a warning).
    pub(crate) fn manifests(&self) -> Vec<Manifest> {
        if !matches!(fs_atomic::own_dir(&self.meta()), Ok(true)) {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(self.meta()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") || !e.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).map_err(|e| e.to_string()))
            {
                Ok(m) => out.push(m),
                Err(err) => tracing::warn!(file = %p.display(), %err, "Skipping an unreadable promotion manifest."),
            }
        }
        out.sort_by_key(|m| m.promoted_at);
        out
    }

    /// Intents of promotions that reached their commit point but have no manifest yet.
    pub(crate) fn pending_intents(&self) -> Vec<Manifest> {
        let Ok(runs) = run_dirs(&self.meta().join("staging")) else {
            return Vec::new();
        };
        runs.into_iter()
            .filter_map(|(_, dir)| read_intent(&dir))
            .filter(|m| !self.meta().join(format!("{}.json", m.run_id)).exists())
            .collect()
    }
}

fn read_intent(staging: &Path) -> Option<Manifest> {
    std::fs::read(staging.join(INTENT))
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
}

/// What publishing did beyond the batch itself.
#[derive(Debug, Default)]
pub(crate) struct Published {
    /// Source files that were not removed (`--move`), with why.
    pub kept_sources: Vec<String>,
}

/// Steps 2–4: records the intent, then publishes. The staging directory holds `manifest.files`.
pub(crate) fn commit(target: &Target, staging: &Path, manifest: &Manifest) -> std::io::Result<Published> {
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    fs_atomic::write_atomic(&staging.join(INTENT), &json)?;
    fault_point("after-intent");
    roll_forward(target, staging, manifest)
}

fn roll_forward(target: &Target, staging: &Path, manifest: &Manifest) -> std::io::Result<Published> {
    let lost = |what: &Path| {
        std::io::Error::other(format!(
            "cannot finish promotion {}: {} is neither staged nor published with the checksum its intent records; \
             nothing more was changed (the staging directory {} is kept for inspection)",
            manifest.run_id,
            what.display(),
            staging.display()
        ))
    };
    if let Some(q) = &manifest.quarantine_move {
        if fs_atomic::own_dir(&q.from)? {
            fs_atomic::rename_durable(&q.from, &q.to)?;
        } else if !fs_atomic::own_dir(&q.to)? {
            return Err(lost(&q.to));
        }
    }
    for (i, f) in manifest.files.iter().enumerate() {
        let from = staging.join(&f.path);
        let to = target.dir.join(&f.path);
        if std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_file()) {
            fs_atomic::rename_durable(&from, &to)?;
        } else if !std::fs::symlink_metadata(&to).is_ok_and(|m| m.is_file())
            || sha256_file(&to).ok().as_deref() != Some(f.sha256.as_str())
        {
            // Renamed before a crash: the published copy must be the staged one.
            return Err(lost(&to));
        }
        if i == 0 {
            fault_point("after-first-rename");
        }
    }
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    fs_atomic::write_atomic(&target.meta().join(format!("{}.json", manifest.run_id)), &json)?;
    fault_point("after-manifest");
    // Published: from here on nothing fails the promotion. Sources that cannot be removed now are
    // removed by the next promotion or `--recover` (see `remove_moved_sources`).
    let mut out = Published::default();
    if manifest.moved {
        out.kept_sources = remove_sources(&target.lake_root, &manifest.sources, &manifest.batch);
    }
    let cleanup =
        fs_atomic::remove_dir_all(staging).and_then(|()| fs_atomic::remove_empty_dir(&target.meta().join("staging")));
    if let Err(e) = cleanup {
        tracing::warn!(dir = %staging.display(), error = %e, "Could not remove the staging directory of a published promotion; the next promotion removes it.");
    }
    Ok(out)
}

/// Removes source files whose content is still the content that was checked; returns those kept,
/// each with the reason (changed since, outside the lake, or the removal failed).
pub(crate) fn remove_sources(lake_root: &Path, sources: &[PathBuf], batch: &[SnapFile]) -> Vec<String> {
    let mut kept = Vec::new();
    for (i, (src, rec)) in sources.iter().zip(batch).enumerate() {
        let shown = crate::diag::display_path(src);
        if !lake_root.as_os_str().is_empty() && !crate::paths::is_within(lake_root, src) {
            kept.push(format!(
                "{shown} (outside the lake root; lakegate removes nothing there)"
            ));
        } else if std::fs::symlink_metadata(src).is_ok() {
            match sha256_file(src) {
                Ok(sum) if sum == rec.sha256 => {
                    if let Err(e) = fs_atomic::fail_point("remove-source").and_then(|()| fs_atomic::remove_file(src)) {
                        tracing::warn!(file = %src.display(), error = %e, "Could not remove a promoted source file; the next promotion or `--recover` removes it.");
                        kept.push(format!(
                            "{shown} (could not be removed: {e}; the next promotion or `--recover` removes it)"
                        ));
                    }
                }
                Ok(_) => {
                    tracing::warn!(file = %src.display(), "Not removing a source file that changed after it was checked.");
                    kept.push(format!("{shown} (changed after it was checked; it was not removed)"));
                }
                Err(e) => kept.push(format!("{shown} (could not be read: {e})")),
            }
        }
        if i == 0 {
            fault_point("after-first-source-removed");
        }
    }
    kept
}

/// What recovery did, or would do in a dry run.
fn did(dry_run: bool, done: &str, would: &str) -> String {
    if dry_run {
        format!("would {would}")
    } else {
        done.to_string()
    }
}

/// Recovers the target (see the module docs), then removes what interrupted promotions left in
/// the dataset's quarantine staging (`quarantine`: the dataset's directory in the quarantine zone):
/// after the target's roll-forward nothing there belongs to a committed promotion, and the
/// directory's promotions are serialized by its lock. A dry run changes nothing and says what it
/// would do.
pub(crate) fn recover(target: &Target, quarantine: Option<&Path>, dry_run: bool) -> std::io::Result<Vec<String>> {
    let mut done = recover_target(target, dry_run)?;
    let Some(q) = quarantine else { return Ok(done) };
    for (name, dir) in run_dirs(&q.join(META_DIR).join("staging"))? {
        if !dry_run {
            fs_atomic::remove_dir_all(&dir)?;
        }
        done.push(did(
            dry_run,
            &format!("removed the quarantine staging directory of an interrupted promotion ({name})"),
            &format!("remove the quarantine staging directory of an interrupted promotion ({name})"),
        ));
    }
    if !dry_run {
        fs_atomic::remove_empty_dir(&q.join(META_DIR).join("staging"))?;
    }
    // A quarantined batch published before its sources were removed: remove them now.
    if fs_atomic::own_dir(q)? {
        for e in std::fs::read_dir(q)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_run_id(&name) || !fs_atomic::own_dir(&e.path())? {
                continue;
            }
            let pending = e.path().join(QUARANTINE_PENDING);
            let Some(p) = std::fs::read(&pending)
                .ok()
                .and_then(|b| serde_json::from_slice::<PendingRemoval>(&b).ok())
            else {
                continue;
            };
            if !dry_run {
                let kept = remove_sources(&target.lake_root, &p.sources, &p.batch);
                if !kept.is_empty() {
                    tracing::warn!(batch = %name, kept = %kept.join("; "), "Some sources of a quarantined batch were not removed.");
                }
                fs_atomic::remove_file(&pending)?;
            }
            done.push(did(
                dry_run,
                &format!("finished moving the quarantined batch {name} (its sources are removed)"),
                &format!("finish moving the quarantined batch {name} (remove its sources)"),
            ));
        }
    }
    Ok(done)
}

fn recover_target(target: &Target, dry_run: bool) -> std::io::Result<Vec<String>> {
    let root = target.meta().join("staging");
    let mut done = Vec::new();
    for (name, staging) in run_dirs(&root)? {
        match read_intent(&staging) {
            Some(m) if m.run_id == name => {
                if !dry_run {
                    let p = roll_forward(target, &staging, &m)?;
                    if !p.kept_sources.is_empty() {
                        tracing::warn!(run = %name, kept = %p.kept_sources.join("; "), "Some sources of a finished promotion were not removed.");
                    }
                }
                done.push(did(
                    dry_run,
                    &format!(
                        "finished the interrupted promotion {} ({})",
                        m.run_id,
                        crate::checks::count_of(m.files.len() as u64, "file", "files")
                    ),
                    &format!(
                        "finish the interrupted promotion {} ({})",
                        m.run_id,
                        crate::checks::count_of(m.files.len() as u64, "file", "files")
                    ),
                ));
            }
            _ => {
                if !dry_run {
                    fs_atomic::remove_dir_all(&staging)?;
                }
                done.push(did(
                    dry_run,
                    &format!(
                        "removed the staging directory of an interrupted promotion that had not published ({name})"
                    ),
                    &format!(
                        "remove the staging directory of an interrupted promotion that had not published ({name})"
                    ),
                ));
            }
        }
    }
    if !dry_run {
        fs_atomic::remove_empty_dir(&root)?;
    }
    // Sources of published `--move` promotions that could not be removed then (a read-only zone).
    for m in target.manifests().into_iter().filter(|m| m.moved) {
        let left: Vec<(PathBuf, SnapFile)> = m
            .sources
            .iter()
            .zip(&m.batch)
            .filter(|(s, _)| std::fs::symlink_metadata(s).is_ok())
            .map(|(s, b)| (s.clone(), b.clone()))
            .collect();
        if left.is_empty() {
            continue;
        }
        let (sources, batch): (Vec<PathBuf>, Vec<SnapFile>) = left.into_iter().unzip();
        let unchanged = sources
            .iter()
            .zip(&batch)
            .filter(|(s, b)| sha256_file(s).is_ok_and(|x| x == b.sha256))
            .count();
        if unchanged == 0 {
            continue;
        }
        if !dry_run {
            let kept = remove_sources(&target.lake_root, &sources, &batch);
            if kept.len() == sources.len() {
                continue;
            }
        }
        done.push(did(
            dry_run,
            &format!(
                "removed {} promoted with --move by {}",
                crate::checks::count_of(unchanged as u64, "source file", "source files"),
                m.run_id
            ),
            &format!(
                "remove {} promoted with --move by {}",
                crate::checks::count_of(unchanged as u64, "source file", "source files"),
                m.run_id
            ),
        ));
    }
    Ok(done)
}
