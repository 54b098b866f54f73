//! The batch: the exact list of source files a promotion checks and publishes, with their sizes,
//! modification times and SHA-256 checksums. Files that arrive later are not part of it; a file that
//! changes after the snapshot is caught by its checksum before anything is published.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::DataFile;

/// One file of a batch, as recorded in manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapFile {
    /// Path relative to the dataset's directory, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    pub sha256: String,
    /// The object's ETag when the batch was taken (object stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
}

/// A source file and its record.
#[derive(Debug, Clone)]
pub(crate) struct BatchFile {
    pub source: PathBuf,
    pub record: SnapFile,
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

pub(crate) fn take(files: &[DataFile]) -> std::io::Result<Vec<BatchFile>> {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(&f.path)?;
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
            Ok(BatchFile {
                source: f.path.clone(),
                record: SnapFile {
                    path: f.rel.clone(),
                    size: meta.len(),
                    mtime_ns,
                    sha256: sha256_file(&f.path)?,
                    e_tag: None,
                },
            })
        })
        .collect()
}
