//! What the audit daemon remembers between restarts, beside the history store in `audit/`:
//! per dataset the last slot it ran (`state/DATASET.json`, written atomically after each run), and a
//! lock file per dataset (`locks/DATASET.lock`) that a run holds, so that two daemons — or a daemon
//! and `audit --once` — never run one suite at once. The OS releases a lock when its process dies.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fs_atomic;

/// A dataset's persisted audit state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SlotState {
    pub dataset: String,
    /// The latest scheduled slot a run was started for (and finished).
    pub last_slot: DateTime<Utc>,
    /// The schedule and time zone the slot belongs to (shown by `audit status`).
    pub schedule: String,
    pub timezone: String,
}

/// The audit state directory of a history store.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub(crate) fn new(history_dir: &Path) -> Self {
        Self {
            dir: history_dir.join("audit"),
        }
    }

    fn state_path(&self, dataset: &str) -> PathBuf {
        self.dir.join("state").join(format!("{dataset}.json"))
    }

    /// The dataset's state; `None` when it never ran under the daemon or the file is unreadable
    /// (a torn file cannot exist: it is written by rename, so this is a file someone edited).
    pub(crate) fn read(&self, dataset: &str) -> Option<SlotState> {
        let path = self.state_path(dataset);
        let text = std::fs::read_to_string(&path).ok()?;
        match serde_json::from_str(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "Ignoring an unreadable audit state file.");
                None
            }
        }
    }

    /// Records that `state.last_slot` ran.
    pub(crate) fn write(&self, state: &SlotState) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
        fs_atomic::write_atomic(&self.state_path(&state.dataset), json.as_bytes())
    }

    /// Takes the dataset's run lock without waiting; `Ok(None)` when another process holds it.
    pub(crate) fn try_lock(&self, dataset: &str) -> std::io::Result<Option<File>> {
        try_lock_file(&self.dir.join("locks").join(format!("{dataset}.lock")))
    }

    /// Takes the lock of "the daemon of this history store"; `Ok(Err(pid))` when another daemon
    /// holds it (its pid as it wrote it).
    pub(crate) fn lock_daemon(&self) -> std::io::Result<Result<File, String>> {
        use std::io::Write;
        let path = self.dir.join("daemon.lock");
        match try_lock_file(&path)? {
            Some(mut f) => {
                f.set_len(0)?;
                write!(f, "{}", std::process::id())?;
                Ok(Ok(f))
            }
            None => Ok(Err(std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string())),
        }
    }

    /// Whether a process holds the dataset's run lock now (for `audit status`).
    pub(crate) fn is_running(&self, dataset: &str) -> bool {
        let path = self.dir.join("locks").join(format!("{dataset}.lock"));
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }
}

/// Opens (creating) a lock file without following a link planted in its place, and locks it
/// without waiting; `Ok(None)` when another process holds it.
fn try_lock_file(path: &Path) -> std::io::Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        fs_atomic::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => std::io::Error::other(format!(
                "{} is a symbolic link; lakegate never follows links in its own directories (remove it)",
                crate::diag::display_path(path)
            )),
            _ => e,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}
