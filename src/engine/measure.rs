//! Measuring a planned suite: the fused scan (or the footers), then the keyed queries.
//!
//! [`Engine::measure`] returns what was observed for each check — counts, aggregate values, the
//! dataset's schemas — never whether it passed: verdicts are the run's (`crate::run`), which
//! knows the clock and the history. The fused scan answers every row-level and aggregate check in
//! one aggregate query: each check's numbers have a [`Slots`] entry saying where in that query's
//! one result row (or in the footers) they are.

use std::sync::atomic::{AtomicU32, Ordering};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, TableReference};
use datafusion::error::Result as DfResult;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{Expr, lit};
use datafusion::prelude::DataFrame;
use datafusion::scalar::ScalarValue;
use serde_json::Value;

use super::dataset::footers::FooterStats;
use super::error::clean;
use super::{Engine, OpenDataset, PlannedCheck, sample, watchdog};
use crate::checks::{Observation, Shape, column};
use crate::suite::Suite;

/// What measuring one dataset's planned checks found.
#[derive(Debug)]
pub(crate) struct Measurement<'d> {
    /// Rows in the dataset (`None` when it could not be read; `error` then says why).
    pub rows: Option<u64>,
    /// Queries that read data.
    pub queries: u32,
    /// The columns the fused scan read (none when Parquet footers answered every check).
    pub scanned_columns: Vec<String>,
    /// One per planned check, in plan order (none when the dataset could not be read).
    pub checks: Vec<Measured<'d>>,
    /// Why the dataset could not be read.
    pub error: Option<String>,
}

/// What was measured for one check.
#[derive(Debug)]
pub(crate) struct Measured<'d> {
    /// Rows the check applies to (after its `where`).
    pub in_scope: u64,
    /// What the check asked to observe, or why it could not be measured.
    pub observation: Result<Observation<'d>, String>,
    /// The numbers came from Parquet footers, not a scan.
    pub from_statistics: bool,
    /// A `unique` check's most repeated keys, found by the query that counted them: its sample,
    /// if the run judges it failed.
    pub repeated_keys: Vec<Value>,
    /// In an incremental run: whether the numbers were merged from stored per-file states (or a
    /// persisted key set) rather than measured over every file; `None` in full runs.
    pub merged: Option<bool>,
}

impl Measurement<'_> {
    fn unreadable(error: String, queries: &AtomicU32) -> Self {
        Self {
            rows: None,
            queries: queries.load(Ordering::Relaxed),
            scanned_columns: Vec::new(),
            checks: Vec::new(),
            error: Some(error),
        }
    }
}

/// Numbers the fused scan measured for one check.
#[derive(Debug, Default, Clone)]
pub(super) struct Counted {
    pub(super) in_scope: u64,
    pub(super) failing: Option<u64>,
    pub(super) values: Vec<ScalarValue>,
    /// Answered from Parquet footers rather than a scan.
    pub(super) from_statistics: bool,
}

/// What the fused query (or the footers) measured.
pub(super) struct Fused {
    pub(super) total: u64,
    pub(super) measured: Vec<Counted>,
    /// The columns the scan read (none when the footers answered everything).
    pub(super) scanned: Vec<String>,
}

