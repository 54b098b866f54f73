//! Executing a planned suite: the fused scan, the keyed queries, the verdicts, then samples.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::common::TableReference;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{Expr, lit};
use datafusion::prelude::DataFrame;
use datafusion::scalar::ScalarValue;
use serde_json::Value;

use super::error::clean;
use super::stats::FooterStats;
use super::{Engine, OpenDataset, PlannedCheck, sample, watchdog};
use crate::checks::{DatasetHistory, EvalCx, Observation, Shape, Verdict, column};
use crate::suite::Suite;

/// What running one dataset's suite produced.
#[derive(Debug)]
pub struct DatasetRun {
    /// Rows in the dataset (`None` when it could not be read).
    pub rows: Option<u64>,
    /// Queries that read data, samples included.
    pub queries: u32,
    /// Of those, the queries that fetched failing-row samples.
    pub sample_queries: u32,
    pub checks: Vec<CheckRun>,
    /// Set when the dataset could not be read at all.
    pub error: Option<String>,
    /// The columns the fused scan read (none when Parquet footers answered every check).
    pub scanned_columns: Vec<String>,
}

/// One check's outcome.
#[derive(Debug)]
pub struct CheckRun {
    /// Index into the suite's checks.
    pub index: usize,
    /// The verdict, or why the check could not be evaluated.
    pub verdict: Result<Verdict, String>,
    pub sample: Vec<Value>,
    /// The numbers came from Parquet footers, not a scan.
    pub from_statistics: bool,
}

/// Numbers the fused scan measured for one check.
#[derive(Debug, Default, Clone)]
struct Measured {
    in_scope: u64,
    failing: Option<u64>,
    values: Vec<ScalarValue>,
    /// Answered from Parquet footers rather than a scan.
    from_statistics: bool,
}

/// What the fused query (or the footers) measured.
struct Fused {
    total: u64,
    measured: Vec<Measured>,
    /// The columns the scan read (none when the footers answered everything).
    scanned: Vec<String>,
}

/// The columns the file scans of a physical plan read, from each scan's own projection (a scan may
/// also compute expressions over them).
fn scanned_columns(plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> Vec<String> {
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;
    let mut out: Vec<String> = Vec::new();
    let mut stack = vec![plan.clone()];
    while let Some(p) = stack.pop() {
        let scan = p
            .downcast_ref::<DataSourceExec>()
            .and_then(|d| d.data_source().downcast_ref::<FileScanConfig>());
        if let Some(scan) = scan {
            let schema = scan.file_source.table_schema().table_schema();
            let indices = match scan.file_source.projection() {
                Some(proj) => proj.column_indices(),
                None => (0..schema.fields().len()).collect(),
            };
            for i in indices {
                if let Some(f) = schema.fields().get(i)
                    && !out.contains(f.name())
                {
                    out.push(f.name().clone());
                }
            }
        }
        stack.extend(p.children().into_iter().cloned());
    }
    out.sort();
    out
}

/// Adds the check's scope to every aggregate inside an expression (`FILTER (WHERE …)`).
fn scoped(e: Expr, scope: Option<&Expr>) -> DfResult<Expr> {
    let Some(scope) = scope else { return Ok(e) };
    e.transform(|node| {
        Ok(match node {
            Expr::AggregateFunction(mut af) => {
                let filter = match af.params.filter.take() {
                    Some(f) => scope.clone().and(*f),
                    None => scope.clone(),
                };
                af.params.filter = Some(Box::new(filter));
                Transformed::yes(Expr::AggregateFunction(af))
            }
            other => Transformed::no(other),
        })
    })
    .map(|t| t.data)
}

fn as_u64(v: &ScalarValue) -> u64 {
    match v {
        ScalarValue::Int64(Some(x)) => u64::try_from(*x).unwrap_or(0),
        ScalarValue::UInt64(Some(x)) => *x,
        other => other
            .cast_to(&datafusion::arrow::datatypes::DataType::Int64)
            .ok()
            .and_then(|c| {
                if let ScalarValue::Int64(Some(x)) = c {
                    u64::try_from(x).ok()
                } else {
                    None
                }
            })
            .unwrap_or(0),
    }
}

fn first_row(batches: &[RecordBatch]) -> DfResult<Vec<ScalarValue>> {
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| datafusion::error::DataFusionError::Internal("an aggregate returned no row".into()))?;
    (0..batch.num_columns())
        .map(|i| ScalarValue::try_from_array(batch.column(i), 0))
        .collect()
}

