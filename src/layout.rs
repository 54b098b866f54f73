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

/// On an object store, where nothing can be renamed, a target `T` holds `T/_lakegate/log/` — one
/// manifest per published batch, named by its sequence number ([`log_name`]) and created only if
/// absent (the commit point) — and `T/_lakegate/staging/RUN_ID/` with the staged copies and their
/// `_intent.json`, written before the commit and removed last. A reader listing `T` leaves out the
/// files an intent names ([`files_of_record`]): they are being copied into place.
pub(crate) const LOG_DIR: &str = "log";

/// The log entry of sequence number `n`: zero-padded so that names sort as numbers.
pub(crate) fn log_name(n: u64) -> String {
    format!("{n:020}.json")
}

/// The sequence number of a log entry's name; `None` for any other name.
pub(crate) fn log_number(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The files a reader listing a target prefix must leave out: those named by the staging intents
/// found in its listing (`keys` relative to the prefix, `/`-separated).
pub(crate) fn staging_intents<'k>(keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    keys.into_iter()
        .filter(|k| {
            let parts: Vec<&str> = k.split('/').collect();
            parts.len() >= 4
                && parts[parts.len() - 1] == INTENT
                && is_run_id(parts[parts.len() - 2])
                && parts[parts.len() - 3] == "staging"
                && parts[parts.len() - 4] == META_DIR
        })
        .map(str::to_string)
        .collect()
}

/// The keys of promotion log entries in a listing (`…/_lakegate/log/N.json`).
pub(crate) fn log_entries<'k>(keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    keys.into_iter()
        .filter(|k| {
            let parts: Vec<&str> = k.split('/').collect();
            parts.len() >= 3
                && log_number(parts[parts.len() - 1]).is_some()
                && parts[parts.len() - 2] == LOG_DIR
                && parts[parts.len() - 3] == META_DIR
        })
        .map(str::to_string)
        .collect()
}

/// The run id of an intent or log entry (`key`, 4 or 3 levels below its target prefix) and the
/// full keys of the files it names; `None` when its bytes are not one.
pub(crate) fn files_of_record(key: &str, depth: usize, bytes: &[u8]) -> Option<(String, Vec<String>)> {
    let parts: Vec<&str> = key.split('/').collect();
    let base = parts[..parts.len().saturating_sub(depth)].join("/");
    let record = serde_json::from_slice::<Intent>(bytes).ok()?;
    let files = record
        .files
        .into_iter()
        .map(|f| {
            if base.is_empty() {
                f.path
            } else {
                format!("{base}/{}", f.path)
            }
        })
        .collect();
    Some((record.run_id, files))
}

#[cfg(test)]
mod object_tests {
    use super::*;

    #[test]
    fn a_reader_finds_the_intents_in_a_listing_and_their_files() {
        let run = "01890a5d-ac96-774b-bcce-b302099a8057";
        let keys = [
            "part-0.parquet".to_string(),
            format!("_lakegate/staging/{run}/part-1.parquet"),
            format!("_lakegate/staging/{run}/_intent.json"),
            "_lakegate/staging/not-a-run/_intent.json".to_string(),
            format!("day=1/_lakegate/staging/{run}/_intent.json"),
        ];
        let found = staging_intents(keys.iter().map(String::as_str));
        assert_eq!(found, vec![keys[2].clone(), keys[4].clone()]);
        let bytes = br#"{"run_id":"x","files":[{"path":"part-1.parquet"}]}"#;
        let files = |k: &str, depth| files_of_record(k, depth, bytes).unwrap();
        assert_eq!(files(&found[0], 4), ("x".into(), vec!["part-1.parquet".to_string()]));
        assert_eq!(files(&found[1], 4).1, vec!["day=1/part-1.parquet".to_string()]);
        let log = [
            "t/_lakegate/log/00000000000000000001.json",
            "t/_lakegate/log/x.json",
            "t/part.json",
        ];
        assert_eq!(log_entries(log), vec![log[0].to_string()]);
        assert_eq!(files(log[0], 3).1, vec!["t/part-1.parquet".to_string()]);
        assert!(files_of_record(log[0], 3, b"{}").is_none());
    }

    #[test]
    fn log_names_sort_as_numbers_and_read_back() {
        assert_eq!(super::log_name(7), "00000000000000000007.json");
        assert!(super::log_name(9) < super::log_name(10));
        assert_eq!(super::log_number(&super::log_name(12_345)), Some(12_345));
        for other in [
            "7.json",
            "0000000000000000000x.json",
            "00000000000000000007.tmp",
            "_intent.json",
        ] {
            assert_eq!(super::log_number(other), None, "{other}");
        }
    }
}
