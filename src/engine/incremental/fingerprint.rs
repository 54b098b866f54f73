//! What identifies a file's content cheaply enough to take on every run.
//!
//! A file is the same as when its numbers were stored when its size, its modification time (to the
//! nanosecond) and a SHA-256 digest of its first and last 64 KiB (the whole file when it is at most
//! 128 KiB) are unchanged. The ends catch what producers do: an append (size), a rewrite (time,
//! and the Parquet footer, which lies in the last 64 KiB and holds every row group's offsets and
//! statistics), a file replaced by one of the same size and time (its header or footer differ).
//! What it does not catch: a change inside a file larger than 128 KiB that keeps its size, its
//! modification time and both ends — an edit made in place that also resets the time on purpose.
//! `lakegate check --full` re-reads everything.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bytes hashed at each end of a file.
const END: u64 = 64 * 1024;

/// A file's identity as stored with its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub size: u64,
    /// Modification time: seconds and nanoseconds since the Unix epoch.
    pub modified: (i64, u32),
    /// SHA-256 of the first and last 64 KiB (the whole file up to 128 KiB), hex.
    pub digest: String,
}

/// The identity of the file at `path`, from one open file (its metadata and its bytes agree).
pub(crate) fn of(path: &Path) -> std::io::Result<FileId> {
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let size = meta.len();
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| {
            (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos())
        });
    let mut hash = Sha256::new();
    hash.update(size.to_le_bytes());
    let mut buf = Vec::new();
    if size <= 2 * END {
        f.read_to_end(&mut buf)?;
        hash.update(&buf);
    } else {
        (&mut f).take(END).read_to_end(&mut buf)?;
        hash.update(&buf);
        buf.clear();
        f.seek(SeekFrom::Start(size - END))?;
        f.take(END).read_to_end(&mut buf)?;
        hash.update(&buf);
    }
    Ok(FileId {
        size,
        modified,
        digest: hex(&hash.finalize()),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from their hex form; `None` when it is not one.
pub(crate) fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_and_time_with_other_ends_is_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        std::fs::write(&p, "id\n1\n2\n").unwrap();
        let a = of(&p).unwrap();
        let t = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, "id\n1\n3\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
        let b = of(&p).unwrap();
        assert_eq!((a.size, a.modified), (b.size, b.modified));
        assert_ne!(a.digest, b.digest);

        let big = dir.path().join("big.csv");
        let mut bytes = vec![b'x'; 300 * 1024];
        std::fs::write(&big, &bytes).unwrap();
        let c = of(&big).unwrap();
        *bytes.last_mut().unwrap() = b'y';
        std::fs::write(&big, &bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&big)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::new(c.modified.0 as u64, c.modified.1))
            .unwrap();
        assert_ne!(of(&big).unwrap().digest, c.digest, "the last bytes are hashed");
    }
}
