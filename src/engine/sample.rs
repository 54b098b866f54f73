//! Failing-row samples and the data frames shared by keyed queries and their samples.
//!
//! Samples are fetched only for checks that failed, with `LIMIT`, projecting only the columns that
//! explain the failure: the dataset's `key`, the check's columns and the columns its predicate and
//! `where` mention. Rows are ordered so that the same data gives the same sample.

use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::json::writer::JsonArray;
use datafusion::common::TableReference;
use datafusion::error::Result as DfResult;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, JoinType, lit};
use datafusion::prelude::{DataFrame, SessionContext};
use serde_json::Value;
use toml::Spanned;

use crate::checks::column;

/// Rows in scope whose key columns are all non-null.
pub(crate) async fn keyed_rows(
    ctx: &SessionContext,
    table: &str,
    keys: &[Expr],
    scope: Option<&Expr>,
) -> DfResult<DataFrame> {
    let mut pred = keys
        .iter()
        .map(|k| k.clone().is_not_null())
        .reduce(Expr::and)
        .unwrap_or(lit(true));
    if let Some(s) = scope {
        pred = s.clone().and(pred);
    }
    ctx.table(TableReference::bare(table)).await?.filter(pred)
}

/// The two sides of a `reference` check in a common type: the child's keyed rows as
/// `__lakegate_v`, the parent's non-null values as `__lakegate_ref`.
async fn reference_sides(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    other: &str,
    to: &str,
    scope: Option<&Expr>,
) -> DfResult<(DataFrame, DataFrame)> {
    let child = keyed_rows(ctx, table, &[column(col)], scope)
        .await?
        .select(vec![column(col).alias("__lakegate_v")])?;
    let child_type = child.schema().field(0).data_type().clone();
    let parent = ctx.table(TableReference::bare(other)).await?;
    let parent_type = parent.schema().field_with_unqualified_name(to)?.data_type().clone();
    // Compare in a common type: numbers as Float64 when int and float meet, text when either side
    // is text (so "007" never equals 7), otherwise the child's type.
    let common = if crate::types::family(&parent_type) == crate::types::family(&child_type) {
        None
    } else if crate::types::is_numeric(&parent_type) && crate::types::is_numeric(&child_type) {
        Some(DataType::Float64)
    } else if crate::types::is_string(&parent_type) || crate::types::is_string(&child_type) {
        Some(DataType::Utf8)
    } else {
        Some(child_type.clone())
    };
    let cast = |e: Expr| match &common {
        Some(t) => Expr::TryCast(datafusion::logical_expr::TryCast::new(Box::new(e), t.clone())),
        None => e,
    };
    let child = child.select(vec![cast(column("__lakegate_v")).alias("__lakegate_v")])?;
    let parent = parent
        .select(vec![cast(column(to)).alias("__lakegate_ref")])?
        .filter(column("__lakegate_ref").is_not_null())?;
    Ok((child, parent))
}

/// Rows in scope whose `col` is absent from `other.to`, as one column `__lakegate_v`.
pub(crate) async fn orphans(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    other: &str,
    to: &str,
    scope: Option<&Expr>,
) -> DfResult<DataFrame> {
    let (child, parent) = reference_sides(ctx, table, col, other, to, scope).await?;
    child.join_on(
        parent,
        JoinType::LeftAnti,
        vec![column("__lakegate_v").eq(column("__lakegate_ref"))],
    )
}

/// The values of `col` (rows in scope) absent from `other.to`, as `__lakegate_v` with their rows
/// as `count`, by one grouped aggregation over both sides instead of a join. A hash join's build
/// side cannot spill, and DataFusion plans a sort-merge join only over several partitions (whose
/// repartitioning deadlocks under small pools, apache/datafusion#24883); a single-partition
/// aggregation spills. Used under small memory pools.
pub(crate) async fn orphans_grouped(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    other: &str,
    to: &str,
    scope: Option<&Expr>,
) -> DfResult<DataFrame> {
    use datafusion::functions_aggregate::expr_fn::{max, sum};
    let (child, parent) = reference_sides(ctx, table, col, other, to, scope).await?;
    let child = child.select(vec![
        column("__lakegate_v"),
        lit(1i64).alias("__lakegate_child"),
        lit(0i64).alias("__lakegate_parent"),
    ])?;
    let parent = parent.select(vec![
        column("__lakegate_ref").alias("__lakegate_v"),
        lit(0i64).alias("__lakegate_child"),
        lit(1i64).alias("__lakegate_parent"),
    ])?;
    child
        .union(parent)?
        .aggregate(
            vec![column("__lakegate_v")],
            vec![
                sum(column("__lakegate_child")).alias("count"),
                max(column("__lakegate_parent")).alias("__lakegate_in"),
            ],
        )?
        .filter(column("__lakegate_in").eq(lit(0i64)))?
        .select(vec![column("__lakegate_v"), column("count")])
}

