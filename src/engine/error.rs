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

/// A DataFusion error as one readable line. DataFusion nests contexts ("… caused by …") and some
/// messages run over several lines (a resources-exhausted error lists the memory consumers after
/// "as:"): every line is kept, joined, and backtraces dropped.
pub(crate) fn clean(e: &datafusion::error::DataFusionError) -> String {
    let s = e.to_string();
    let mut s = s
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("backtrace:"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let prefixes = [
        "External error: ",
        "Arrow error: ",
        "Parquet error: ",
        "Execution error: ",
        "Error during planning: ",
        "Schema error: ",
        "Object Store error: ",
    ];
    while let Some(p) = prefixes.iter().find(|p| s.starts_with(**p)) {
        s = s[p.len()..].to_string();
    }
    // An S3 store's own words carry its request and response; say what happened instead.
    if s.contains("Request precondition failure") || s.contains("Generic S3 error") {
        s = super::dataset::remote::explain(&s);
    }
    #[cfg(feature = "ballista")]
    if let Some(words) = super::ballista::explain(&s) {
        return words;
    }
    if s.starts_with("Resources exhausted") {
        s.push_str(
            ". The query needs more memory than the pool allows and could not spill enough; \
             raise `memory_limit` in [engine] (or --memory-limit)",
        );
    }
    s
}

/// The cause of a read error, for a message that names the file itself: [`clean`] without the
/// reader's "Error when processing CSV file PATH caused by" (PATH lacks its leading `/`) and
/// without the layers' prefixes; arrow's ragged-row message is put in words.
pub(crate) fn read_cause(e: &datafusion::error::DataFusionError) -> String {
    cause_of(&clean(e))
}

/// The longest cause printed: some reader messages quote a whole record (a JSON array file quotes
/// the file).
const MAX_CAUSE: usize = 300;

/// [`read_cause`] of a message.
pub(crate) fn cause_of(message: &str) -> String {
    let s = cause_in_full(message);
    if s.chars().count() <= MAX_CAUSE {
        return s;
    }
    let cut: String = s.chars().take(MAX_CAUSE).collect();
    format!("{cut}…")
}

fn cause_in_full(message: &str) -> String {
    let mut s = message.to_string();
    for marker in ["Error when processing CSV file ", "Error when processing JSON file "] {
        if let Some(at) = s.find(marker) {
            let rest = &s[at + marker.len()..];
            if let Some(end) = rest
                .find(" caused by ")
                .map(|i| i + " caused by ".len())
                .or_else(|| rest.find(": ").map(|i| i + 2))
            {
                s = format!("{}{}", &s[..at], &rest[end..]);
            }
        }
    }
    let prefixes = [
        "Arrow error: ",
        "Csv error: ",
        "Json error: ",
        "Parser error: ",
        "Parquet error: ",
        "External error: ",
    ];
    while let Some(p) = prefixes.iter().find(|p| s.starts_with(**p)) {
        s = s[p.len()..].to_string();
    }
    // "Encountered unequal lengths between records on CSV file. Expected 2 records, found 3 records at line 3"
    if let Some(rest) = s.strip_prefix("Encountered unequal lengths between records on CSV file. Expected ") {
        let words: Vec<&str> = rest.split(' ').collect();
        if let [want, "records,", "found", got, "records", "at", "line", line, ..] = words.as_slice() {
            return format!("line {line} has {got} fields where the first record has {want}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{MAX_CAUSE, cause_of};

    #[test]
    fn read_causes_drop_the_path_and_the_layers() {
        assert_eq!(
            cause_of(
                "Error when processing CSV file tmp/x/a.csv caused by Arrow error: Csv error: Encountered unequal lengths between records on CSV file. Expected 2 records, found 3 records at line 3"
            ),
            "line 3 has 3 fields where the first record has 2"
        );
        assert_eq!(
            cause_of("Json error: whilst decoding field 'v': failed to parse \"x\" as Int64"),
            "whilst decoding field 'v': failed to parse \"x\" as Int64"
        );
        let long = format!(
            "Expected JSON record to be an object, found Array [{}]",
            "1, ".repeat(1000)
        );
        assert_eq!(cause_of(&long).chars().count(), MAX_CAUSE + 1);
    }
}
