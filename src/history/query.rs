//! `lakegate history --sql`: the history store as two DataFusion tables, `runs` and `checks`.
//!
//! The tables have fixed, documented schemas (see docs/history.md). Only files that parse as
//! lakegate records are registered — a foreign or damaged file is skipped with a warning, never read
//! as data — and the query runs with DDL, DML and statements disabled.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig};
use datafusion::error::Result as DfResult;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use super::{CheckRecord, RunRecord, Store};

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub fn runs_schema() -> SchemaRef {
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

pub fn checks_schema() -> SchemaRef {
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

fn register(ctx: &SessionContext, name: &str, schema: SchemaRef, files: &[std::path::PathBuf]) -> DfResult<()> {
    if files.is_empty() {
        let t = MemTable::try_new(schema.clone(), vec![vec![RecordBatch::new_empty(schema)]])?;
        ctx.register_table(TableReference::bare(name), Arc::new(t))?;
        return Ok(());
    }
    let urls = files
        .iter()
        .map(|f| crate::engine::file_url(f))
        .collect::<DfResult<Vec<_>>>()?;
    let opts = ListingOptions::new(Arc::new(JsonFormat::default())).with_file_extension("");
    let cfg = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(schema);
    ctx.register_table(TableReference::bare(name), Arc::new(ListingTable::try_new(cfg)?))?;
    Ok(())
}

/// Why a history query gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
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

/// The deepest cause of an error, all of it on one line (a regex error's reason is on its last line,
/// "Resources exhausted" lists the consumers after a colon).
fn whole(e: &datafusion::error::DataFusionError) -> String {
    let root = e.find_root();
    let rest: Vec<String> = root
        .to_string()
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let first = crate::engine::error::clean(root);
    if rest.is_empty() {
        first
    } else {
        format!("{first} {}", rest.join(" "))
    }
}

/// Runs a read-only SQL query over `runs` and `checks`, within `engine`'s memory pool and the
/// time bound: a query without end (`WITH RECURSIVE` with no stop, `generate_series(1, 1e11)`) is
/// stopped with an error, and the collected result may not outgrow the pool either.
pub async fn query(
    store: &Store,
    sql: &str,
    engine: &crate::config::EngineConfig,
    timeout: std::time::Duration,
) -> Result<Vec<RecordBatch>, QueryError> {
    use futures::StreamExt;
    let invalid = |e: datafusion::error::DataFusionError| QueryError::Invalid(whole(&e));
    let failed = |e: datafusion::error::DataFusionError| QueryError::Failed(whole(&e));
    let ctx = crate::engine::bounded_session(engine).map_err(failed)?;
    register(
        &ctx,
        "runs",
        runs_schema(),
        &valid_files::<RunRecord>(&store.runs_dir()),
    )
    .map_err(failed)?;
    register(
        &ctx,
        "checks",
        checks_schema(),
        &valid_files::<CheckRecord>(&store.checks_dir()),
    )
    .map_err(failed)?;
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let limit = usize::try_from(engine.memory_limit).unwrap_or(usize::MAX);
    let run = async {
        let df = ctx.sql_with_options(sql, options).await.map_err(invalid)?;
        let plan = df.create_physical_plan().await.map_err(invalid)?;
        let mut stream = datafusion::physical_plan::execute_stream(plan, ctx.task_ctx()).map_err(failed)?;
        let mut batches = Vec::new();
        let mut bytes = 0usize;
        while let Some(b) = stream.next().await {
            let b = b.map_err(failed)?;
            bytes = bytes.saturating_add(b.get_array_memory_size());
            if bytes > limit {
                return Err(QueryError::TooLarge(format!("{} MB", engine.memory_limit >> 20)));
            }
            batches.push(b);
        }
        Ok(batches)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(QueryError::Timeout(crate::duration::human(
            i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        ))),
    }
}