/// Whether an error comes from reading the files (the dataset is unreadable) rather than from
/// evaluating a check (a cast or a division that fails on some value).
fn is_read_error(e: &datafusion::error::DataFusionError) -> bool {
    use datafusion::arrow::error::ArrowError;
    use datafusion::error::DataFusionError as E;
    match e {
        E::ParquetError(_) | E::ObjectStore(_) | E::IoError(_) => true,
        // A JSON value that does not fit its column's inferred type is a fault of the checks that
        // read the column, as a CSV value is ("whilst decoding field 'v': failed to parse …").
        E::ArrowError(a, _) => match a.as_ref() {
            ArrowError::JsonError(m) => !m.contains("whilst decoding field"),
            other => matches!(
                other,
                ArrowError::CsvError(_)
                    | ArrowError::IoError(..)
                    | ArrowError::ParquetError(_)
                    | ArrowError::ExternalError(_)
            ),
        },
        E::Context(_, inner) => is_read_error(inner),
        E::Shared(inner) => is_read_error(inner),
        E::External(inner) => inner
            .downcast_ref::<datafusion::error::DataFusionError>()
            .is_none_or(is_read_error),
        _ => false,
    }
}

/// What the fused scan learned about a `unique` check's single integer key.
enum KeyHint {
    None,
    /// The keys span `lo..lo + span`.
    Range(i64, u64),
    /// The keys in scope themselves.
    Collected(Vec<i64>),
}

/// `(failing rows, duplicated keys, sample)` of an integer key from its repeated keys and counts.
fn integer_duplicates(key: &str, mut counts: Vec<(i64, u64)>, n: usize) -> (u64, u64, Vec<Value>) {
    let rows = counts.iter().map(|c| c.1).sum();
    let dup_keys = counts.len() as u64;
    // Only keys as repeated as the n-th most repeated can be in the sample.
    if n > 0 && counts.len() > n {
        counts.select_nth_unstable_by(n - 1, |a, b| b.1.cmp(&a.1));
        let least = counts[n - 1].1;
        counts.retain(|c| c.1 >= least);
    }
    let pool = if n == 0 { Vec::new() } else { counts };
    let pool = pool
        .into_iter()
        .map(|(k, c)| {
            let c = i64::try_from(c).unwrap_or(i64::MAX);
            let mut row = serde_json::Map::new();
            row.insert(key.to_string(), Value::from(k));
            row.insert("count".to_string(), Value::from(c));
            (c, vec![ScalarValue::Int64(Some(k))], Value::Object(row))
        })
        .collect();
    (
        rows,
        dup_keys,
        most_repeated(pool, n).into_iter().map(|p| p.2).collect(),
    )
}

/// A duplicated key of a `unique` sample: its count, its key values and its row.
type Repeated = (i64, Vec<ScalarValue>, Value);

/// The `n` most repeated keys, ties in key order.
fn most_repeated(mut pool: Vec<Repeated>, n: usize) -> Vec<Repeated> {
    pool.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
    });
    pool.truncate(n);
    pool
}

/// Position of an expression in the aggregate list, adding it once.
fn slot(aggs: &mut Vec<Expr>, e: Expr) -> usize {
    if let Some(i) = aggs.iter().position(|x| *x == e) {
        i
    } else {
        aggs.push(e);
        aggs.len() - 1
    }
}

impl Engine {
    /// An evaluation error in words, with what to do when a CSV/JSON value does not fit the type
    /// inferred from the first `infer_rows` records.
    /// `column` is the check's own column, named in the advice when there is one.
    fn explain(&self, ds: &OpenDataset, mut message: String, column: Option<&str>) -> String {
        // The CSV reader quotes the whole row; the value and its line say enough, and the row's
        // other values do not belong in a report.
        if let Some(at) = message.find(". Row data: ") {
            message.truncate(at);
        }
        let misfit = message.contains("Cast error")
            || message.contains("Error while parsing value")
            || message.contains("whilst decoding field");
        if ds.format == crate::suite::Format::Parquet || !misfit {
            return message;
        }
        format!(
            "{message}. Column types of CSV and JSON files are inferred from their first {} records; \
             declare the column's type in the suite's [dataset] (types = {{ {} = \"string\" }}) or \
             raise `infer_rows` in [engine]",
            crate::checks::fmt_count(self.config.infer_rows as u64),
            column.unwrap_or("column")
        )
    }

