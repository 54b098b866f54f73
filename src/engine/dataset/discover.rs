//! Finding a dataset's files: a file, a directory (recursive) or a glob, hive-style partitions,
//! and the format.
//!
//! The list of files is made here, once, and handed to DataFusion as explicit paths. That makes a
//! run's input exact (the promotion gate checks exactly the snapshot it took) and lets files with
//! different schemas or partition values be read side by side.

use std::path::{Path, PathBuf};

use crate::engine::error::DatasetError;
use crate::paths::{glob_files, is_glob, is_hidden, literal_prefix, slash};
use crate::suite::{DatasetSpec, Format};

/// One data file of a dataset.
#[derive(Debug, Clone)]
pub(crate) struct DataFile {
    pub path: PathBuf,
    /// Path relative to the dataset root, `/`-separated.
    pub rel: String,
    /// Values of the partition keys (`None` for hive's default partition or a missing key).
    pub partitions: Vec<Option<String>>,
    /// Its size in bytes when it was listed.
    pub size: u64,
}

/// The files of a dataset and how to read them.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    /// The directory file paths are relative to.
    pub root: PathBuf,
    pub format: Format,
    pub files: Vec<DataFile>,
    pub partition_keys: Vec<String>,
}

/// Extensions accepted for an explicitly declared format besides its own.
const LOOSE_EXTENSIONS: &[&str] = &["", "txt", "dat", "data"];

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Lists the files of a dataset under its zone directory. Links are followed only while they stay
/// inside `lake_root`; files of a promotion still being published (renamed into place before its
/// manifest is written) are left out with a warning, so a reader never sees half a batch.
pub(crate) fn discover(lake_root: &Path, zone_dir: &Path, spec: &DatasetSpec) -> Result<Discovered, DatasetError> {
    // Promotions publish into the dataset's directory or one below it: look for their intents in
    // every directory from the zone down to each file, before listing and after (a promotion may
    // start or finish meanwhile).
    let mut dirs = std::collections::BTreeSet::new();
    let mut in_flight = Vec::new();
    let visit = |dir: &Path, dirs: &mut std::collections::BTreeSet<PathBuf>, out: &mut Vec<PathBuf>| {
        for a in dir.ancestors() {
            if !a.starts_with(zone_dir) || !dirs.insert(a.to_path_buf()) {
                break;
            }
            out.extend(crate::layout::uncommitted_files(a));
        }
    };
    visit(&dataset_dir(zone_dir, spec), &mut dirs, &mut in_flight);
    let mut d = list(lake_root, zone_dir, spec)?;
    let mut after = std::collections::BTreeSet::new();
    for f in &d.files {
        if let Some(parent) = f.path.parent() {
            visit(parent, &mut after, &mut in_flight);
        }
    }
    if !in_flight.is_empty() {
        d.files.retain(|f| {
            let skip = in_flight.contains(&f.path);
            if skip {
                tracing::warn!(dataset = %spec.name.get_ref(), file = %f.path.display(), "Leaving out a file of a promotion that is still being published.");
            }
            !skip
        });
    }
    Ok(d)
}

/// The directory a dataset's path starts from (its literal prefix).
fn dataset_dir(zone_dir: &Path, spec: &DatasetSpec) -> std::path::PathBuf {
    let pattern = spec.path.get_ref().trim_end_matches('/');
    let full = zone_dir.join(if is_glob(pattern) {
        literal_prefix(pattern)
    } else {
        pattern
    });
    if full.is_file() {
        full.parent().map_or_else(|| zone_dir.to_path_buf(), Path::to_path_buf)
    } else {
        full
    }
}

fn list(lake_root: &Path, zone_dir: &Path, spec: &DatasetSpec) -> Result<Discovered, DatasetError> {
    let dataset = spec.name.get_ref().clone();
    let pattern = spec.path.get_ref().trim_end_matches('/');
    let (root, paths) = if is_glob(pattern) {
        let prefix = literal_prefix(pattern);
        let root = zone_dir.join(prefix);
        if !root.exists() {
            return Err(DatasetError::Missing { dataset, path: root });
        }
        let paths = glob_files(zone_dir, pattern, Some(lake_root)).map_err(|message| DatasetError::Listing {
            dataset: dataset.clone(),
            path: root.clone(),
            message,
        })?;
        (root, paths)
    } else {
        let full = zone_dir.join(pattern);
        if full.exists() && !crate::paths::is_within(lake_root, &full) {
            return Err(DatasetError::Listing {
                dataset,
                path: full,
                message:
                    "it leads outside the lake root (through a link); lakegate reads only what lies inside the lake"
                        .into(),
            });
        }
        if full.is_file() {
            let root = full.parent().map_or_else(|| zone_dir.to_path_buf(), Path::to_path_buf);
            (root, vec![full])
        } else if full.is_dir() {
            let paths = glob_files(&full, "**", Some(lake_root)).map_err(|message| DatasetError::Listing {
                dataset: dataset.clone(),
                path: full.clone(),
                message,
            })?;
            (full, paths)
        } else {
            return Err(DatasetError::Missing { dataset, path: full });
        }
    };
    finish(spec, root, paths)
}

