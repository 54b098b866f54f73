//! The only module that writes into a zone (and, later, the history store).
//!
//! Every write is durable and atomic from a reader's point of view: data goes to a temporary name
//! in the destination directory, is fsynced, renamed into place, and the directory is fsynced so the
//! rename itself survives a crash. `clippy.toml` forbids `std::fs::rename` everywhere else.
//!
//! [`fault_point`] is a test hook: when `LAKEGATE_FAULT` names the step being passed, the process
//! kills itself with SIGKILL there, so crash safety is tested with real crashes.

#![allow(clippy::disallowed_methods)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Flushes a directory entry change (create, rename, remove) to disk.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a directory and its missing parents, fsyncing each parent whose entries changed.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    // The empty path is the parent of a relative path's first component: the working directory.
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        fsync_dir(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })?;
    }
    Ok(())
}

/// Writes `bytes` to a hidden temporary file beside `path` (fsynced when `durable`); returns the
/// directory and the temporary path. Readers skip names starting with `.`, so a crash leaves nothing
/// they would read.
fn write_temp<'a>(path: &'a Path, bytes: &[u8], durable: bool) -> io::Result<(&'a Path, std::path::PathBuf)> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a file path has no directory"))?;
    create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
    f.write_all(bytes)?;
    if durable {
        f.sync_all()?;
    }
    Ok((dir, tmp))
}

/// Replaces a cache file whole (temp file, rename) without waiting for the disk: for files that are
/// checked when read (a seal, or a parse that fails on a torn file) and only ever save work, so a
/// crash costs at most a recomputation, never a wrong answer — and a run does not pay the fsyncs.
pub(crate) fn write_cache(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (_, tmp) = write_temp(path, bytes, false)?;
    fs::rename(&tmp, path)
}

/// Writes a whole file atomically: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, tmp) = write_temp(path, bytes, true)?;
    fs::rename(&tmp, path)?;
    fsync_dir(dir)
}

/// An I/O error and the path it happened at (the copy's source or its destination), so a full or
/// read-only zone is reported as the zone being written, not as the file being read.
#[derive(Debug)]
pub(crate) struct PathError {
    pub path: std::path::PathBuf,
    pub error: io::Error,
}

impl PathError {
    fn at(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |error| Self {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Copies a file and fsyncs the copy (the caller renames it into place). An error names the path
/// whose read or write failed.
pub(crate) fn copy_durable(src: &Path, dst: &Path) -> Result<u64, PathError> {
    use std::io::Read;
    if let Some(dir) = dst.parent() {
        create_dir_all(dir).map_err(PathError::at(dir))?;
    }
    let mut from = File::open(src).map_err(PathError::at(src))?;
    let mut to = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dst)
        .map_err(PathError::at(dst))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PathError::at(src)(e)),
        };
        fail_point("copy-write")
            .and_then(|()| to.write_all(&buf[..got]))
            .map_err(PathError::at(dst))?;
        n += got as u64;
    }
    to.sync_all().map_err(PathError::at(dst))?;
    Ok(n)
}

/// Whether lakegate's own directory `path` exists: `Ok(false)` when it does not, an error when it
/// is a link or not a directory. lakegate never follows a link in its own bookkeeping directories
/// (staging, locks): a planted link would make it delete or overwrite what lies outside the lake.
pub(crate) fn own_dir(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::other(format!(
            "{} is a symbolic link; lakegate never follows links in its own directories (remove the link)",
            crate::diag::display_path(path)
        ))),
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(io::Error::other(format!(
            "{} is not a directory; lakegate keeps its own bookkeeping there (remove the file)",
            crate::diag::display_path(path)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a directory if it is empty (a staging parent after the last promotion), else leaves it.
pub(crate) fn remove_empty_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir(dir) {
        Ok(()) => {
            if let Some(parent) = dir.parent() {
                fsync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames a file or directory and fsyncs both directories involved.
pub(crate) fn rename_durable(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(dir) = to.parent() {
        create_dir_all(dir)?;
    }
    fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        fsync_dir(dir)?;
    }
    if let Some(dir) = from.parent()
        && dir.exists()
    {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Removes a file and fsyncs its directory.
pub(crate) fn remove_file(path: &Path) -> io::Result<()> {
    fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Removes a directory tree (staging leftovers) and fsyncs its parent.
pub(crate) fn remove_dir_all(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent()
        && parent.exists()
    {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Test hooks at a named step (of a promotion, or `audit-run` in the audit daemon):
/// - `LAKEGATE_FAULT=STEP` SIGKILLs this process there;
/// - `LAKEGATE_PAUSE=STEP:FILE` creates FILE and waits (up to 60 s) until a test removes it.
pub(crate) fn fault_point(step: &str) {
    if let Some(pause) = std::env::var_os("LAKEGATE_PAUSE")
        && let Some((at, file)) = pause.to_string_lossy().split_once(':')
        && at == step
    {
        let file = std::path::PathBuf::from(file);
        let _ = fs::write(&file, std::process::id().to_string());
        let start = std::time::Instant::now();
        while file.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let Some(want) = std::env::var_os("LAKEGATE_FAULT") else {
        return;
    };
    if want.to_string_lossy() != step {
        return;
    }
    tracing::warn!(step, "LAKEGATE_FAULT: killing this process (test hook).");
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
    // If `kill` is unavailable, die as abruptly as Rust allows.
    std::process::abort();
}

/// Test hook: `LAKEGATE_FAIL=STEP` makes the operation at that step fail with an I/O error, as a
/// read-only or full disk would (tests run as root, for whom permissions never fail).
pub(crate) fn fail_point(step: &str) -> io::Result<()> {
    match std::env::var_os("LAKEGATE_FAIL") {
        Some(want) if want.to_string_lossy() == step => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("injected failure at `{step}` (LAKEGATE_FAIL test hook)"),
        )),
        _ => Ok(()),
    }
}

/// Publishes a new file only if nothing exists at `path` (a hard link from a fsynced temp file, so
/// the name appears whole or not at all). Returns `false` when the name was taken.
pub(crate) fn publish_new(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let (dir, tmp) = write_temp(path, bytes, true)?;
    let linked = fs::hard_link(&tmp, path);
    fs::remove_file(&tmp)?;
    match linked {
        Ok(()) => {
            fsync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}
