//! Answers from Parquet footers: row counts, null counts and minimum/maximum values.
//!
//! A Parquet file states, per row group and column, how many rows it has, how many are null and
//! (usually) the smallest and largest value. When every file of a dataset states a number exactly,
//! a check without `where` can be answered from it instead of from a scan — and a column that only
//! such checks read is not read at all. Anything uncertain is "unknown" and the check is scanned:
//! a missing or deprecated statistic, a truncated (inexact) string bound, an undefined sort order,
//! INT96 timestamps, a file whose column type differs from the dataset's, and floating-point
//! bounds (Parquet leaves NaN out of them, while a NaN compares above every number in a query).

use std::cmp::Ordering;
use std::collections::HashMap;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::basic::{ColumnOrder, Type as PhysicalType};
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use datafusion::scalar::ScalarValue;

use crate::engine::OpenDataset;
use crate::suite::Format;

/// What the footers of every file of a dataset say exactly.
#[derive(Debug)]
pub(crate) struct FooterStats {
    rows: u64,
    columns: HashMap<String, ColumnStats>,
}

/// One column over the whole dataset; `None` where some file does not say it exactly.
#[derive(Debug, Clone, PartialEq)]
struct ColumnStats {
    data_type: DataType,
    nulls: Option<u64>,
    min: Option<Extreme>,
    max: Option<Extreme>,
}

impl ColumnStats {
    fn unknown(dt: &DataType) -> Self {
        Self {
            data_type: dt.clone(),
            nulls: None,
            min: None,
            max: None,
        }
    }
}

/// The smallest or largest non-null value, or that there is none.
#[derive(Debug, Clone, PartialEq)]
enum Extreme {
    NoValues,
    Value(ScalarValue),
}

impl FooterStats {
    /// Reads the footers of a Parquet dataset's files; `None` for other formats or when a footer
    /// cannot be read (the scan then reports the problem).
    pub(crate) fn read(ds: &OpenDataset) -> Option<Self> {
        if ds.format != Format::Parquet || ds.files.is_empty() {
            return None;
        }
        let mut metas = Vec::with_capacity(ds.files.len());
        if ds.remote_footers.len() == ds.files.len() {
            metas.extend(ds.remote_footers.iter().map(|m| m.as_ref().clone()));
        } else {
            for f in &ds.files {
                let file = std::fs::File::open(&f.path).ok()?;
                metas.push(ParquetMetaDataReader::new().parse_and_finish(&file).ok()?);
            }
        }
        let rows = metas
            .iter()
            .map(|m| u64::try_from(m.file_metadata().num_rows()).unwrap_or(0))
            .sum();
        let mut columns = HashMap::new();
        for field in ds.schema.fields() {
            if ds.partition_keys.contains(field.name()) {
                continue;
            }
            let mut acc = ColumnStats {
                data_type: field.data_type().clone(),
                nulls: Some(0),
                min: Some(Extreme::NoValues),
                max: Some(Extreme::NoValues),
            };
            for (meta, fs) in metas.iter().zip(&ds.file_schemas) {
                let same_type = fs
                    .schema
                    .field_with_name(field.name())
                    .is_ok_and(|f| f.data_type() == field.data_type());
                let one = if same_type {
                    file_column(meta, &fs.schema, field.name(), field.data_type())
                } else {
                    ColumnStats::unknown(field.data_type())
                };
                acc = ColumnStats {
                    data_type: acc.data_type,
                    nulls: acc.nulls.zip(one.nulls).map(|(a, b)| a + b),
                    min: combine(acc.min, one.min, Ordering::Less),
                    max: combine(acc.max, one.max, Ordering::Greater),
                };
            }
            columns.insert(field.name().clone(), acc);
        }
        Some(Self { rows, columns })
    }

    /// Rows in the dataset.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows for which `pred` is true, when the footers say so exactly.
    pub(crate) fn count_true(&self, pred: &Expr) -> Option<u64> {
        match pred {
            Expr::IsNull(e) => self.nulls(e),
            Expr::IsNotNull(e) => self.nulls(e).map(|n| self.rows - n),
            other if self.can_be_true(other) == Some(false) => Some(0),
            _ => None,
        }
    }

    /// An aggregate's value (`min`, `max` or `count` of a column, without filter or `DISTINCT`),
    /// when the footers say it exactly.
    pub(crate) fn aggregate(&self, e: &Expr) -> Option<ScalarValue> {
        let Expr::AggregateFunction(af) = e else { return None };
        let p = &af.params;
        if p.filter.is_some() || p.distinct || !p.order_by.is_empty() || p.args.len() != 1 {
            return None;
        }
        let name = af.func.name();
        if name == "count" {
            let n = match &p.args[0] {
                Expr::Literal(v, _) if !v.is_null() => self.rows,
                col => self.rows - self.nulls(col)?,
            };
            return Some(ScalarValue::Int64(Some(i64::try_from(n).ok()?)));
        }
        let Expr::Column(c) = &p.args[0] else { return None };
        let s = self.columns.get(c.name())?;
        let extreme = match name {
            "min" => s.min.as_ref()?,
            "max" => s.max.as_ref()?,
            _ => return None,
        };
        match extreme {
            Extreme::Value(v) => Some(v.clone()),
            // No value at all: the aggregate is a null of the column's type.
            Extreme::NoValues => ScalarValue::try_from(&s.data_type).ok(),
        }
    }

