//! SQL a person wrote, run read-only over files the caller names (`history --sql`), and the
//! engine's side of parsing a suite's `where`/`sql` fragments ([`crate::fragment::Lowering`]).
//!
//! The query runs in a session from [`super::session`] — the same memory pool, partitions and
//! case-sensitive identifiers as the checks — with DDL, DML and statements disabled, within a time
//! bound, and its collected result may not outgrow the memory pool either.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DFSchema, TableReference};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

use crate::config::EngineConfig;

/// A table of newline-delimited JSON files with a fixed schema.
pub(crate) struct NdjsonTable<'a> {
    pub name: &'a str,
    pub schema: SchemaRef,
    pub files: &'a [std::path::PathBuf],
}

/// Why a query gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SqlError {
    /// The SQL does not parse or plan (a usage error: nothing ran).
    #[error("{0}")]
    Invalid(String),
    /// The query started and failed (resources exhausted, a value that does not convert).
    #[error("{0}")]
    Failed(String),
    /// The query did not finish within the time bound.
    #[error("timed out")]
    Timeout,
    /// The collected result outgrew the memory pool.
    #[error("result larger than the memory limit")]
    TooLarge,
}

fn register(ctx: &SessionContext, t: &NdjsonTable<'_>) -> DfResult<()> {
    if t.files.is_empty() {
        let empty = MemTable::try_new(t.schema.clone(), vec![vec![RecordBatch::new_empty(t.schema.clone())]])?;
        ctx.register_table(TableReference::bare(t.name), Arc::new(empty))?;
        return Ok(());
    }
    let urls = t
        .files
        .iter()
        .map(|f| super::dataset::source::file_url(f))
        .collect::<DfResult<Vec<_>>>()?;
    let opts = ListingOptions::new(Arc::new(JsonFormat::default())).with_file_extension("");
    let cfg = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(t.schema.clone());
    ctx.register_table(TableReference::bare(t.name), Arc::new(ListingTable::try_new(cfg)?))?;
    Ok(())
}

/// The deepest cause of an error, all of it on one line (a regex error's reason is on its last line,
/// "Resources exhausted" lists the consumers after a colon).
fn whole(e: &DataFusionError) -> String {
    let root = e.find_root();
    let rest: Vec<String> = root
        .to_string()
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let first = super::error::clean(root);
    if rest.is_empty() {
        first
    } else {
        format!("{first} {}", rest.join(" "))
    }
}

/// Runs a read-only SQL query over `tables`, within `config`'s memory pool and `timeout`: a query
/// without end (`WITH RECURSIVE` with no stop, `generate_series(1, 1e11)`) is stopped with an error.
pub(crate) async fn read_only(
    config: &EngineConfig,
    tables: &[NdjsonTable<'_>],
    sql: &str,
    timeout: std::time::Duration,
) -> Result<Vec<RecordBatch>, SqlError> {
    use futures::StreamExt;
    let invalid = |e: DataFusionError| SqlError::Invalid(whole(&e));
    let failed = |e: DataFusionError| SqlError::Failed(whole(&e));
    // The history's files are on this machine: its queries run here whatever `[engine] url` says.
    let here = EngineConfig {
        url: None,
        ..config.clone()
    };
    let ctx = super::session::session(&here).map_err(failed)?;
    for t in tables {
        register(&ctx, t).map_err(failed)?;
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let limit = usize::try_from(config.memory_limit).unwrap_or(usize::MAX);
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
                return Err(SqlError::TooLarge);
            }
            batches.push(b);
        }
        Ok(batches)
    };
    tokio::time::timeout(timeout, run)
        .await
        .unwrap_or(Err(SqlError::Timeout))
}

impl crate::fragment::Lowering for super::Engine {
    fn parse_sql(&self, sql: &str, schema: &DFSchema) -> DfResult<Expr> {
        self.ctx.parse_sql_expr(sql, schema)
    }

    fn lower(&self, e: Expr, schema: &DFSchema) -> Result<Expr, String> {
        super::kernels::overflow::rewrite(e, schema)
    }
}
