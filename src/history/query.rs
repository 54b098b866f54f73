//! `lakegate history --sql`: the history store as two DataFusion tables, `runs` and `checks`.
//!
//! The tables have fixed, documented schemas (see docs/history.md). Only files that parse as
//! lakegate records are registered — a foreign or damaged file is skipped with a warning, never read
//! as data — and the engine runs the query read-only (`engine::sql`).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{CheckRecord, RunRecord, Store};

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn runs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("command", DataType::Utf8, true),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("zone", DataType::Utf8, true),
        Field::new("location", DataType::Utf8, true),
        Field::new("started_at", ts(), false),
        Field::new("finished_at", ts(), true),
        Field::new("status", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, true),
        Field::new("files", DataType::Int64, true),
        Field::new("queries", DataType::Int64, true),
        Field::new("duration_ms", DataType::Int64, true),
        Field::new("checks", DataType::Int64, true),
        Field::new("passed", DataType::Int64, true),
        Field::new("warned", DataType::Int64, true),
        Field::new("failed", DataType::Int64, true),
        Field::new("errored", DataType::Int64, true),
        Field::new("schema_version", DataType::Int64, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

pub(crate) fn checks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("started_at", ts(), false),
        Field::new("check_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("kind", DataType::Utf8, true),
        Field::new("column", DataType::Utf8, true),
        Field::new("severity", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("failing_rows", DataType::Int64, true),
        Field::new("failing_fraction", DataType::Float64, true),
        Field::new("value", DataType::Float64, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("limit_min", DataType::Float64, true),
        Field::new("limit_max", DataType::Float64, true),
    ]))
}

/// Files under `root` whose every line parses as `T`.
fn valid_files<T: serde::de::DeserializeOwned>(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(root).sort_by_file_name().into_iter().flatten() {
        let name = e.file_name().to_string_lossy();
        if !e.file_type().is_file() || name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let ok = std::fs::read_to_string(e.path()).ok().is_some_and(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| serde_json::from_str::<T>(l).is_ok())
        });
        if ok {
            out.push(e.path().to_path_buf());
        } else {
            tracing::warn!(file = %e.path().display(), "Skipping a history file that is not a lakegate record.");
        }
    }
    out
}

/// Why a history query gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QueryError {
    /// The SQL does not parse or plan (a usage error: nothing ran).
    #[error("the history query is not valid: {0}")]
    Invalid(String),
    /// The query started and failed (resources exhausted, a value that does not convert).
    #[error("the history query failed: {0}")]
    Failed(String),
    #[error("the history query did not finish within {0}; narrow it, or raise --timeout")]
    Timeout(String),
    #[error(
        "the history query's result is larger than the memory limit ({0}); add a LIMIT or aggregate, or raise --memory-limit"
    )]
    TooLarge(String),
}

/// Runs a read-only SQL query over `runs` and `checks`, within `engine`'s memory pool and the
/// time bound (see `engine::sql`).
pub(crate) async fn query(
    store: &Store,
    sql: &str,
    engine: &crate::config::EngineConfig,
    timeout: std::time::Duration,
) -> Result<Vec<RecordBatch>, QueryError> {
    use crate::engine::sql::{NdjsonTable, SqlError, read_only};
    let runs = valid_files::<RunRecord>(&store.runs_dir());
    let checks = valid_files::<CheckRecord>(&store.checks_dir());
    let tables = [
        NdjsonTable {
            name: "runs",
            schema: runs_schema(),
            files: &runs,
        },
        NdjsonTable {
            name: "checks",
            schema: checks_schema(),
            files: &checks,
        },
    ];
    read_only(engine, &tables, sql, timeout).await.map_err(|e| match e {
        SqlError::Invalid(m) => QueryError::Invalid(m),
        SqlError::Failed(m) => QueryError::Failed(m),
        SqlError::Timeout => QueryError::Timeout(crate::duration::human(
            i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        )),
        SqlError::TooLarge => QueryError::TooLarge(format!("{} MB", engine.memory_limit >> 20)),
    })
}
