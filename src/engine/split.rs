//! Writing a batch split in two (`promote --mode split`): the rows that fail none of the given
//! predicates, and the rows that fail some, each as Parquet partitioned like the dataset. Which
//! checks count and where the files go is the promotion's business (`crate::promote::split`).

use std::path::Path;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::Result as DfResult;
use datafusion::functions::string::expr_fn::concat_ws;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, ExprFunctionExt, lit, when};
use datafusion::scalar::ScalarValue;

use super::{Engine, OpenDataset};
use crate::checks::column;
use crate::fs_atomic;

/// How a batch split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SplitCounts {
    pub total: u64,
    /// Rows that failed at least one rule.
    pub failing: u64,
    /// Whether the failing rows were written (they are not when there is nowhere to write them).
    pub failing_written: bool,
}

/// A rule of the split: the id named in the flag column, and the rows it fails.
pub(crate) struct SplitRule {
    pub id: String,
    pub failing: Expr,
}

impl Engine {
    /// Counts the rows of `ds` that fail any of `rules`, writes the others to `passing` and, when
    /// some fail and `failing` is given, writes those there with `flag_column` holding the ids of
    /// the rules each failed (comma-separated). Directories are created as needed.
    pub(crate) async fn split(
        &self,
        ds: &OpenDataset,
        rules: &[SplitRule],
        flag_column: &str,
        passing: &Path,
        failing: Option<&Path>,
    ) -> DfResult<SplitCounts> {
        let mut flags = Vec::new();
        for r in rules {
            flags.push(when(r.failing.clone(), lit(r.id.clone())).end()?);
        }
        let failed = if flags.is_empty() {
            lit("")
        } else {
            concat_ws(lit(","), flags)
        };
        let cols: Vec<Expr> = ds.schema.fields().iter().map(|f| column(f.name())).collect();
        let mut with_flag = cols.clone();
        with_flag.push(failed.alias(flag_column));
        let df = self.ctx.table(ds.table.as_str()).await?.select(with_flag)?;
        let is_bad = column(flag_column)
            .is_not_null()
            .and(column(flag_column).not_eq(lit("")));

        let counts = df
            .clone()
            .aggregate(
                vec![],
                vec![count(lit(1i64)), count(lit(1i64)).filter(is_bad.clone()).build()?],
            )?
            .collect()
            .await?;
        let get = |i: usize| {
            counts
                .first()
                .and_then(|b| ScalarValue::try_from_array(b.column(i), 0).ok())
                .and_then(|v| match v {
                    ScalarValue::Int64(Some(x)) => u64::try_from(x).ok(),
                    _ => None,
                })
                .unwrap_or(0)
        };
        let mut out = SplitCounts {
            total: get(0),
            failing: get(1),
            failing_written: false,
        };
        let partition_by = ds.partition_keys.clone();
        let good = df.clone().filter(Expr::Not(Box::new(is_bad.clone())))?.select(cols)?;
        fs_atomic::create_dir_all(passing)?;
        good.write_parquet(
            &format!("{}/", passing.display()),
            DataFrameWriteOptions::new().with_partition_by(partition_by.clone()),
            None,
        )
        .await?;
        if out.failing > 0
            && let Some(dir) = failing
        {
            fs_atomic::create_dir_all(dir)?;
            df.filter(is_bad)?
                .write_parquet(
                    &format!("{}/", dir.display()),
                    DataFrameWriteOptions::new().with_partition_by(partition_by),
                    None,
                )
                .await?;
            out.failing_written = true;
        }
        Ok(out)
    }
}
