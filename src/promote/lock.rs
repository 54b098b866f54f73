//! One promotion at a time per directory it touches: OS file locks keyed by directory.
//!
//! Two datasets can share a directory (`t/*/f[02].parquet` and `t/*/f[13].parquet`), and then share
//! the target directory's staging, recovery and manifests too; a lock per dataset name would let
//! one's recovery delete the other's in-flight staging. So a promotion locks the directory it
//! promotes (the dataset's base directory, relative to its zone: the same relative directory in the
//! source and the target zone) exclusively, and every ancestor of it shared: two promotions of
//! overlapping directories (`t` and `t/x`) wait for each other, siblings (`t/a`, `t/b`) run at once.
//! Locks are taken root first, so two promotions never wait for each other in a cycle.
//!
//! The locks are advisory `flock`s on files in `LAKE/_lakegate/locks/`. The OS releases them when the
//! holder dies, so a lock left by a killed process is never stale. The exclusive lock's file holds
//! the holder's pid, dataset, run id and start time, so a waiting user is told who has it. Lock files
//! are opened without following links and must be regular files: a planted link never makes lakegate
//! truncate what it points to. A dry run takes shared locks on the lock files that exist and writes
//! nothing.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::PromoteError;
use crate::fs_atomic;
use crate::paths::slash;

/// Held locks; released on drop.
#[derive(Debug)]
pub(crate) struct DatasetLock {
    _files: Vec<File>,
}

/// The lock file of a directory relative to the zones (`""` is the zones' roots).
fn lock_name(rel: &str) -> String {
    let digest = Sha256::digest(rel.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("dir-{hex}.lock")
}

/// The directories to lock for several base directories (the dataset's as written and as links
/// resolve it, in the source, target and quarantine zones): each one exclusive, every ancestor
/// shared, in one global order (sorted by name) so that two promotions never wait in a cycle.
fn all_levels(rel_bases: &[PathBuf]) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for rel in rel_bases {
        for (name, exclusive) in levels(rel) {
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(found) => found.1 |= exclusive,
                None => out.push((name, exclusive)),
            }
        }
    }
    out.sort();
    out
}

/// The directories to lock for `rel_base`: each ancestor (shared), then itself (exclusive).
fn levels(rel_base: &Path) -> Vec<(String, bool)> {
    let rel = slash(rel_base);
    let rel = rel.trim_matches('/');
    let mut out = vec![(String::new(), rel.is_empty())];
    let mut acc = String::new();
    let segs: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in segs.iter().enumerate() {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(seg);
        out.push((acc.clone(), i + 1 == segs.len()));
    }
    out
}

/// Opens a lock file without following links; refuses anything but a regular file.
fn open_lock(path: &Path, create: bool) -> Result<Option<File>, PromoteError> {
    let mut o = OpenOptions::new();
    o.read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    if create {
        o.write(true).create(true).truncate(false);
    }
    let file = match o.open(path) {
        Ok(f) => f,
        Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(PromoteError::Refused(format!(
                "{} is a symbolic link; lakegate never follows links in its own directories (remove the link)",
                crate::diag::display_path(path)
            )));
        }
        Err(e) => return Err(PromoteError::io(path, &e)),
    };
    let meta = file.metadata().map_err(|e| PromoteError::io(path, &e))?;
    if !meta.is_file() {
        return Err(PromoteError::Refused(format!(
            "{} is not a regular file; lakegate keeps its lock there (remove it)",
            crate::diag::display_path(path)
        )));
    }
    Ok(Some(file))
}

/// Locks the directories a promotion of `dataset` touches (`rel_bases`: its base directory relative
/// to the zones, as written and as resolved through links in each zone).
/// `dry_run`: shared locks on existing lock files only, nothing created or written.
pub(crate) fn acquire(
    lake_root: &Path,
    rel_bases: &[PathBuf],
    dataset: &str,
    timeout: Duration,
    holder: &str,
    dry_run: bool,
) -> Result<DatasetLock, PromoteError> {
    let meta = lake_root.join("_lakegate");
    let lock_dir = meta.join("locks");
    let ok = |p: &Path| fs_atomic::own_dir(p).map_err(|e| PromoteError::Refused(e.to_string()));
    if dry_run {
        if !ok(&meta)? || !ok(&lock_dir)? {
            return Ok(DatasetLock { _files: Vec::new() });
        }
    } else {
        ok(&meta)?;
        ok(&lock_dir)?;
        fs_atomic::create_dir_all(&lock_dir).map_err(|e| PromoteError::io(&lock_dir, &e))?;
        ok(&meta)?;
        ok(&lock_dir)?;
    }
    let start = Instant::now();
    let mut files = Vec::new();
    for (rel, exclusive) in all_levels(rel_bases) {
        let exclusive = exclusive && !dry_run;
        let path: PathBuf = lock_dir.join(lock_name(&rel));
        let Some(mut file) = open_lock(&path, !dry_run)? else {
            continue;
        };
        loop {
            let r = if exclusive {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match r {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        let mut who = String::new();
                        let _ = file.read_to_string(&mut who);
                        return Err(PromoteError::Locked {
                            dataset: dataset.to_string(),
                            holder: if who.trim().is_empty() {
                                "another process".into()
                            } else {
                                who.trim().to_string()
                            },
                            waited: timeout,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(PromoteError::io(&path, &e)),
            }
        }
        if exclusive {
            let dir = if rel.is_empty() {
                "the zones' roots".to_string()
            } else {
                format!("`{rel}`")
            };
            let text = format!("{holder}, promoting dataset `{dataset}` ({dir})");
            file.set_len(0).map_err(|e| PromoteError::io(&path, &e))?;
            file.rewind().map_err(|e| PromoteError::io(&path, &e))?;
            let _ = file.write_all(text.as_bytes());
            let _ = file.sync_all();
        }
        files.push(file);
    }
    Ok(DatasetLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_shared_then_the_directory_exclusive() {
        assert_eq!(
            levels(Path::new("t/x")),
            vec![("".into(), false), ("t".into(), false), ("t/x".into(), true)]
        );
        assert_eq!(levels(Path::new("")), vec![(String::new(), true)]);
        assert_ne!(lock_name("t"), lock_name("t/x"));
        assert_eq!(
            all_levels(&[PathBuf::from("t/x"), PathBuf::from("t"), PathBuf::from("u")]),
            vec![
                (String::new(), false),
                ("t".into(), true),
                ("t/x".into(), true),
                ("u".into(), true)
            ]
        );
    }
}
