//! One promotion of a dataset at a time: an OS file lock per dataset.
//!
//! The lock is an advisory `flock` on `LAKE/_lakegate/locks/DATASET.lock`. The OS releases it when the
//! holder dies, so a lock left by a killed process is never stale. The file holds the holder's pid and
//! start time so a waiting user is told who has it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::PromoteError;

/// A held dataset lock; released on drop.
#[derive(Debug)]
pub struct DatasetLock {
    _file: File,
}

pub fn acquire(lock_dir: &Path, dataset: &str, timeout: Duration, holder: &str) -> Result<DatasetLock, PromoteError> {
    crate::fs_atomic::create_dir_all(lock_dir).map_err(|e| PromoteError::io(lock_dir, &e))?;
    let path = lock_dir.join(format!("{dataset}.lock"));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| PromoteError::io(&path, &e))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
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
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(PromoteError::io(&path, &e)),
        }
    }
    file.set_len(0).map_err(|e| PromoteError::io(&path, &e))?;
    file.rewind().map_err(|e| PromoteError::io(&path, &e))?;
    let _ = file.write_all(holder.as_bytes());
    let _ = file.sync_all();
    Ok(DatasetLock { _file: file })
}
