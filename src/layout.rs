//! Where lakegate keeps its own files inside a zone, and what a reader must leave out.
//!
//! A promoted dataset directory `T` holds `T/_lakegate/`: `staging/RUN_ID/` directories (a batch
//! being published; its `_intent.json` is the commit point) and `RUN_ID.json` manifests (a batch
//! published). Between the intent and the manifest, files are renamed into `T` one by one, so a
//! reader listing `T` then must leave them out ([`uncommitted_files`]). The promotion
//! (`crate::promote::publish`) writes this layout; the engine's file discovery reads it. Both
//! depend on this module, not on each other.

use std::path::{Path, PathBuf};

use crate::fs_atomic;

/// The directory of lakegate's bookkeeping inside a dataset directory (hidden from readers).
pub(crate) const META_DIR: &str = "_lakegate";
/// A staging directory's intent record: the promotion's commit point.
pub(crate) const INTENT: &str = "_intent.json";

/// Whether a directory name is a run id lakegate made (a UUID): recovery never touches anything else.
pub(crate) fn is_run_id(name: &str) -> bool {
    uuid::Uuid::parse_str(name).is_ok_and(|u| u.hyphenated().to_string() == name)
}

/// The run directories in a staging directory: real directories named by run ids. A link there is
/// an error (never followed); other names are left alone with a warning.
pub(crate) fn run_dirs(staging_root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let meta = staging_root.parent().unwrap_or(staging_root);
    if !fs_atomic::own_dir(meta)? || !fs_atomic::own_dir(staging_root)? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(staging_root)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with('.') {
            continue;
        }
        if !is_run_id(&name) {
            tracing::warn!(path = %path.display(), "Leaving alone an entry of lakegate's staging directory that lakegate did not create.");
            continue;
        }
        if fs_atomic::own_dir(&path)? {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

/// What a reader needs of an intent record (the promotion writes more).
#[derive(serde::Deserialize)]
struct Intent {
    run_id: String,
    files: Vec<IntentFile>,
}

#[derive(serde::Deserialize)]
struct IntentFile {
    path: String,
}

/// Files of promotions being published into `dir`: renamed into place before their manifest is
/// written, so a reader must leave them out.
pub(crate) fn uncommitted_files(dir: &Path) -> Vec<PathBuf> {
    let meta = dir.join(META_DIR);
    let Ok(runs) = run_dirs(&meta.join("staging")) else {
        return Vec::new();
    };
    runs.into_iter()
        .filter_map(|(_, staging)| {
            let bytes = std::fs::read(staging.join(INTENT)).ok()?;
            serde_json::from_slice::<Intent>(&bytes).ok()
        })
        .filter(|i| !meta.join(format!("{}.json", i.run_id)).exists())
        .flat_map(|i| i.files.into_iter().map(|f| dir.join(f.path)))
        .collect()
}
