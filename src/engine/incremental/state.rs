//! What an incremental run keeps between runs for one dataset: per file, its identity and the
//! numbers each mergeable check measured in it; per `unique` integer-key check, its key set and the
//! files it covers. The history store reads and writes it (`crate::history::incremental`); the
//! engine builds the next one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::fingerprint::FileId;
use super::keys::KeySet;
use super::partial::Stored;

/// The state file's format; another number is a foreign file.
pub(crate) const FORMAT: u32 = 1;

/// One dataset's incremental state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub format: u32,
    /// What the stored numbers depend on besides the files: lakegate's version, the dataset's read
    /// options and its unified schema. Another value: every number is discarded.
    pub read: String,
    /// Per file (its path relative to the dataset), its identity and its numbers.
    pub files: BTreeMap<String, FileState>,
    /// Per `unique` check (its fingerprint): the files its key set covers and the key set's file.
    pub keys: BTreeMap<String, KeyRef>,
    /// The key sets themselves, by check fingerprint (read and written as files of their own).
    #[serde(skip)]
    pub key_sets: HashMap<String, KeySet>,
}

/// One file's identity and what each check measured in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileState {
    pub id: FileId,
    pub rows: u64,
    /// By check fingerprint.
    pub checks: BTreeMap<String, Partials>,
}

/// A check's numbers in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Partials {
    pub in_scope: u64,
    pub failing: Option<u64>,
    pub values: Vec<Stored>,
    /// Stated by the file's footer rather than scanned.
    pub from_statistics: bool,
}

/// Where a key set is kept and what it covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRef {
    /// The key-set file's name (it contains the digest of its bytes).
    pub file: String,
    /// The files whose keys it holds, each as `path@digest`.
    pub covers: BTreeSet<String>,
}

/// How a file is named in a key set's cover: its path and its content digest.
pub(crate) fn covered(rel: &str, id: &FileId) -> String {
    format!("{rel}@{}", id.digest)
}