/// A dataset made of an explicit list of files (e.g. a promotion snapshot). `root` is the dataset's
/// directory, against which partitions are read.
pub(crate) fn from_list(spec: &DatasetSpec, root: &Path, files: Vec<PathBuf>) -> Result<Discovered, DatasetError> {
    for f in &files {
        if !f.is_file() {
            return Err(DatasetError::Missing {
                dataset: spec.name.get_ref().clone(),
                path: f.clone(),
            });
        }
    }
    finish(spec, root.to_path_buf(), files)
}

/// The dataset from its listed files: candidates kept, format chosen, partitions read.
fn finish(spec: &DatasetSpec, root: PathBuf, paths: Vec<PathBuf>) -> Result<Discovered, DatasetError> {
    let candidates = candidates(spec.name.get_ref(), &root, paths)?;
    finish_candidates(spec, root, candidates)
}

/// The dataset from its files (each with its `/`-separated path below `root` and its size): format chosen,
/// partitions read. Also for files listed from an object store.
pub(crate) fn finish_candidates(
    spec: &DatasetSpec,
    root: PathBuf,
    mut candidates: Vec<(PathBuf, String, u64)>,
) -> Result<Discovered, DatasetError> {
    let format = choose_format(spec, &mut candidates)?;
    let partition_keys = match &spec.partitions {
        Some(keys) => keys.clone(),
        None => detect_partition_keys(&candidates),
    };
    let files = candidates
        .into_iter()
        .map(|(path, rel, size)| {
            let partitions = partition_values(&partition_keys, &rel);
            DataFile {
                path,
                rel,
                partitions,
                size,
            }
        })
        .collect();
    Ok(Discovered {
        root,
        format,
        files,
        partition_keys,
    })
}

/// The listed files with their `/`-separated paths below `root`, without hidden and empty files.
fn candidates(dataset: &str, root: &Path, paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, String, u64)>, DatasetError> {
    // Drop hidden files below the root and empty files (no schema, no rows).
    let mut candidates = Vec::new();
    for p in paths {
        let rel = p.strip_prefix(root).map_or_else(
            |_| p.file_name().map(PathBuf::from).unwrap_or_default(),
            Path::to_path_buf,
        );
        if rel.components().any(|c| is_hidden(&c.as_os_str().to_string_lossy())) {
            continue;
        }
        let size = std::fs::metadata(&p)
            .map_err(|e| DatasetError::Unreadable {
                dataset: dataset.to_string(),
                path: p.clone(),
                message: e.to_string(),
            })?
            .len();
        if size == 0 {
            tracing::warn!(dataset = %dataset, file = %p.display(), "Skipping an empty file.");
            continue;
        }
        candidates.push((p, slash(&rel), size));
    }
    Ok(candidates)
}

/// The declared format, or the one format the extensions name; keeps only the files of that format.
fn choose_format(spec: &DatasetSpec, candidates: &mut Vec<(PathBuf, String, u64)>) -> Result<Format, DatasetError> {
    if let Some(f) = spec.format {
        candidates.retain(|(p, _, _)| {
            let ext = extension(p);
            Format::from_extension(&ext) == Some(f) || LOOSE_EXTENSIONS.contains(&ext.as_str())
        });
        return Ok(f);
    }
    let dataset = spec.name.get_ref().clone();
    let mut formats: Vec<Format> = candidates
        .iter()
        .filter_map(|(p, _, _)| Format::from_extension(&extension(p)))
        .collect();
    formats.sort_by_key(|f| f.as_str());
    formats.dedup();
    match formats.as_slice() {
        [f] => {
            let f = *f;
            candidates.retain(|(p, _, _)| Format::from_extension(&extension(p)) == Some(f));
            Ok(f)
        }
        [] if candidates.is_empty() => Ok(Format::Parquet),
        [] => {
            let mut exts: Vec<String> = candidates
                .iter()
                .map(|(p, _, _)| format!(".{}", extension(p)))
                .collect();
            exts.sort();
            exts.dedup();
            Err(DatasetError::UnknownFormat {
                dataset,
                found: exts.join(", "),
            })
        }
        many => {
            let found = many.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ");
            Err(DatasetError::MixedFormats { dataset, found })
        }
    }
}

/// The `key=value` directories of a file's relative path, outermost first.
fn partition_dirs(rel: &str) -> Vec<(String, String)> {
    let mut segs: Vec<&str> = rel.split('/').collect();
    segs.pop();
    segs.iter()
        .filter_map(|s| s.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The partition keys present, in the same order, in every file's directories (none otherwise).
fn detect_partition_keys(candidates: &[(PathBuf, String, u64)]) -> Vec<String> {
    let mut iter = candidates
        .iter()
        .map(|(_, rel, _)| partition_dirs(rel).into_iter().map(|(k, _)| k).collect::<Vec<_>>());
    match iter.next() {
        Some(first) if iter.all(|k| k == first) => first,
        _ => Vec::new(),
    }
}

/// A file's value of each partition key, decoded; `None` when missing or hive's default partition.
fn partition_values(keys: &[String], rel: &str) -> Vec<Option<String>> {
    let found = partition_dirs(rel);
    keys.iter()
        .map(|k| {
            found
                .iter()
                .find(|(fk, _)| fk == k)
                .map(|(_, v)| percent_decode(v))
                .filter(|v| v != "__HIVE_DEFAULT_PARTITION__")
        })
        .collect()
}

/// Hive escapes special characters in partition values as `%XX`.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hive_escapes() {
        assert_eq!(percent_decode("2024-01-01%3A00"), "2024-01-01:00");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("50%"), "50%");
    }
}