/// Sample rows failing a row-level check.
/// The columns that explain a row-level failure: the dataset's key, the check's columns, then the
/// columns its predicate and `where` mention.
pub(crate) fn sample_columns(
    failing: &Expr,
    scope: Option<&Expr>,
    key: &[String],
    check_columns: &[Spanned<String>],
) -> Vec<String> {
    let mut cols: Vec<String> = key.to_vec();
    let mut add = |c: &str| {
        if !cols.iter().any(|x| x == c) {
            cols.push(c.to_string());
        }
    };
    for c in check_columns {
        add(c.get_ref());
    }
    let mut mentioned: Vec<String> = failing.column_refs().into_iter().map(|c| c.name.clone()).collect();
    if let Some(s) = scope {
        mentioned.extend(s.column_refs().into_iter().map(|c| c.name.clone()));
    }
    mentioned.sort();
    for c in &mentioned {
        add(c);
    }
    cols
}

/// A failing-row sample to fetch: rows where `pred` is true, these columns, at most `n`.
#[derive(Debug, Clone)]
pub(crate) struct RowSample {
    pub pred: Expr,
    pub columns: Vec<String>,
    pub n: usize,
}

/// Fetches the samples of several row-level checks with one scan. On a table that is one scan over
/// its files and a single-partition context, rows stream in file order and the scan stops as soon as
/// every check has its sample, so the result is deterministic and usually costs a fraction of a scan.
/// The scan only reads columns; each check's predicate is evaluated here, once per row, and only
/// while that check still lacks rows, so a check whose last failing rows lie deep in the data does
/// not make every other check's predicate run to the end.
pub(crate) async fn failing_rows_in_file_order(
    ctx: &SessionContext,
    table: &str,
    wanted: &[RowSample],
) -> DfResult<Vec<Vec<Value>>> {
    let df = ctx.table(TableReference::bare(table)).await?;
    let fallback: Vec<String> = df.schema().fields().iter().take(8).map(|f| f.name().clone()).collect();
    let schema = df.schema().clone();
    let mut cols: Vec<String> = Vec::new();
    let mut add = |c: &str| {
        if !cols.iter().any(|x| x == c) {
            cols.push(c.to_string());
        }
    };
    let mut preds = Vec::with_capacity(wanted.len());
    for w in wanted {
        for c in if w.columns.is_empty() { &fallback } else { &w.columns } {
            add(c);
        }
        let pred = super::kernels::fast_paths(w.pred.clone(), &schema);
        for c in pred.column_refs() {
            add(&c.name);
        }
        preds.push(pred);
    }
    let df = df.select(cols.iter().map(|c| column(c)).collect::<Vec<_>>())?;
    let state = ctx.state();
    let mut checks = Vec::with_capacity(wanted.len());
    for (w, pred) in wanted.iter().zip(preds) {
        let test = state.create_physical_expr(pred, df.schema())?;
        let own = if w.columns.is_empty() { &fallback } else { &w.columns };
        let idx: Vec<usize> = own.iter().filter_map(|c| cols.iter().position(|x| x == c)).collect();
        checks.push((test, idx));
    }
    let mut stream = df.execute_stream().await?;
    let mut out: Vec<Vec<Value>> = vec![Vec::new(); wanted.len()];
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch?;
        for (i, (w, (test, idx))) in wanted.iter().zip(&checks).enumerate() {
            let need = w.n.saturating_sub(out[i].len());
            if need == 0 {
                continue;
            }
            let flags = test.evaluate(&batch)?.into_array(batch.num_rows())?;
            let Some(flags) = flags.as_any().downcast_ref::<BooleanArray>() else {
                continue;
            };
            // A null predicate is not a failing row: `true_count` and the filter both skip nulls.
            if flags.true_count() == 0 {
                continue;
            }
            let hits = filter_record_batch(&batch.project(idx)?, flags)?;
            out[i].extend(to_json(&[hits.slice(0, need.min(hits.num_rows()))]));
        }
        if wanted.iter().zip(&out).all(|(w, o)| o.len() >= w.n) {
            break;
        }
    }
    Ok(out)
}

