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

/// The directory of lakegate's bookkeeping inside a dataset directory (hidden from readers).
pub const META_DIR: &str = "_lakegate";
const INTENT: &str = "_intent.json";

/// Rows of a split promotion.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SplitRows {
    pub total: u64,
    pub passed: u64,
    pub quarantined: u64,
}

/// What a promotion published; written last, as `_lakegate/RUN_ID.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
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
}

/// A staged directory of quarantined rows and where it is published (absolute paths).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuarantineMove {
    pub from: PathBuf,
    pub to: PathBuf,
}

/// A failed batch moved to quarantine whose sources are still to be removed: written into the
/// quarantine directory before it is published, removed once the sources are gone, finished by
/// recovery after a crash in between.
pub const QUARANTINE_PENDING: &str = "_lakegate_pending.json";

/// The sources of a quarantined batch and what they held when checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRemoval {
    pub sources: Vec<PathBuf>,
    pub batch: Vec<SnapFile>,
}

/// A dataset directory in the target zone.
#[derive(Debug, Clone)]
pub struct Target {
    pub dir: PathBuf,
}

impl Target {
    pub fn meta(&self) -> PathBuf {
        self.dir.join(META_DIR)
    }

    pub fn staging(&self, run_id: &str) -> PathBuf {
        self.meta().join("staging").join(run_id)
    }

    /// Every readable manifest (a torn or foreign file is skipped with a warning).
    pub fn manifests(&self) -> Vec<Manifest> {
        let Ok(entries) = std::fs::read_dir(self.meta()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
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
}

/// Steps 2–4: records the intent, then publishes. The staging directory holds `manifest.files`.
pub fn commit(target: &Target, staging: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    fs_atomic::write_atomic(&staging.join(INTENT), &json)?;
    fault_point("after-intent");
    roll_forward(target, staging, manifest)
}

fn roll_forward(target: &Target, staging: &Path, manifest: &Manifest) -> std::io::Result<()> {
    if let Some(q) = &manifest.quarantine_move
        && q.from.exists()
    {
        fs_atomic::rename_durable(&q.from, &q.to)?;
    }
    for (i, f) in manifest.files.iter().enumerate() {
        let from = staging.join(&f.path);
        if from.exists() {
            fs_atomic::rename_durable(&from, &target.dir.join(&f.path))?;
        }
        if i == 0 {
            fault_point("after-first-rename");
        }
    }
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    fs_atomic::write_atomic(&target.meta().join(format!("{}.json", manifest.run_id)), &json)?;
    fault_point("after-manifest");
    if manifest.moved {
        remove_sources(&manifest.sources, &manifest.batch)?;
    }
    fs_atomic::remove_dir_all(staging)?;
    Ok(())
}

/// Removes source files whose content is still the content that was checked.
pub fn remove_sources(sources: &[PathBuf], batch: &[SnapFile]) -> std::io::Result<()> {
    for (i, (src, rec)) in sources.iter().zip(batch).enumerate() {
        if src.exists() {
            if sha256_file(src)? == rec.sha256 {
                fs_atomic::remove_file(src)?;
            } else {
                tracing::warn!(file = %src.display(), "Not removing a source file that changed after it was promoted.");
            }
        }
        if i == 0 {
            fault_point("after-first-source-removed");
        }
    }
    Ok(())
}

/// Finishes or removes what an interrupted promotion left in `T/_lakegate/staging`.
/// Recovers the target (see the module docs), then removes what interrupted promotions left in
/// the dataset's quarantine staging (`quarantine`: the dataset's directory in the quarantine zone):
/// after the target's roll-forward nothing there belongs to a committed promotion, and the dataset's
/// promotions are serialized by its lock.
pub fn recover(target: &Target, quarantine: Option<&Path>) -> std::io::Result<Vec<String>> {
    let mut done = recover_target(target)?;
    let Some(q) = quarantine else { return Ok(done) };
    if let Ok(entries) = std::fs::read_dir(q.join(META_DIR).join("staging")) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                fs_atomic::remove_dir_all(&e.path())?;
                done.push(format!(
                    "removed the quarantine staging directory of an interrupted promotion ({})",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    // A quarantined batch published before its sources were removed: remove them now.
    if let Ok(entries) = std::fs::read_dir(q) {
        for e in entries.flatten() {
            let pending = e.path().join(QUARANTINE_PENDING);
            let Some(p) = std::fs::read(&pending)
                .ok()
                .and_then(|b| serde_json::from_slice::<PendingRemoval>(&b).ok())
            else {
                continue;
            };
            remove_sources(&p.sources, &p.batch)?;
            fs_atomic::remove_file(&pending)?;
            done.push(format!(
                "finished moving the quarantined batch {} (its sources are removed)",
                e.file_name().to_string_lossy()
            ));
        }
    }
    Ok(done)
}

fn recover_target(target: &Target) -> std::io::Result<Vec<String>> {
    let root = target.meta().join("staging");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    for e in entries.flatten() {
        let staging = e.path();
        if !staging.is_dir() {
            continue;
        }
        let intent = std::fs::read(staging.join(INTENT))
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok());
        match intent {
            Some(m) => {
                roll_forward(target, &staging, &m)?;
                done.push(format!(
                    "finished the interrupted promotion {} ({} files)",
                    m.run_id,
                    m.files.len()
                ));
            }
            None => {
                fs_atomic::remove_dir_all(&staging)?;
                done.push(format!(
                    "removed the staging directory of an interrupted promotion that had not published ({})",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    Ok(done)
}