/// The columns the file scans of a physical plan read, from each scan's own projection (a scan may
/// also compute expressions over them).
pub(super) fn scanned_columns(plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> Vec<String> {
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

impl Engine {
    /// The columns `df`'s file scans read: from `plan` itself, or — when `plan` runs on a cluster
    /// and holds no scan here — from the plan this process would run for it (planned, not run).
    pub(super) async fn scanned_of(
        &self,
        df: &DataFrame,
        plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    ) -> DfResult<Vec<String>> {
        if !self.distributed() {
            return Ok(scanned_columns(plan));
        }
        use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
        let state = self.ctx.state();
        let logical = state.optimize(df.logical_plan())?;
        let here = DefaultPhysicalPlanner::default()
            .create_physical_plan(&logical, &state)
            .await?;
        Ok(scanned_columns(&here))
    }
}

/// Adds the check's scope to every aggregate inside an expression (`FILTER (WHERE …)`).
pub(super) fn scoped(e: Expr, scope: Option<&Expr>) -> DfResult<Expr> {
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
pub(super) fn integer_duplicates(key: &str, mut counts: Vec<(i64, u64)>, n: usize) -> (u64, u64, Vec<Value>) {
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

/// Where one of a check's numbers is: in the fused query's result row, or already known.
#[derive(Clone)]
enum At {
    /// The dataset's row count.
    Total,
    /// The i-th count of `lakegate_count_true`.
    Count(usize),
    /// The i-th other aggregate.
    Agg(usize),
    /// Stated exactly by the footers.
    Known(ScalarValue),
}

/// A fused query built but not run ([`Engine::build_fused`]).
pub(super) struct BuiltFused {
    pub(super) slots: Vec<Slots>,
    /// The aggregate, whether it counts predicates (`counts` is its second column), and the index
    /// of its first other aggregate; `None` when the footers answer everything.
    pub(super) query: Option<(DataFrame, bool, usize)>,
}

/// Where a check's numbers are in the fused query.
pub(super) struct Slots {
    in_scope: At,
    failing: Option<At>,
    values: Vec<At>,
    pub(super) from_statistics: bool,
}

/// The fused query being built: row predicates counted by one `lakegate_count_true`, and the
/// other aggregates (max, avg, user metrics) beside it. Identical ones are shared.
#[derive(Default)]
struct FusedQuery {
    preds: Vec<Expr>,
    aggs: Vec<Expr>,
}

impl FusedQuery {
    /// Adds what a check needs and says where its numbers will be. `key_cap`: collect a `unique`
    /// check's integer keys themselves, at most this many (files without footers).
    fn add(
        &mut self,
        c: &PlannedCheck,
        schema: &DFSchema,
        stats: Option<&FooterStats>,
        key_cap: Option<usize>,
    ) -> DfResult<Slots> {
        let footers = stats.filter(|_| c.scope.is_none());
        let in_scope = match &c.scope {
            None => At::Total,
            Some(s) => At::Count(slot(&mut self.preds, super::kernels::fast_paths(s.clone(), schema))),
        };
        // A `unique` check's integer key: for CSV and JSON the keys in scope themselves
        // (`key_list`: the file is parsed once); otherwise the key's range over the whole
        // dataset (it bounds the keys of any scope too), for the bitmaps of `key_bitmap`.
        if let Shape::Unique { columns } = &c.shape
            && let [key] = columns.as_slice()
            && schema
                .field_with_unqualified_name(key)
                .is_ok_and(|f| super::kernels::udf::fits_i64(f.data_type()))
        {
            let values = if let Some(cap) = key_cap {
                let e = scoped(super::kernels::key_list::keys(column(key), cap), c.scope.as_ref())?;
                vec![At::Agg(slot(&mut self.aggs, e))]
            } else {
                [min(column(key)), max(column(key))]
                    .map(|e| match stats.and_then(|st| st.aggregate(&e)) {
                        Some(v) => At::Known(v),
                        None => At::Agg(slot(&mut self.aggs, e)),
                    })
                    .to_vec()
            };
            return Ok(Slots {
                in_scope,
                failing: None,
                values,
                from_statistics: false,
            });
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
            (None, Shape::Rows { .. }) => {
                let pred = c.failing_in_scope().unwrap_or_else(|| lit(false));
                let at = At::Count(slot(&mut self.preds, super::kernels::fast_paths(pred, schema)));
                (Some(at), Vec::new())
            }
            (None, Shape::Aggregates(exprs)) => {
                let mut v = Vec::new();
                for e in exprs {
                    v.push(At::Agg(slot(&mut self.aggs, scoped(e.clone(), c.scope.as_ref())?)));
                }
                (None, v)
            }
            _ => (None, Vec::new()),
        };
        Ok(Slots {
            in_scope,
            failing,
            values,
            from_statistics,
        })
    }
}

impl Engine {
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

    /// The fused query for the checks given, not yet run: where each check's numbers will be, and
    /// the aggregate (with whether it counts predicates and where its other aggregates start), or
    /// `None` when the footers answer every check and no query is needed (with footers only).
    pub(super) async fn build_fused(
        &self,
        table: &str,
        checks: &[&PlannedCheck],
        stats: Option<&FooterStats>,
        collect_keys: bool,
    ) -> DfResult<BuiltFused> {
        let base = self.ctx.table(TableReference::bare(table)).await?;
        let schema = base.schema().clone();
        let mut query = FusedQuery::default();
        let key_cap = usize::try_from(self.config.memory_limit / 4 / 8).unwrap_or(usize::MAX);
        let slots = checks
            .iter()
            .map(|c| query.add(c, &schema, stats, collect_keys.then_some(key_cap)))
            .collect::<DfResult<Vec<Slots>>>()?;
        let FusedQuery { preds, aggs } = query;
        if stats.is_some() && preds.is_empty() && aggs.is_empty() {
            return Ok(BuiltFused { slots, query: None });
        }
        let mut list = vec![count(lit(1i64)).alias("rows")];
        let counted = !preds.is_empty();
        if counted {
            let preds = super::kernels::shared_lists::share(preds);
            list.push(super::kernels::count_true::count_true(preds).alias("counts"));
        }
        let first_agg = list.len();
        list.extend(aggs.into_iter().enumerate().map(|(i, e)| e.alias(format!("m{i}"))));
        let df = base.aggregate(vec![], list)?;
        Ok(BuiltFused {
            slots,
            query: Some((df, counted, first_agg)),
        })
    }

    /// One aggregate query for every check given: rows in scope, failing rows, aggregate values.
    /// What the Parquet footers state exactly (`stats`) is taken from them instead; when that
    /// answers every check, no query runs at all.
    pub(super) async fn fused(
        &self,
        table: &str,
        checks: &[&PlannedCheck],
        stats: Option<&FooterStats>,
        collect_keys: bool,
        counter: &AtomicU32,
    ) -> DfResult<Fused> {
        let built = self.build_fused(table, checks, stats, collect_keys).await?;
        let slots = built.slots;
        let mut scanned = Vec::new();
        let (total, counts, agg_values) = match built.query {
            // Everything is known (only ever with footers): their row count is exact.
            None => (stats.map_or(0, FooterStats::rows), Vec::new(), Vec::new()),
            Some((df, counted, first_agg)) => {
                let plan = df.clone().create_physical_plan().await?;
                scanned = self.scanned_of(&df, &plan).await?;
                counter.fetch_add(1, Ordering::Relaxed);
                let batches = watchdog::guard(
                    plan.clone(),
                    watchdog::STALL,
                    datafusion::physical_plan::collect(plan, self.ctx.task_ctx()),
                )
                .await?;
                let mut row = first_row(&batches)?;
                let counts = if counted {
                    super::kernels::count_true::counts_of(&row[1])
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
            .map(|s| Counted {
                in_scope: as_u64(&value(s.in_scope)),
                failing: s.failing.map(|f| as_u64(&value(f))),
                values: s.values.into_iter().map(value).collect(),
                from_statistics: s.from_statistics,
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
                return Ok(integer_duplicates(
                    key,
                    super::kernels::key_list::repeated(collected),
                    n,
                ));
            }
            // On a cluster the bitmaps would pull every key to this process: the grouped query runs
            // where the data is instead.
            (KeyHint::Range(lo, span), [key]) if !self.distributed() => {
                let df = sample::keyed_rows(&self.ctx, table, &keys, scope)
                    .await?
                    .select(keys.clone())?;
                counter.fetch_add(1, Ordering::Relaxed);
                if let Some(d) = super::kernels::key_bitmap::find(&self.ctx, df, lo, span).await? {
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

    /// What the fused scan of a dataset starts from: the Parquet footers' exact statistics (when
    /// they are on and a check without `where` could use them), and whether the scan collects
    /// `unique` integer keys itself (files without footers are parsed once).
    pub(super) fn scan_inputs(&self, ds: &OpenDataset, planned: &[PlannedCheck]) -> (Option<FooterStats>, bool) {
        let stats = if self.config.statistics && planned.iter().any(|p| p.scope.is_none()) {
            FooterStats::read(ds)
        } else {
            None
        };
        (stats, ds.format != crate::suite::Format::Parquet)
    }

    /// Measures a planned suite over an opened dataset: the fused scan, then one query per
    /// `unique` and `reference` check. A dataset with no files is measured without a query.
    pub(crate) async fn measure<'d>(
        &self,
        suite: &Suite,
        ds: &'d OpenDataset,
        planned: &[PlannedCheck],
    ) -> Measurement<'d> {
        let queries = AtomicU32::new(0);
        if ds.is_empty() {
            let checks = planned
                .iter()
                .map(|_| Measured {
                    in_scope: 0,
                    observation: Ok(Observation::Empty),
                    from_statistics: false,
                    repeated_keys: Vec::new(),
                    merged: None,
                })
                .collect();
            return Measurement {
                rows: Some(0),
                queries: 0,
                scanned_columns: Vec::new(),
                checks,
                error: None,
            };
        }
        let started = std::time::Instant::now();
        let (rows, counted, scanned_columns) = match self.fused_or_alone(suite, ds, planned, &queries).await {
            Ok(f) => f,
            Err(error) => return Measurement::unreadable(error, &queries),
        };
        let mut checks = Vec::with_capacity(planned.len());
        // A key query that cannot read the dataset's own files (a damaged page the fused scan did
        // not need): the dataset is unreadable, as when the fused scan fails.
        let mut unreadable = false;
        for (p, counted) in planned.iter().zip(counted) {
            let c = match counted {
                Ok(c) => c,
                Err(e) => {
                    checks.push(Measured {
                        in_scope: 0,
                        observation: Err(e),
                        from_statistics: false,
                        repeated_keys: Vec::new(),
                        merged: None,
                    });
                    continue;
                }
            };
            let (observation, repeated_keys) = self.observe(suite, ds, p, &c, rows, &queries).await;
            unreadable |= observation.as_ref().err().is_some_and(|(_, read)| *read);
            let observation = observation.map_err(|(why, _)| why);
            checks.push(Measured {
                in_scope: c.in_scope,
                observation,
                from_statistics: c.from_statistics,
                repeated_keys,
                merged: None,
            });
        }
        if unreadable && let Some((file, why)) = self.unreadable_file(suite, ds, None).await {
            return Measurement::unreadable(format!("cannot read {file}: {why}"), &queries);
        }
        tracing::debug!(dataset = %ds.name, ms = started.elapsed().as_millis(), "Measured (fused scan and keyed queries).");
        Measurement {
            rows: Some(rows),
            queries: queries.load(Ordering::Relaxed),
            scanned_columns,
            checks,
            error: None,
        }
    }

    /// The observation of one check from what the fused scan counted, running its keyed query if
    /// it has one; a `unique` check's most repeated keys come with it. An error says why, and
    /// whether it is a read error of the dataset's own files.
    pub(super) async fn observe<'d>(
        &self,
        suite: &Suite,
        ds: &'d OpenDataset,
        p: &PlannedCheck,
        counted: &Counted,
        rows: u64,
        queries: &AtomicU32,
    ) -> (Result<Observation<'d>, (String, bool)>, Vec<Value>) {
        let mut repeated_keys = Vec::new();
        let observation = match &p.shape {
            Shape::Rows { .. } => Ok(Observation::Rows {
                failing: counted.failing.unwrap_or(0),
            }),
            Shape::Aggregates(_) => Ok(Observation::Aggregates {
                values: counted.values.clone(),
            }),
            Shape::Missing { found, .. } => Err((found.sentence(), false)),
            Shape::Schema => Ok(Observation::Schema {
                files: &ds.file_schemas,
                unified: &ds.schema,
                compare_file_types: ds.format == crate::suite::Format::Parquet,
            }),
            Shape::Unique { columns } => {
                let n = suite.checks[p.index].common.sample;
                let hint = match counted.values.as_slice() {
                    [lo, hi] => super::kernels::key_bitmap::range(lo, hi, rows)
                        .map_or(KeyHint::None, |(lo, span)| KeyHint::Range(lo, span)),
                    [keys] => super::kernels::key_list::collected(keys).map_or(KeyHint::None, KeyHint::Collected),
                    _ => KeyHint::None,
                };
                match self
                    .unique(&ds.table, columns, p.scope.as_ref(), n, hint, queries)
                    .await
                {
                    Ok((failing_rows, duplicate_keys, sample)) => {
                        repeated_keys = sample;
                        Ok(Observation::Unique {
                            failing_rows,
                            duplicate_keys,
                        })
                    }
                    Err(e) => {
                        let read = is_read_error(&e)
                            && !matches!(&e, datafusion::error::DataFusionError::External(x) if x.is::<watchdog::Stalled>());
                        Err((clean(&e), read))
                    }
                }
            }
            Shape::Reference {
                column,
                dataset,
                to_column,
            } => self
                .reference(&ds.table, column, dataset, to_column, p.scope.as_ref(), queries)
                .await
                .map(|(failing_rows, distinct_missing)| Observation::Reference {
                    failing_rows,
                    distinct_missing,
                })
                .map_err(|e| (format!("cannot compare with dataset `{dataset}`: {}", clean(&e)), false)),
        };
        (observation, repeated_keys)
    }

    /// The fused scan over every planned check. If it fails, each check is run alone to find the
    /// ones that cannot be evaluated (each gets its reason); if every one fails, the dataset itself
    /// cannot be read and the error names the first file that does not read.
    /// Returns the row count, what was counted per check, and the columns scanned.
    async fn fused_or_alone(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        planned: &[PlannedCheck],
        queries: &AtomicU32,
    ) -> Result<(u64, Vec<Result<Counted, String>>, Vec<String>), String> {
        let (stats, collect_keys) = self.scan_inputs(ds, planned);
        let all: Vec<&PlannedCheck> = planned.iter().collect();
        let first = match self.fused(&ds.table, &all, stats.as_ref(), collect_keys, queries).await {
            Ok(f) => return Ok((f.total, f.measured.into_iter().map(Ok).collect(), f.scanned)),
            Err(e) => e,
        };
        if self.cluster_gone(&first) {
            // Nothing can be read now: no check is at fault, and no file either.
            return Err(clean(&first));
        }
        let mut rows = None;
        let mut counted = Vec::with_capacity(all.len());
        let mut scanned: Vec<String> = Vec::new();
        if !is_read_error(&first) {
            for p in &all {
                match self
                    .fused(&ds.table, &[*p], stats.as_ref(), collect_keys, queries)
                    .await
                {
                    Ok(mut f) => {
                        rows = Some(f.total);
                        counted.push(Ok(f.measured.remove(0)));
                        for c in f.scanned {
                            if !scanned.contains(&c) {
                                scanned.push(c);
                            }
                        }
                    }
                    Err(e) => counted.push(Err(self.why_check_fails(suite, ds, p, &e).await)),
                }
            }
            if rows.is_none() && !counted.is_empty() {
                // Every check failed on its own: count the rows to tell data from checks.
                rows = self
                    .fused(&ds.table, &[], None, false, queries)
                    .await
                    .ok()
                    .map(|f| f.total);
            }
        }
        match rows {
            Some(rows) => Ok((rows, counted, scanned)),
            None => Err(match self.unreadable_file(suite, ds, None).await {
                Some((file, why)) => format!("cannot read {file}: {why}"),
                None => format!("cannot read the data: {}", clean(&first)),
            }),
        }
    }

    /// Why one check's query fails, in words: for CSV and JSON its columns are read file by file,
    /// and the first failure names the file and, counted in the file, the line (the reader names
    /// neither reliably).
    async fn why_check_fails(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        p: &PlannedCheck,
        e: &datafusion::error::DataFusionError,
    ) -> String {
        let columns = suite.checks[p.index].check.columns();
        let column = columns.first().map(|c| c.get_ref().as_str());
        let names: Vec<String> = columns.iter().map(|c| c.get_ref().clone()).collect();
        let probe = if ds.format == crate::suite::Format::Parquet {
            None
        } else {
            self.unreadable_file(suite, ds, Some(&names)).await
        };
        match probe {
            Some((file, cause)) => format!("{file}: {}", self.explain(ds, cause, column)),
            None => self.explain(ds, super::error::read_cause(e), column),
        }
    }
}
