//! The versioned schema catalog: numbered, accepted versions of each dataset's schema.
//!
//! A dataset's first recorded run accepts its schema as version 1; `lakegate schema accept` adds a
//! version deliberately. Versions are never rewritten: a new one is published with a hard link, which
//! fails if that number exists, so two processes accepting at once get two versions, never one torn.
//!
//! What a version holds and how two are compared (drift) is `crate::schemas`, shared with the
//! `schema` check.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::diag::display_path;
pub(crate) use crate::schemas::{ColumnRecord, SchemaVersion, columns_of};

/// The catalog of one store.
pub struct Catalog {
    pub dir: PathBuf,
}

impl Catalog {
    fn dataset_dir(&self, dataset: &str) -> PathBuf {
        self.dir.join("schemas").join(dataset)
    }

    /// Every version of a dataset's schema, oldest first. A version file that cannot be read or
    /// parsed is an error naming it: skipping it would make its number look free (and `accept`
    /// retry it forever) and the schema check compare with an older version.
    pub fn versions(&self, dataset: &str) -> Result<Vec<SchemaVersion>, CatalogError> {
        let mut out = Vec::new();
        for (_, path) in self.version_files(dataset)? {
            let v: SchemaVersion = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                .map_err(|message| CatalogError::Unreadable {
                    path: path.clone(),
                    message,
                })?;
            out.push(v);
        }
        out.sort_by_key(|v| v.version);
        Ok(out)
    }

    /// The files named like versions (`v<digits>.json`) with their numbers, in number order.
    fn version_files(&self, dataset: &str) -> Result<Vec<(u32, PathBuf)>, CatalogError> {
        let dir = self.dataset_dir(dataset);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(CatalogError::Unreadable {
                    path: dir,
                    message: e.to_string(),
                });
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CatalogError::Unreadable {
                path: dir.clone(),
                message: e.to_string(),
            })?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(n) = version_number(&name) {
                out.push((n, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The latest accepted version, if any.
    pub fn read_latest(&self, dataset: &str) -> Result<Option<SchemaVersion>, CatalogError> {
        Ok(self.versions(dataset)?.pop())
    }

    /// The latest accepted version, `None` also when the catalog cannot be read. For callers that
    /// only annotate a record; a run reads the catalog with [`Catalog::read_latest`] first.
    pub fn latest(&self, dataset: &str) -> Option<SchemaVersion> {
        self.read_latest(dataset).ok().flatten()
    }

    /// Accepts `columns` as the next version unless they equal the latest one. Returns the version
    /// and whether it is new. The next number is one past every version file that exists, readable
    /// or not; a file that cannot be read is an error, never a number to retry.
    pub fn accept(
        &self,
        dataset: &str,
        columns: Vec<ColumnRecord>,
        by: &str,
        run_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(u32, bool), CatalogError> {
        // Each round sees at least one more file than the last (the one that took its number), so
        // a bound only guards against a file system that lies.
        for _ in 0..1000 {
            let latest = self.read_latest(dataset)?;
            if let Some(l) = &latest
                && l.columns == columns
            {
                return Ok((l.version, false));
            }
            let taken = self.version_files(dataset)?.last().map_or(0, |(n, _)| *n);
            let version = latest.map_or(0, |l| l.version).max(taken) + 1;
            let v = SchemaVersion {
                dataset: dataset.to_string(),
                version,
                accepted_at: at,
                accepted_by: by.to_string(),
                run_id: run_id.clone(),
                columns: columns.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&v).map_err(|e| CatalogError::Write {
                path: self.dataset_dir(dataset),
                message: e.to_string(),
            })?;
            let path = self.dataset_dir(dataset).join(format!("v{version:06}.json"));
            match crate::fs_atomic::publish_new(&path, &bytes) {
                Ok(true) => return Ok((version, true)),
                // Another process took this number: look again.
                Ok(false) => {}
                Err(e) => {
                    return Err(CatalogError::Write {
                        path,
                        message: e.to_string(),
                    });
                }
            }
        }
        Err(CatalogError::Write {
            path: self.dataset_dir(dataset),
            message: "no free version number after 1000 attempts".into(),
        })
    }
}

/// Why the schema catalog could not be read or written (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the schema catalog file {}: {message}", display_path(.path))]
    Unreadable { path: PathBuf, message: String },
    #[error("cannot write the schema catalog at {}: {message}", display_path(.path))]
    Write { path: PathBuf, message: String },
}

/// `v000012.json` → 12 (any number of digits).
fn version_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('v')?.strip_suffix(".json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_come_from_file_names() {
        assert_eq!(version_number("v000012.json"), Some(12));
        assert_eq!(version_number("v7.json"), Some(7));
        assert_eq!(version_number(".v000001.json.tmp-1"), None);
        assert_eq!(version_number("v.json"), None);
        assert_eq!(version_number("vx1.json"), None);
    }
}