    async fn collect(&self, df: DataFrame, counter: &AtomicU32) -> DfResult<Vec<RecordBatch>> {
        counter.fetch_add(1, Ordering::Relaxed);
        let task = std::sync::Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        watchdog::guard(
            plan.clone(),
            watchdog::STALL,
            datafusion::physical_plan::collect(plan, task),
        )
        .await
    }

    /// One aggregate query for every check given: rows in scope, failing rows, aggregate values.
    /// What the Parquet footers state exactly (`stats`) is taken from them instead; when that
    /// answers every check, no query runs at all.
    async fn fused(
        &self,
        table: &str,
        checks: &[&PlannedCheck],
        stats: Option<&FooterStats>,
        collect_keys: bool,
        counter: &AtomicU32,
    ) -> DfResult<Fused> {
        /// Where a number comes from.
        #[derive(Clone)]
        enum At {
            Total,
            Count(usize),
            Agg(usize),
            Known(ScalarValue),
        }
        // Row counts (rows in scope, failing rows) are predicates counted by one `lakegate_count_true`;
        // other aggregates (max, avg, user metrics) are computed beside it. Identical ones are shared.
        let base = self.ctx.table(TableReference::bare(table)).await?;
        let schema = base.schema().clone();
        let mut preds: Vec<Expr> = Vec::new();
        let mut aggs: Vec<Expr> = Vec::new();
        let mut slots = Vec::with_capacity(checks.len());
        for c in checks {
            let footers = stats.filter(|_| c.scope.is_none());
            let in_scope = match &c.scope {
                None => At::Total,
                Some(s) => At::Count(slot(&mut preds, super::fast_paths(s.clone(), &schema))),
            };
            // A `unique` check's integer key: for CSV and JSON the keys in scope themselves
            // (`key_list`: the file is parsed once); otherwise the key's range over the whole
            // dataset (it bounds the keys of any scope too), for the bitmaps of `key_bitmap`.
            if let Shape::Unique { columns } = &c.shape
                && let [key] = columns.as_slice()
                && schema
                    .field_with_unqualified_name(key)
                    .is_ok_and(|f| super::kernel::fits_i64(f.data_type()))
            {
                let values = if collect_keys {
                    let cap = usize::try_from(self.config.memory_limit / 4 / 8).unwrap_or(usize::MAX);
                    let e = scoped(super::key_list::keys(column(key), cap), c.scope.as_ref())?;
                    vec![At::Agg(slot(&mut aggs, e))]
                } else {
                    [min(column(key)), max(column(key))]
                        .map(|e| match stats.and_then(|st| st.aggregate(&e)) {
                            Some(v) => At::Known(v),
                            None => At::Agg(slot(&mut aggs, e)),
                        })
                        .to_vec()
                };
                slots.push((in_scope, None, values, false));
                continue;
            }
            let known = footers.and_then(|st| match &c.shape {
                Shape::Rows { failing } => st
                    .count_true(failing)
                    .map(|n| (Some(At::Known(ScalarValue::UInt64(Some(n)))), Vec::new())),
                Shape::Aggregates(exprs) => exprs
                    .iter()
                    .map(|e| st.aggregate(e).map(At::Known))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| (None, v)),
                _ => None,
            });
            let from_statistics = known.is_some();
            let (failing, values) = match (known, &c.shape) {
                (Some(k), _) => k,
                (None, Shape::Rows { failing }) => {
                    let pred = match &c.scope {
                        Some(s) => s.clone().and(failing.clone()),
                        None => failing.clone(),
                    };
                    (
                        Some(At::Count(slot(&mut preds, super::fast_paths(pred, &schema)))),
                        Vec::new(),
                    )
                }
                (None, Shape::Aggregates(exprs)) => {
                    let mut v = Vec::new();
                    for e in exprs {
                        v.push(At::Agg(slot(&mut aggs, scoped(e.clone(), c.scope.as_ref())?)));
                    }
                    (None, v)
                }
                _ => (None, Vec::new()),
            };
            slots.push((in_scope, failing, values, from_statistics));
        }
        let mut scanned = Vec::new();
        let (total, counts, agg_values) = match stats {
            // Everything is known: the footers' row count is exact.
            Some(st) if preds.is_empty() && aggs.is_empty() => (st.rows(), Vec::new(), Vec::new()),
            _ => {
                let mut list = vec![count(lit(1i64)).alias("rows")];
                let counted = !preds.is_empty();
                if counted {
                    let preds = super::shared_lists::share(preds);
                    list.push(super::count_true::count_true(preds).alias("counts"));
                }
                let first_agg = list.len();
                list.extend(aggs.into_iter().enumerate().map(|(i, e)| e.alias(format!("m{i}"))));
                let df = base.aggregate(vec![], list)?;
                let plan = df.create_physical_plan().await?;
                scanned = scanned_columns(&plan);
                counter.fetch_add(1, Ordering::Relaxed);
                let batches = watchdog::guard(
                    plan.clone(),
                    watchdog::STALL,
                    datafusion::physical_plan::collect(plan, self.ctx.task_ctx()),
                )
                .await?;
                let mut row = first_row(&batches)?;
                let counts = if counted {
                    super::count_true::counts_of(&row[1])
                } else {
                    Vec::new()
                };
                // The footers' row count is exact; using it keeps `row_count` "from statistics" true.
                let total = stats.map_or_else(|| as_u64(&row[0]), FooterStats::rows);
                (total, counts, row.split_off(first_agg))
            }
        };
        let value = |at: At| -> ScalarValue {
            match at {
                At::Total => ScalarValue::UInt64(Some(total)),
                At::Count(i) => ScalarValue::UInt64(Some(counts.get(i).copied().unwrap_or(0))),
                At::Agg(i) => agg_values[i].clone(),
                At::Known(v) => v,
            }
        };
        let measured = slots
            .into_iter()
            .map(|(in_scope, failing, values, from_statistics)| Measured {
                in_scope: as_u64(&value(in_scope)),
                failing: failing.map(|f| as_u64(&value(f))),
                values: values.into_iter().map(value).collect(),
                from_statistics,
            })
            .collect();
        Ok(Fused {
            total,
            measured,
            scanned,
        })
    }

    /// Failing rows and duplicated keys of a `unique` check. A single integer key is counted from
    /// the keys the fused scan collected (`key_list`), or with bitmaps when its range (`lo`,
    /// `span` keys) is known (`key_bitmap`); otherwise, or when the bitmaps do not fit, with one
    /// grouped query.
    async fn unique(
        &self,
        table: &str,
        columns: &[String],
        scope: Option<&Expr>,
        n: usize,
        hint: KeyHint,
        counter: &AtomicU32,
    ) -> DfResult<(u64, u64, Vec<Value>)> {
        let keys: Vec<Expr> = columns.iter().map(|c| column(c)).collect();
        match (hint, columns) {
            (KeyHint::Collected(collected), [key]) => {
                tracing::debug!(
                    keys = collected.len(),
                    "Counted repeated keys collected by the fused scan."
                );
                return Ok(integer_duplicates(key, super::key_list::repeated(collected), n));
            }
            (KeyHint::Range(lo, span), [key]) => {
                let df = sample::keyed_rows(&self.ctx, table, &keys, scope)
                    .await?
                    .select(keys.clone())?;
                counter.fetch_add(1, Ordering::Relaxed);
                if let Some(d) = super::key_bitmap::find(&self.ctx, df, lo, span).await? {
                    return Ok(integer_duplicates(key, d.counts.into_iter().collect(), n));
                }
                tracing::debug!(key = %key, "The key bitmaps do not fit; grouping the keys instead.");
            }
            _ => {}
        }
        // One grouped query yields the counts and the sample: the duplicated keys stream back and
        // are summed here, keeping the `n` most repeated (ties in key order) as the sample.
        let df = sample::keyed_rows(&self.keyed_ctx, table, &keys, scope)
            .await?
            .aggregate(keys, vec![count(lit(1i64)).alias("count")])?
            .filter(column("count").gt(lit(1i64)))?;
        counter.fetch_add(1, Ordering::Relaxed);
        let task = std::sync::Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let stream = datafusion::physical_plan::execute_stream(plan.clone(), task)?;
        watchdog::guard(plan, watchdog::STALL, Self::most_repeated_keys(stream, n)).await
    }

    /// Sums the duplicated keys of a grouped `unique` query as they stream back, keeping the `n`
    /// most repeated as the sample.
    async fn most_repeated_keys(
        mut stream: datafusion::execution::SendableRecordBatchStream,
        n: usize,
    ) -> DfResult<(u64, u64, Vec<Value>)> {
        let (mut rows, mut dup_keys) = (0u64, 0u64);
        let mut pool: Vec<Repeated> = Vec::new();
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            let batch = batch?;
            let counts = batch
                .column(batch.num_columns() - 1)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .cloned();
            let Some(counts) = counts else { continue };
            dup_keys += batch.num_rows() as u64;
            rows += counts
                .values()
                .iter()
                .map(|c| u64::try_from(*c).unwrap_or(0))
                .sum::<u64>();
            if n == 0 {
                continue;
            }
            let floor = if pool.len() >= n {
                pool.iter().map(|p| p.0).min().unwrap_or(0)
            } else {
                0
            };
            for (i, c) in counts.values().iter().enumerate() {
                if *c >= floor {
                    let key = (0..batch.num_columns() - 1)
                        .map(|j| ScalarValue::try_from_array(batch.column(j), i))
                        .collect::<DfResult<Vec<_>>>()?;
                    let row = sample::to_json(&[batch.slice(i, 1)]).pop().unwrap_or(Value::Null);
                    pool.push((*c, key, row));
                }
            }
            if pool.len() > 4 * n {
                pool = most_repeated(pool, n);
            }
        }
        Ok((
            rows,
            dup_keys,
            most_repeated(pool, n).into_iter().map(|p| p.2).collect(),
        ))
    }

    /// Rows whose value is absent from the other dataset, and how many distinct values that is.
    async fn reference(
        &self,
        table: &str,
        col: &str,
        other: &str,
        to: &str,
        scope: Option<&Expr>,
        counter: &AtomicU32,
    ) -> DfResult<(u64, u64)> {
        let df = if self.small_pool() {
            sample::orphans_grouped(&self.keyed_ctx, table, col, other, to, scope)
                .await?
                .aggregate(
                    vec![],
                    vec![
                        datafusion::functions_aggregate::expr_fn::sum(column("count")).alias("rows"),
                        // As count_distinct: a value that does not cast (null) is no value.
                        count(column("__lakegate_v")).alias("values"),
                    ],
                )?
        } else {
            sample::orphans(&self.keyed_ctx, table, col, other, to, scope)
                .await?
                .aggregate(
                    vec![],
                    vec![
                        count(lit(1i64)).alias("rows"),
                        datafusion::functions_aggregate::expr_fn::count_distinct(column("__lakegate_v"))
                            .alias("values"),
                    ],
                )?
        };
        let row = first_row(&self.collect(df, counter).await?)?;
        Ok((as_u64(&row[0]), as_u64(&row[1])))
    }

    /// The first file of a dataset that cannot be read, with where and why ("FILE, row group 2,
    /// column `v`: …" or "FILE: … at line 7"), found after a scan failed: a DataFusion read error
    /// names no file. Parquet files are decoded completely ([`super::verify`]); CSV and JSON files
    /// are read alone, every column parsed, in file order.
    /// `columns` limits the CSV/JSON probe to the columns a check reads (all when `None`). Returns
    /// the file (relative) and the cause.
    async fn unreadable_file(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        columns: Option<&[String]>,
    ) -> Option<(String, String)> {
        if ds.format == crate::suite::Format::Parquet {
            let paths: Vec<std::path::PathBuf> = ds.files.iter().map(|f| f.path.clone()).collect();
            return match tokio::task::spawn_blocking(move || super::verify::decode_files(&paths)).await {
                Ok(Err(e)) => Some((e.place(), e.message)),
                _ => None,
            };
        }
        for (f, fs) in ds.files.iter().zip(&ds.file_schemas) {
            let one = super::discover::Discovered {
                root: ds.root.clone(),
                format: ds.format,
                files: vec![f.clone()],
                partition_keys: ds.partition_keys.clone(),
            };
            let table = super::source::build_table(
                &self.ctx,
                &suite.dataset,
                &one,
                std::slice::from_ref(&fs.schema),
                &ds.schema,
                self.config.infer_rows,
            );
            let every_column = |t| -> DfResult<DataFrame> {
                let df = self.ctx.read_table(t)?;
                let counts = df
                    .schema()
                    .fields()
                    .iter()
                    .filter(|c| columns.is_none_or(|only| only.is_empty() || only.contains(c.name())))
                    .map(|c| count(column(c.name())))
                    .collect::<Vec<_>>();
                df.aggregate(vec![], counts)
            };
            let read = match table.and_then(every_column) {
                Ok(df) => df.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = read {
                let syntax = (ds.format == crate::suite::Format::Json)
                    .then(|| super::source::json_syntax_error(&f.path))
                    .flatten();
                let mut why = syntax.unwrap_or_else(|| super::error::read_cause(&e));
                // Arrow's CSV line numbers restart with each partition's byte range.
                if ds.format == crate::suite::Format::Csv
                    && let Some(fault) = super::csv_locate::fault(&why)
                    && let Some(line) = super::csv_locate::locate(&f.path, &suite.dataset.csv, &fault)
                {
                    why = super::csv_locate::with_line(&why, line);
                }
                // "whilst decoding field 'v': failed to parse …": add the line it is on.
                if ds.format == crate::suite::Format::Json
                    && let Some(rest) = why.split("whilst decoding field '").nth(1)
                    && let Some(name) = rest.split('\'').next()
                    && let Ok(field) = ds.schema.field_with_name(name)
                    && let Some(line) = super::source::json_misfit_line(&f.path, name, field.data_type())
                {
                    why = format!("line {line}: {why}");
                }
                return Some((crate::diag::display_path(&f.path), why));
            }
        }
        None
    }

    /// Runs a planned suite over an opened dataset.
    pub async fn run(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        planned: &[PlannedCheck],
        now: DateTime<Utc>,
        history: &DatasetHistory,
    ) -> DatasetRun {
        let queries = AtomicU32::new(0);
        let samples = AtomicU32::new(0);
        let evaluate = |p: &PlannedCheck, in_scope: u64, obs: &Observation<'_>| {
            let decl = &suite.checks[p.index];
            let cx = EvalCx {
                common: &decl.common,
                in_scope,
                now,
                baseline: history.baselines.get(&decl.id).map_or(&[][..], Vec::as_slice),
            };
            decl.check.evaluate(&cx, obs)
        };

        if ds.is_empty() {
            let checks = planned
                .iter()
                .map(|p| CheckRun {
                    index: p.index,
                    verdict: Ok(evaluate(p, 0, &Observation::Empty)),
                    sample: Vec::new(),
                    from_statistics: false,
                })
                .collect();
            return DatasetRun {
                rows: Some(0),
                queries: 0,
                sample_queries: 0,
                checks,
                error: None,
                scanned_columns: Vec::new(),
            };
        }

        // Footers answer what they state exactly (checks without `where` only).
        let stats = if self.config.statistics && planned.iter().any(|p| p.scope.is_none()) {
            FooterStats::read(ds)
        } else {
            None
        };

        let started = std::time::Instant::now();
        // Files without footers are parsed once: the fused scan collects `unique` integer keys.
        let collect_keys = ds.format != crate::suite::Format::Parquet;
        // 1. The fused scan. If it fails, run each check alone to find the one that cannot be
        //    evaluated; if every one fails, the dataset itself cannot be read.
        let all: Vec<&PlannedCheck> = planned.iter().collect();
        let mut measured: Vec<Result<Measured, String>> = Vec::new();
        let mut scanned: Vec<String> = Vec::new();
        let rows = match self
            .fused(&ds.table, &all, stats.as_ref(), collect_keys, &queries)
            .await
        {
            Ok(f) => {
                measured.extend(f.measured.into_iter().map(Ok));
                scanned = f.scanned;
                Some(f.total)
            }
            Err(first) => {
                let mut rows = None;
                if !is_read_error(&first) {
                    for p in &all {
                        match self
                            .fused(&ds.table, &[*p], stats.as_ref(), collect_keys, &queries)
                            .await
                        {
                            Ok(mut f) => {
                                rows = Some(f.total);
                                measured.push(Ok(f.measured.remove(0)));
                                for c in f.scanned {
                                    if !scanned.contains(&c) {
                                        scanned.push(c);
                                    }
                                }
                            }
                            Err(e) => {
                                let columns = suite.checks[p.index].check.columns();
                                let column = columns.first().map(|c| c.get_ref().as_str());
                                // Read the check's columns file by file: the first failure names
                                // the file and, counted in the file, the line (the reader names
                                // neither reliably).
                                let names: Vec<String> = columns.iter().map(|c| c.get_ref().clone()).collect();
                                let probe = if ds.format == crate::suite::Format::Parquet {
                                    None
                                } else {
                                    self.unreadable_file(suite, ds, Some(&names)).await
                                };
                                let why = match probe {
                                    Some((file, cause)) => format!("{file}: {}", self.explain(ds, cause, column)),
                                    None => self.explain(ds, super::error::read_cause(&e), column),
                                };
                                measured.push(Err(why));
                            }
                        }
                    }
                    if rows.is_none() && !measured.is_empty() {
                        // Every check failed on its own: count the rows to tell data from checks.
                        rows = self
                            .fused(&ds.table, &[], None, false, &queries)
                            .await
                            .ok()
                            .map(|f| f.total);
                    }
                }
                if rows.is_none() {
                    let error = match self.unreadable_file(suite, ds, None).await {
                        Some((file, why)) => format!("cannot read {file}: {why}"),
                        None => format!("cannot read the data: {}", clean(&first)),
                    };
                    return DatasetRun {
                        rows: None,
                        queries: queries.load(Ordering::Relaxed),
                        sample_queries: 0,
                        checks: Vec::new(),
                        error: Some(error),
                        scanned_columns: Vec::new(),
                    };
                }
                rows
            }
        };

        // 2. Keyed queries and verdicts.
        let mut checks = Vec::with_capacity(planned.len());
        let mut unique_samples: Vec<(usize, Vec<Value>)> = Vec::new();
        // A key query that cannot read the dataset's own files (a damaged page the fused scan did
        // not need): the dataset is unreadable, as when the fused scan fails.
        let mut unreadable = false;
        for (p, m) in planned.iter().zip(measured) {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    checks.push(CheckRun {
                        index: p.index,
                        verdict: Err(e),
                        sample: Vec::new(),
                        from_statistics: false,
                    });
                    continue;
                }
            };
            let verdict = match &p.shape {
                Shape::Rows { .. } => Ok(evaluate(
                    p,
                    m.in_scope,
                    &Observation::Rows {
                        failing: m.failing.unwrap_or(0),
                    },
                )),
                Shape::Aggregates(_) => Ok(evaluate(
                    p,
                    m.in_scope,
                    &Observation::Aggregates {
                        values: m.values.clone(),
                    },
                )),
                Shape::Missing { found, .. } => Err(found.sentence()),
                Shape::Schema => Ok(evaluate(
                    p,
                    m.in_scope,
                    &Observation::Schema {
                        files: &ds.file_schemas,
                        unified: &ds.schema,
                        compare_file_types: ds.format == crate::suite::Format::Parquet,
                        accepted: history.accepted.as_ref(),
                    },
                )),
                Shape::Unique { columns } => {
                    let n = suite.checks[p.index].common.sample;
                    let hint = match m.values.as_slice() {
                        [lo, hi] => super::key_bitmap::range(lo, hi, rows.unwrap_or(0))
                            .map_or(KeyHint::None, |(lo, span)| KeyHint::Range(lo, span)),
                        [keys] => super::key_list::collected(keys).map_or(KeyHint::None, KeyHint::Collected),
                        _ => KeyHint::None,
                    };
                    match self
                        .unique(&ds.table, columns, p.scope.as_ref(), n, hint, &queries)
                        .await
                    {
                        Ok((failing_rows, duplicate_keys, sample)) => {
                            let v = evaluate(
                                p,
                                m.in_scope,
                                &Observation::Unique {
                                    failing_rows,
                                    duplicate_keys,
                                },
                            );
                            if v.failed {
                                unique_samples.push((p.index, sample));
                            }
                            Ok(v)
                        }
                        Err(e) => {
                            unreadable |= is_read_error(&e)
                                && !matches!(&e, datafusion::error::DataFusionError::External(x) if x.is::<watchdog::Stalled>());
                            Err(clean(&e))
                        }
                    }
                }
                Shape::Reference {
                    column,
                    dataset,
                    to_column,
                } => self
                    .reference(&ds.table, column, dataset, to_column, p.scope.as_ref(), &queries)
                    .await
                    .map(|(failing_rows, distinct_missing)| {
                        evaluate(
                            p,
                            m.in_scope,
                            &Observation::Reference {
                                failing_rows,
                                distinct_missing,
                            },
                        )
                    })
                    .map_err(|e| format!("cannot compare with dataset `{dataset}`: {}", clean(&e))),
            };
            checks.push(CheckRun {
                index: p.index,
                verdict,
                sample: Vec::new(),
                from_statistics: m.from_statistics,
            });
        }

        if unreadable && let Some((file, why)) = self.unreadable_file(suite, ds, None).await {
            return DatasetRun {
                rows: None,
                queries: queries.load(Ordering::Relaxed),
                sample_queries: 0,
                checks: Vec::new(),
                error: Some(format!("cannot read {file}: {why}")),
                scanned_columns: Vec::new(),
            };
        }
        tracing::debug!(dataset = %ds.name, ms = started.elapsed().as_millis(), "Counted (fused scan and keyed queries).");
        let sampling = std::time::Instant::now();
        // 3. Samples, only for checks that failed.
        // Key columns the data lacks are reported by the run (`runner`), not sampled.
        let key: Vec<String> = suite
            .dataset
            .key
            .iter()
            .filter(|k| ds.schema.field_with_name(k).is_ok())
            .cloned()
            .collect();
        let key = &key;
        let mut row_samples: Vec<(usize, sample::RowSample)> = Vec::new();
        for (slot, (run, p)) in checks.iter_mut().zip(planned).enumerate() {
            let decl = &suite.checks[p.index];
            let n = decl.common.sample;
            if n == 0 || !run.verdict.as_ref().is_ok_and(|v| v.failed) {
                continue;
            }
            let df = match &p.shape {
                Shape::Rows { failing } => {
                    let pred = match &p.scope {
                        Some(s) => s.clone().and(failing.clone()),
                        None => failing.clone(),
                    };
                    let columns = sample::sample_columns(failing, p.scope.as_ref(), key, &decl.check.columns());
                    // The scan stops once it has found every failing row there is, if fewer than `n`.
                    let failing_rows = run.verdict.as_ref().ok().and_then(|v| v.failing_rows);
                    let n = failing_rows.map_or(n, |f| n.min(usize::try_from(f).unwrap_or(usize::MAX)));
                    row_samples.push((slot, sample::RowSample { pred, columns, n }));
                    continue;
                }
                Shape::Unique { .. } => {
                    // Taken from the unique query itself.
                    if let Some(pos) = unique_samples.iter().position(|(i, _)| *i == p.index) {
                        run.sample = unique_samples.swap_remove(pos).1;
                    }
                    continue;
                }
                Shape::Reference {
                    column,
                    dataset,
                    to_column,
                } => {
                    sample::missing_values(
                        &self.keyed_ctx,
                        &ds.table,
                        column,
                        (dataset, to_column),
                        p.scope.as_ref(),
                        n,
                        self.small_pool(),
                    )
                    .await
                }
                Shape::Aggregates(_) | Shape::Schema | Shape::Missing { .. } => continue,
            };
            let fetched = match df {
                Ok(df) => {
                    samples.fetch_add(1, Ordering::Relaxed);
                    self.collect(df, &queries).await
                }
                Err(e) => Err(e),
            };
            match fetched {
                Ok(batches) => run.sample = sample::to_json(&batches),
                Err(e) => {
                    tracing::warn!(check = %decl.id, error = %clean(&e), "Could not fetch the failing-row sample.")
                }
            }
        }
        if !row_samples.is_empty() {
            if ds.single_scan {
                // One query for every row-level sample, stopping as soon as each has its rows.
                samples.fetch_add(1, Ordering::Relaxed);
                queries.fetch_add(1, Ordering::Relaxed);
                let wanted: Vec<sample::RowSample> = row_samples
                    .iter()
                    .map(|(_, w)| sample::RowSample {
                        pred: w.pred.clone(),
                        columns: w.columns.clone(),
                        n: w.n,
                    })
                    .collect();
                match sample::failing_rows_in_file_order(&self.sample_ctx, &ds.table, &wanted).await {
                    Ok(found) => {
                        for ((slot, _), rows) in row_samples.iter().zip(found) {
                            checks[*slot].sample = rows;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(dataset = %ds.name, error = %clean(&e), "Could not fetch the failing-row samples.")
                    }
                }
            } else {
                for (slot, want) in &row_samples {
                    samples.fetch_add(1, Ordering::Relaxed);
                    let fetched = match sample::failing_rows_sorted(&self.ctx, &ds.table, want).await {
                        Ok(df) => self.collect(df, &queries).await,
                        Err(e) => Err(e),
                    };
                    match fetched {
                        Ok(batches) => checks[*slot].sample = sample::to_json(&batches),
                        Err(e) => {
                            tracing::warn!(dataset = %ds.name, error = %clean(&e), "Could not fetch a failing-row sample.")
                        }
                    }
                }
            }
        }

        if !row_samples.is_empty() {
            tracing::debug!(dataset = %ds.name, ms = sampling.elapsed().as_millis(), "Fetched failing-row samples.");
        }
        DatasetRun {
            rows,
            queries: queries.load(Ordering::Relaxed),
            sample_queries: samples.load(Ordering::Relaxed),
            checks,
            error: None,
            scanned_columns: scanned,
        }
    }
}
