//! Failing-row samples and the data frames shared by keyed queries and their samples.
//!
//! Samples are fetched only for checks that failed, with `LIMIT`, projecting only the columns that
//! explain the failure: the dataset's `key`, the check's columns and the columns its predicate and
//! `where` mention. Rows are ordered so that the same data gives the same sample.

use datafusion::arrow::array::RecordBatch;
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
pub async fn keyed_rows(ctx: &SessionContext, table: &str, keys: &[Expr], scope: Option<&Expr>) -> DfResult<DataFrame> {
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

/// Rows in scope whose `col` is absent from `other.to`, as one column `__lakegate_v`.
pub async fn orphans(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    other: &str,
    to: &str,
    scope: Option<&Expr>,
) -> DfResult<DataFrame> {
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
    child.join_on(
        parent,
        JoinType::LeftAnti,
        vec![column("__lakegate_v").eq(column("__lakegate_ref"))],
    )
}

/// Sample rows failing a row-level check.
#[allow(clippy::too_many_arguments)] // each argument is one fact about the sample; a struct would only rename them
pub async fn failing_rows(
    ctx: &SessionContext,
    table: &str,
    failing: &Expr,
    scope: Option<&Expr>,
    key: &[String],
    check_columns: &[Spanned<String>],
    n: usize,
    ordered: bool,
) -> DfResult<DataFrame> {
    let pred = match scope {
        Some(s) => s.clone().and(failing.clone()),
        None => failing.clone(),
    };
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
    let df = ctx.table(TableReference::bare(table)).await?;
    if cols.is_empty() {
        cols = df.schema().fields().iter().take(8).map(|f| f.name().clone()).collect();
    }
    let df = df
        .filter(pred)?
        .select(cols.iter().map(|c| column(c)).collect::<Vec<_>>())?;
    // In file order (from a single-partition scan) the first failing rows end the scan early;
    // a union of file groups has no order, so its sample is sorted to stay deterministic.
    let df = if ordered {
        df
    } else {
        df.sort(cols.iter().map(|c| column(c).sort(true, true)).collect())?
    };
    df.limit(0, Some(n))
}

/// The most frequent values missing from the referenced dataset, with their row counts.
pub async fn missing_values(
    ctx: &SessionContext,
    table: &str,
    col: &str,
    other: &str,
    to: &str,
    scope: Option<&Expr>,
    n: usize,
) -> DfResult<DataFrame> {
    orphans(ctx, table, col, other, to, scope)
        .await?
        .aggregate(
            vec![column("__lakegate_v").alias(col)],
            vec![count(lit(1i64)).alias("count")],
        )?
        .sort(vec![column("count").sort(false, true), column(col).sort(true, true)])?
        .limit(0, Some(n))
}

/// Record batches as JSON objects (nulls kept explicitly, column order preserved).
pub fn to_json(batches: &[RecordBatch]) -> Vec<Value> {
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
    serde_json::from_slice(&bytes).unwrap_or_default()
}
