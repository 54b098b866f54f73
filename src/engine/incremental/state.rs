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
    /// What each file's stored schema depends on: lakegate's version and the dataset's read
    /// options. Another value: the stored schemas are not used.
    pub options: String,
    /// What the stored numbers depend on besides the files: lakegate's version, the dataset's read
    /// options and its unified schema. Another value: every number is discarded.
    pub read: String,
    /// Per file (its path relative to the dataset), its identity and its numbers.
    pub files: BTreeMap<String, FileState>,
    /// Per `unique` check (its fingerprint): the files its key set covers and the key set's file.
    pub keys: BTreeMap<String, KeyRef>,
    /// Per check measured over every file (its fingerprint): its answer, reused while nothing it
    /// reads has changed.
    #[serde(default)]
    pub whole: BTreeMap<String, Whole>,
    /// The key sets themselves, by check fingerprint (read and written as files of their own).
    #[serde(skip)]
    pub key_sets: HashMap<String, KeySet>,
}

/// One file's identity and what each check measured in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileState {
    pub id: FileId,
    /// The file's own schema (Arrow IPC, hex): an unchanged file's schema is not read again.
    pub schema: Option<String>,
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

/// The answer of a check measured over every file, and what it read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Whole {
    /// Digest of the identities of every file of the dataset (and of the other dataset, for a
    /// `reference` check) when it was measured.
    pub read: String,
    pub in_scope: u64,
    pub answer: Answer,
    pub from_statistics: bool,
}

/// A stored observation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Answer {
    Aggregates(Vec<Stored>),
    Unique {
        failing_rows: u64,
        duplicate_keys: u64,
        /// The most repeated keys (the sample, if judged failed).
        repeated_keys: Vec<serde_json::Value>,
    },
    Reference {
        failing_rows: u64,
        distinct_missing: u64,
    },
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

/// A schema's stored form: its Arrow IPC encoding, in hex.
pub(crate) fn schema_bytes(schema: &datafusion::arrow::datatypes::Schema) -> String {
    use datafusion::arrow::ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteOptions};
    let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(
        schema,
        &mut DictionaryTracker::new(false),
        &IpcWriteOptions::default(),
    );
    super::fingerprint::hex(&encoded.ipc_message)
}

/// A stored schema read back; `None` when it is not one.
pub(crate) fn schema_from(hex: &str) -> Option<datafusion::arrow::datatypes::SchemaRef> {
    let bytes = super::fingerprint::unhex(hex)?;
    datafusion::arrow::ipc::convert::try_schema_from_flatbuffer_bytes(&bytes)
        .ok()
        .map(std::sync::Arc::new)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    #[test]
    fn a_stored_schema_reads_back_whole() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("name", DataType::Utf8View, true),
            Field::new("amount", DataType::Decimal128(12, 2), true),
        ])
        .with_metadata([("origin".to_string(), "test".to_string())].into());
        let back = super::schema_from(&super::schema_bytes(&schema)).unwrap();
        assert_eq!(*back, schema);
        assert!(super::schema_from("abc").is_none());
        assert!(super::schema_from("00ff").is_none());
    }
}
