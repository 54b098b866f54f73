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
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a directory and its missing parents, fsyncing each parent whose entries changed.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
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
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Writes `bytes` to a hidden, fsynced temporary file beside `path`; returns the directory and the
/// temporary path. Readers skip names starting with `.`, so a crash leaves nothing they would read.
fn write_temp<'a>(path: &'a Path, bytes: &[u8]) -> io::Result<(&'a Path, std::path::PathBuf)> {
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
    f.sync_all()?;
    Ok((dir, tmp))
}

/// Writes a whole file atomically: temp file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, tmp) = write_temp(path, bytes)?;
    fs::rename(&tmp, path)?;
    fsync_dir(dir)
}

/// Copies a file and fsyncs the copy (the caller renames it into place).
pub fn copy_durable(src: &Path, dst: &Path) -> io::Result<u64> {
    if let Some(dir) = dst.parent() {
        create_dir_all(dir)?;
    }
    let n = fs::copy(src, dst)?;
    File::open(dst)?.sync_all()?;
    Ok(n)
}

/// Renames a file or directory and fsyncs both directories involved.
pub fn rename_durable(from: &Path, to: &Path) -> io::Result<()> {
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
pub fn remove_file(path: &Path) -> io::Result<()> {
    fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Removes a directory tree (staging leftovers) and fsyncs its parent.
pub fn remove_dir_all(dir: &Path) -> io::Result<()> {
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

/// Test hooks at a named step of a promotion:
/// - `LAKEGATE_FAULT=STEP` SIGKILLs this process there;
/// - `LAKEGATE_PAUSE=STEP:FILE` creates FILE and waits (up to 60 s) until a test removes it.
pub fn fault_point(step: &str) {
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

/// Publishes a new file only if nothing exists at `path` (a hard link from a fsynced temp file, so
/// the name appears whole or not at all). Returns `false` when the name was taken.
pub fn publish_new(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let (dir, tmp) = write_temp(path, bytes)?;
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
