//! Why a dataset could not be read (exit code 3).

use std::path::PathBuf;

use crate::diag::display_path;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("dataset `{dataset}`: {} does not exist", display_path(.path))]
    Missing { dataset: String, path: PathBuf },

    #[error("dataset `{dataset}`: cannot list {}: {message}", display_path(.path))]
    Listing {
        dataset: String,
        path: PathBuf,
        message: String,
    },

    #[error(
        "dataset `{dataset}`: cannot tell the format of its files ({found}); set `format` in its `[dataset]` table"
    )]
    UnknownFormat { dataset: String, found: String },

    #[error(
        "dataset `{dataset}`: its files mix formats ({found}); point `path` at one format, e.g. \"{dataset}/*.parquet\""
    )]
    MixedFormats { dataset: String, found: String },

    #[error("dataset `{dataset}`: cannot read {}: {message}", display_path(.path))]
    Unreadable {
        dataset: String,
        path: PathBuf,
        message: String,
    },

    #[error("dataset `{dataset}`: {message}")]
    Query { dataset: String, message: String },
}

/// A DataFusion error as one readable line (DataFusion nests contexts and backtraces).
pub fn clean(e: &datafusion::error::DataFusionError) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or_default().to_string();
    for prefix in [
        "External error: ",
        "Arrow error: ",
        "Parquet error: ",
        "Execution error: ",
        "Error during planning: ",
        "Schema error: ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    s
}