    fn column(&self, e: &Expr) -> Option<&ColumnStats> {
        let Expr::Column(c) = e else { return None };
        self.columns.get(c.name())
    }

    fn nulls(&self, e: &Expr) -> Option<u64> {
        self.column(e)?.nulls
    }

    /// Whether a predicate can be true on some row: `Some(false)` only when the footers' bounds
    /// exclude it. Understands comparisons of a column with a literal, `AND` and `OR`.
    fn can_be_true(&self, e: &Expr) -> Option<bool> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
            return None;
        };
        match op {
            Operator::Or => match (self.can_be_true(left), self.can_be_true(right)) {
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Operator::And => match (self.can_be_true(left), self.can_be_true(right)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                _ => None,
            },
            Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                let (col, value, op) = match (left.as_ref(), right.as_ref()) {
                    (c @ Expr::Column(_), Expr::Literal(v, _)) => (c, v, *op),
                    (Expr::Literal(v, _), c @ Expr::Column(_)) => (c, v, op.swap()?),
                    _ => return None,
                };
                let s = self.column(col)?;
                let (min, max) = (s.min.as_ref()?, s.max.as_ref()?);
                let (Extreme::Value(min), Extreme::Value(max)) = (min, max) else {
                    // Only nulls: no comparison is true.
                    return Some(false);
                };
                let v = crate::engine::kernels::udf::lossless(value, &min.data_type())?;
                let possible = match op {
                    Operator::Lt => min.partial_cmp(&v)? == Ordering::Less,
                    Operator::LtEq => min.partial_cmp(&v)? != Ordering::Greater,
                    Operator::Gt => max.partial_cmp(&v)? == Ordering::Greater,
                    _ => max.partial_cmp(&v)? != Ordering::Less,
                };
                Some(possible)
            }
            _ => None,
        }
    }
}

/// Whether Parquet's min/max of a type order values the way a query compares them.
fn exact_order(dt: &DataType) -> bool {
    crate::engine::kernels::udf::fits_i64(dt)
        || matches!(
            dt,
            DataType::UInt64
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
        )
}

fn combine(a: Option<Extreme>, b: Option<Extreme>, keep: Ordering) -> Option<Extreme> {
    match (a?, b?) {
        (Extreme::NoValues, x) | (x, Extreme::NoValues) => Some(x),
        (Extreme::Value(x), Extreme::Value(y)) => {
            let ord = y.partial_cmp(&x)?;
            Some(Extreme::Value(if ord == keep { y } else { x }))
        }
    }
}

/// One column of one file.
fn file_column(meta: &ParquetMetaData, schema: &Schema, name: &str, dt: &DataType) -> ColumnStats {
    let unknown = ColumnStats::unknown(dt);
    let parquet_schema = meta.file_metadata().schema_descr();
    let Ok(conv) = StatisticsConverter::try_new(name, schema, parquet_schema) else {
        return unknown;
    };
    let conv = conv.with_missing_null_counts_as_zero(false);
    let Some(idx) = conv.parquet_column_index() else {
        return unknown;
    };
    let groups = meta.row_groups();
    let nulls = conv.row_group_null_counts(groups).ok();
    let total_nulls = nulls
        .as_ref()
        .filter(|n| n.null_count() == 0)
        .map(|n| n.values().iter().sum::<u64>());

    let ordered = exact_order(dt)
        && parquet_schema.column(idx).physical_type() != PhysicalType::INT96
        && matches!(
            meta.file_metadata().column_order(idx),
            ColumnOrder::TYPE_DEFINED_ORDER(_)
        );
    let extremes = || -> Option<(Extreme, Extreme)> {
        let nulls = nulls.as_ref()?;
        let mins = conv.row_group_mins(groups).ok()?;
        let maxes = conv.row_group_maxes(groups).ok()?;
        let min_exact = conv.row_group_is_min_value_exact(groups).ok()?;
        let max_exact = conv.row_group_is_max_value_exact(groups).ok()?;
        let (mut lo, mut hi) = (Some(Extreme::NoValues), Some(Extreme::NoValues));
        for (i, g) in groups.iter().enumerate() {
            let rows = u64::try_from(g.num_rows()).ok()?;
            if nulls.is_null(i) {
                return None;
            }
            if nulls.value(i) == rows {
                continue; // only nulls: no bound to take
            }
            let stats = g.column(idx).statistics()?;
            if stats.is_min_max_deprecated()
                || mins.is_null(i)
                || maxes.is_null(i)
                || !min_exact.is_valid(i)
                || !min_exact.value(i)
                || !max_exact.is_valid(i)
                || !max_exact.value(i)
            {
                return None;
            }
            let (a, b) = (
                ScalarValue::try_from_array(&mins, i).ok()?,
                ScalarValue::try_from_array(&maxes, i).ok()?,
            );
            lo = combine(lo, Some(Extreme::Value(a)), Ordering::Less);
            hi = combine(hi, Some(Extreme::Value(b)), Ordering::Greater);
        }
        Some((lo?, hi?))
    };
    let (min, max) = match ordered.then(extremes).flatten() {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    ColumnStats {
        data_type: dt.clone(),
        nulls: total_nulls,
        min,
        max,
    }
}