/// Sample rows failing a row-level check, sorted so that a table without a file order (a union of
/// file groups) still gives the same sample for the same data.
pub(crate) async fn failing_rows_sorted(ctx: &SessionContext, table: &str, want: &RowSample) -> DfResult<DataFrame> {
    let df = ctx.table(TableReference::bare(table)).await?;
    let cols = if want.columns.is_empty() {
        df.schema().fields().iter().take(8).map(|f| f.name().clone()).collect()
    } else {
        want.columns.clone()
    };
    df.filter(want.pred.clone())?
        .select(cols.iter().map(|c| column(c)).collect::<Vec<_>>())?
        .sort(cols.iter().map(|c| column(c).sort(true, true)).collect())?
        .limit(0, Some(want.n))
}

/// The most frequent values missing from the referenced dataset, with their row counts.
pub(crate) async fn missing_values(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    (other, to): (&str, &str),
    scope: Option<&Expr>,
    n: usize,
    grouped: bool,
) -> DfResult<DataFrame> {
    let counted = if grouped {
        orphans_grouped(ctx, table, col, other, to, scope)
            .await?
            .select(vec![column("__lakegate_v").alias(col), column("count")])?
    } else {
        orphans(ctx, table, col, other, to, scope).await?.aggregate(
            vec![column("__lakegate_v").alias(col)],
            vec![count(lit(1i64)).alias("count")],
        )?
    };
    counted
        .sort(vec![column("count").sort(false, true), column(col).sort(true, true)])?
        .limit(0, Some(n))
}

/// Record batches as JSON objects (nulls kept explicitly, column order preserved).
pub(crate) fn to_json(batches: &[RecordBatch]) -> Vec<Value> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    if writer.write_batches(&refs).is_err() || writer.finish().is_err() {
        return Vec::new();
    }
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut rows: Vec<Value> = serde_json::from_slice(&bytes).unwrap_or_default();
    if rows.len() == batches.iter().map(RecordBatch::num_rows).sum::<usize>() {
        non_finite_as_text(batches, &mut rows);
    }
    rows
}

/// Arrow's JSON writer writes NaN and ±infinity as `null`, which a reader takes for a missing value
/// (and nulls are never violations): they are written as the strings `NaN`, `inf` and `-inf`.
fn non_finite_as_text(batches: &[RecordBatch], rows: &mut [Value]) {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Float16Type, Float32Type, Float64Type};
    let text = crate::checks::float_json;
    let mut first = 0;
    for b in batches {
        for (field, col) in b.schema().fields().iter().zip(b.columns()) {
            let values: Vec<Option<f64>> = match col.data_type() {
                DataType::Float64 => col.as_primitive::<Float64Type>().iter().collect(),
                DataType::Float32 => col
                    .as_primitive::<Float32Type>()
                    .iter()
                    .map(|v| v.map(f64::from))
                    .collect(),
                DataType::Float16 => col
                    .as_primitive::<Float16Type>()
                    .iter()
                    .map(|v| v.map(f64::from))
                    .collect(),
                _ => continue,
            };
            for (i, v) in values.into_iter().enumerate() {
                if let Some(x) = v.filter(|x| !x.is_finite())
                    && let Some(Value::Object(row)) = rows.get_mut(first + i)
                {
                    row.insert(field.name().clone(), text(x));
                }
            }
        }
        first += b.num_rows();
    }
}

/// A check the run judged failed, whose failing rows the engine should sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleRequest {
    /// The check's position in the plan.
    pub slot: usize,
    /// Its failing rows, when counted: the sample query stops once it has found them all.
    pub failing_rows: Option<u64>,
}

/// Samples of failing rows, per planned check.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    /// One per planned check (empty for those not asked for or not sampled here).
    pub rows: Vec<Vec<Value>>,
    /// The queries that fetched them.
    pub queries: u32,
}

