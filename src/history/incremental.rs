//! The incremental states of the history store: `HISTORY/incremental/DATASET/state.json` (per file,
//! its identity and its numbers) and `keys-CHECK-DIGEST.bin` (a `unique` check's key set, named by
//! the digest of its bytes).
//!
//! Every file is written whole and renamed into place (`fs_atomic::write_cache`), key sets before
//! the state that names them; a state that does not read as lakegate's (torn, altered, another
//! version's) is ignored — the run then reads every file — and a key set whose bytes do not match
//! their digest is rebuilt. So nothing here waits for the disk: a state lost or torn in a crash
//! costs the next run a full read, never a wrong answer. Each run replaces the state and removes the key sets it no longer names, so the store
//! holds one state per dataset, the size of its file list, whatever the number of runs.

use std::path::{Path, PathBuf};

use crate::engine::incremental::State;
use crate::engine::incremental::keys::KeySet;

/// The incremental states under a history directory.
pub(crate) struct States {
    dir: PathBuf,
}

impl States {
    pub(crate) fn new(history_dir: &Path) -> Self {
        Self {
            dir: history_dir.join("incremental"),
        }
    }

    fn dataset_dir(&self, dataset: &str) -> PathBuf {
        self.dir.join(dataset)
    }

    /// The dataset's stored state: `Ok(None)` when there is none, `Err` (why) when one is there
    /// but cannot be trusted.
    pub(crate) fn load(&self, dataset: &str) -> Result<Option<State>, String> {
        let dir = self.dataset_dir(dataset);
        // A planted link in lakegate's own directories is never followed.
        for d in [&self.dir, &dir] {
            crate::fs_atomic::own_dir(d).map_err(|e| e.to_string())?;
        }
        let path = dir.join("state.json");
        let bytes = match read_own(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut state: State = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a lakegate incremental state ({e})", path.display()))?;
        if state.format != crate::engine::incremental::state::FORMAT {
            return Err(format!("{} has another format ({})", path.display(), state.format));
        }
        let names: Vec<(String, String)> = state.keys.iter().map(|(fp, r)| (fp.clone(), r.file.clone())).collect();
        for (fp, file) in names {
            let set = safe_name(&file)
                .then(|| read_own(&dir.join(&file)).ok())
                .flatten()
                .and_then(|b| KeySet::from_bytes(&b));
            match set {
                Some(set) => {
                    state.key_sets.insert(fp, set);
                    state.intact.insert(file);
                }
                None => {
                    tracing::warn!(file = %dir.join(&file).display(), "A stored key set does not read; it is rebuilt.");
                    state.keys.remove(&fp);
                }
            }
        }
        Ok(Some(state))
    }

    /// Replaces the dataset's state: key sets first, then the state naming them, then the key sets
    /// no longer named are removed.
    pub(crate) fn save(&self, dataset: &str, state: &mut State) -> std::io::Result<()> {
        let dir = self.dataset_dir(dataset);
        for d in [&self.dir, &dir] {
            crate::fs_atomic::own_dir(d)?;
        }
        crate::fs_atomic::create_dir_all(&dir)?;
        for (fp, set) in &state.key_sets {
            let bytes = set.to_bytes();
            let digest = crate::engine::incremental::fingerprint::hex(&sha2::Digest::finalize(
                <sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes),
            ));
            let name = format!("keys-{fp}-{}.bin", &digest[..16]);
            // A file of that name read whole is these bytes; any other (a damaged one of the same
            // name included) is written anew.
            let path = dir.join(&name);
            if !state.intact.contains(&name) {
                crate::fs_atomic::write_cache(&path, &bytes)?;
            }
            if let Some(r) = state.keys.get_mut(fp) {
                r.file = name;
            }
        }
        let json = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_cache(&dir.join("state.json"), &json)?;
        let named: std::collections::BTreeSet<&str> = state.keys.values().map(|r| r.file.as_str()).collect();
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("keys-") && name.ends_with(".bin") && !named.contains(name.as_str()) {
                crate::fs_atomic::remove_file(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// A file's bytes, never through a symbolic link (a planted link is an error, not followed).
fn read_own(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A key-set file name as lakegate writes them (no path separators, no `..`).
fn safe_name(name: &str) -> bool {
    name.starts_with("keys-")
        && name.ends_with(".bin")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.contains("..")
}