impl super::Engine {
    /// Fetches failing-row samples for the checks asked for: one query for every row-level check
    /// of a single-scan dataset (in file order, stopping once each has its rows), else one per
    /// check; `reference` checks sample their missing values. `unique` checks are sampled by the
    /// query that counted them (`Measured::repeated_keys`), other shapes have no rows to show.
    pub(crate) async fn samples(
        &self,
        suite: &crate::suite::Suite,
        ds: &super::OpenDataset,
        planned: &[super::PlannedCheck],
        wanted: &[SampleRequest],
    ) -> Samples {
        use super::error::clean;
        use crate::checks::Shape;
        let started = std::time::Instant::now();
        let mut out = Samples {
            rows: vec![Vec::new(); planned.len()],
            queries: 0,
        };
        // Key columns the data lacks are reported by the run, not sampled.
        let key: Vec<String> = suite
            .dataset
            .key
            .iter()
            .filter(|k| ds.schema.field_with_name(k).is_ok())
            .cloned()
            .collect();
        let mut row_samples: Vec<(usize, RowSample)> = Vec::new();
        for want in wanted {
            let p = &planned[want.slot];
            let decl = &suite.checks[p.index];
            let n = decl.common.sample;
            if n == 0 {
                continue;
            }
            match &p.shape {
                Shape::Rows { failing } => {
                    let Some(pred) = p.failing_in_scope() else { continue };
                    let columns = sample_columns(failing, p.scope.as_ref(), &key, &decl.check.columns());
                    // The scan stops once it has found every failing row there is, if fewer than `n`.
                    let n = want
                        .failing_rows
                        .map_or(n, |f| n.min(usize::try_from(f).unwrap_or(usize::MAX)));
                    row_samples.push((want.slot, RowSample { pred, columns, n }));
                }
                Shape::Reference { .. } => {
                    if let Some(rows) = self.reference_sample(ds, p, n, &decl.id).await {
                        out.queries += 1;
                        out.rows[want.slot] = rows;
                    }
                }
                Shape::Unique { .. } | Shape::Aggregates(_) | Shape::Schema | Shape::Missing { .. } => {}
            }
        }
        if row_samples.is_empty() {
            return out;
        }
        if ds.single_scan {
            out.queries += 1;
            let wanted: Vec<RowSample> = row_samples.iter().map(|(_, w)| w.clone()).collect();
            match failing_rows_in_file_order(&self.sample_ctx, &ds.table, &wanted).await {
                Ok(found) => {
                    for ((slot, _), rows) in row_samples.iter().zip(found) {
                        out.rows[*slot] = rows;
                    }
                }
                Err(e) => {
                    tracing::warn!(dataset = %ds.name, error = %clean(&e), "Could not fetch the failing-row samples.");
                }
            }
        } else {
            for (slot, want) in &row_samples {
                out.queries += 1;
                let fetched = match failing_rows_sorted(&self.ctx, &ds.table, want).await {
                    Ok(df) => self.collect_sample(df).await,
                    Err(e) => Err(e),
                };
                match fetched {
                    Ok(batches) => out.rows[*slot] = to_json(&batches),
                    Err(e) => {
                        tracing::warn!(dataset = %ds.name, error = %clean(&e), "Could not fetch a failing-row sample.");
                    }
                }
            }
        }
        tracing::debug!(dataset = %ds.name, ms = started.elapsed().as_millis(), "Fetched failing-row samples.");
        out
    }

    /// The values of a failed `reference` check missing from the other dataset, with their rows
    /// (`None` when no query ran; a failing query is logged and gives no rows).
    async fn reference_sample(
        &self,
        ds: &super::OpenDataset,
        p: &super::PlannedCheck,
        n: usize,
        check_id: &str,
    ) -> Option<Vec<Value>> {
        let crate::checks::Shape::Reference {
            column,
            dataset,
            to_column,
        } = &p.shape
        else {
            return None;
        };
        let df = missing_values(
            &self.keyed_ctx,
            &ds.table,
            column,
            (dataset, to_column),
            p.scope.as_ref(),
            n,
            self.small_pool(),
        )
        .await;
        let fetched = match df {
            Ok(df) => self.collect_sample(df).await,
            Err(e) => {
                tracing::warn!(check = %check_id, error = %super::error::clean(&e), "Could not fetch the failing-row sample.");
                return None;
            }
        };
        match fetched {
            Ok(batches) => Some(to_json(&batches)),
            Err(e) => {
                tracing::warn!(check = %check_id, error = %super::error::clean(&e), "Could not fetch the failing-row sample.");
                Some(Vec::new())
            }
        }
    }

    /// Runs a sample query under the watchdog.
    async fn collect_sample(&self, df: DataFrame) -> DfResult<Vec<RecordBatch>> {
        let task = std::sync::Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        super::watchdog::guard(
            plan.clone(),
            super::watchdog::STALL,
            datafusion::physical_plan::collect(plan, task),
        )
        .await
    }
}
