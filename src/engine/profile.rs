//! Profiling a dataset for `lakegate suggest`: what its columns hold, measured in one scan.
//!
//! [`Engine::profile`] first reads a small sample of the string columns (a `LIMIT` query on the
//! single-partition session: it reads the first batch of the first file and stops), derives from it
//! a candidate fixed shape per column ([`shape_of`]: `^[A-Z]{2}$`, `^[0-9]{5}$`), then runs one
//! aggregate query over every row that measures, per column: nulls, NaNs, min and max, string
//! lengths and empty strings, an approximate distinct count (HyperLogLog), the values with their
//! counts while there are few of them (`lakegate_top_values`), an exact distinct count for the
//! candidate keys it is asked about (`lakegate_distinct`), and how many values match the candidate
//! shape. Everything comes back as plain Rust values ([`Profile`]): what to suggest from them is
//! `crate::suggest`'s business, not the engine's.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, TableReference};
use datafusion::error::Result as DfResult;
use datafusion::functions::math::expr_fn::isnan;
use datafusion::functions::unicode::expr_fn::character_length;
use datafusion::functions_aggregate::expr_fn::{approx_distinct, count, max, min};
use datafusion::logical_expr::{Expr, Operator, binary_expr, lit, when};
use datafusion::scalar::ScalarValue;
use serde::Serialize;

use super::error::{DatasetError, clean};
use super::kernels::value_counts::{distinct, top_values, top_values_of};
use super::{Engine, OpenDataset, watchdog};
use crate::checks::column;
use crate::types::{TypeName, family, family_name};

/// Rows the shape sample reads.
pub(crate) const SAMPLE_ROWS: usize = 1_000;

/// Distinct values `lakegate_top_values` counts before giving up.
pub(crate) const VALUE_CAP: usize = 64;

/// What kind of values a column holds, as far as suggestions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ColumnClass {
    Integer,
    Float,
    Decimal,
    String,
    Bool,
    Date,
    Timestamp,
    Other,
}

/// A minimum or maximum.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Bound {
    Int(i64),
    Float(f64),
    Instant(DateTime<Utc>),
    Date(NaiveDate),
}

impl Bound {
    /// The bound as a number (integers, floats and decimals).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Bound::Int(i) => Some(*i as f64),
            Bound::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The bound as an instant (timestamps; a date counts from its midnight, UTC).
    pub(crate) fn as_instant(&self) -> Option<DateTime<Utc>> {
        match self {
            Bound::Instant(t) => Some(*t),
            Bound::Date(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
            _ => None,
        }
    }
}

/// A candidate shape and how many values match it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ShapeMatch {
    pub regex: String,
    pub matched: u64,
}

/// One value of a low-cardinality column and how often it occurs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// What one column holds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnProfile {
    pub name: String,
    /// The type family (`int64`, `string`, `timestamp`, …).
    #[serde(rename = "type")]
    pub type_name: String,
    pub class: ColumnClass,
    /// A hive partition key (its values come from directory names).
    pub partition: bool,
    pub nulls: u64,
    /// NaN values (float columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nan: Option<u64>,
    /// The smallest and largest values (NaN left out); none for strings and all-null columns.
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    /// HyperLogLog's estimate of the distinct non-null values.
    pub approx_distinct: Option<u64>,
    /// The exact number of distinct non-null values, when known: the column has at most
    /// [`VALUE_CAP`] of them, or it is a candidate key (counted by hashes).
    pub distinct: Option<u64>,
    /// Shortest and longest value in characters (strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lengths: Option<(u64, u64)>,
    /// Empty strings (strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty: Option<u64>,
    /// Every value with its count, most frequent first, when there are at most [`VALUE_CAP`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<ValueCount>>,
    /// The fixed shape the sampled values share, and how many values of the whole column match it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapeMatch>,
}

impl ColumnProfile {
    /// Rows with a value.
    pub(crate) fn non_null(&self, rows: u64) -> u64 {
        rows.saturating_sub(self.nulls)
    }
}

/// What a dataset holds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Profile {
    pub rows: u64,
    pub files: usize,
    pub format: &'static str,
    /// Every file has the same column names (a `schema` check would pass on them).
    pub files_agree: bool,
    /// Queries that read data: the sample (when there are string columns) and the scan.
    pub queries: u32,
    pub columns: Vec<ColumnProfile>,
}

/// Where one column's numbers are in the scan's result.
#[derive(Default)]
struct Slots {
    non_null: usize,
    nan: Option<usize>,
    min: Option<usize>,
    max: Option<usize>,
    approx: Option<usize>,
    lengths: Option<(usize, usize)>,
    empty: Option<usize>,
    values: Option<usize>,
    distinct: Option<usize>,
    shape: Option<(String, usize)>,
}

/// A column's class from its Arrow type.
pub(crate) fn class_of(dt: &DataType) -> ColumnClass {
    match family(dt) {
        Some(TypeName::Int(_) | TypeName::UInt(_)) => ColumnClass::Integer,
        Some(TypeName::Float(_)) => ColumnClass::Float,
        Some(TypeName::Decimal(..)) => ColumnClass::Decimal,
        Some(TypeName::String) => ColumnClass::String,
        Some(TypeName::Bool) => ColumnClass::Bool,
        Some(TypeName::Date) => ColumnClass::Date,
        Some(TypeName::Timestamp) => ColumnClass::Timestamp,
        _ => ColumnClass::Other,
    }
}

/// The scan's aggregates and predicates, and where each column's numbers will be.
#[derive(Default)]
struct Query {
    aggs: Vec<Expr>,
    preds: Vec<Expr>,
}

impl Query {
    fn agg(&mut self, e: Expr) -> usize {
        self.aggs.push(e);
        self.aggs.len() - 1
    }

    fn pred(&mut self, e: Expr) -> usize {
        self.preds.push(e);
        self.preds.len() - 1
    }

    /// Adds what one column needs.
    fn add(&mut self, name: &str, class: ColumnClass, key: bool, shape: Option<String>, schema: &DFSchema) -> Slots {
        let c = column(name);
        let mut s = Slots {
            non_null: self.agg(count(c.clone())),
            ..Slots::default()
        };
        match class {
            ColumnClass::Float => {
                s.nan = Some(self.pred(isnan(c.clone())));
                // NaN would be the maximum; leave it out of the bounds.
                let finite = when(isnan(c.clone()), lit(ScalarValue::Float64(None)))
                    .otherwise(c.clone())
                    .unwrap_or_else(|_| c.clone());
                s.min = Some(self.agg(min(finite.clone())));
                s.max = Some(self.agg(max(finite)));
            }
            ColumnClass::Integer | ColumnClass::Decimal | ColumnClass::Date | ColumnClass::Timestamp => {
                s.min = Some(self.agg(min(c.clone())));
                s.max = Some(self.agg(max(c.clone())));
            }
            ColumnClass::String => {
                s.lengths = Some((
                    self.agg(min(character_length(c.clone()))),
                    self.agg(max(character_length(c.clone()))),
                ));
                s.empty = Some(self.pred(binary_expr(c.clone(), Operator::Eq, lit(""))));
                if let Some(re) = shape {
                    let p = binary_expr(c.clone(), Operator::RegexMatch, lit(re.clone()));
                    s.shape = Some((re, self.pred(super::kernels::fast_paths(p, schema))));
                }
            }
            ColumnClass::Bool | ColumnClass::Other => {}
        }
        // DataFusion 55's HyperLogLog takes integers, strings and times, not floats or decimals.
        if matches!(
            class,
            ColumnClass::Integer | ColumnClass::String | ColumnClass::Date | ColumnClass::Timestamp
        ) {
            s.approx = Some(self.agg(approx_distinct(c.clone())));
        }
        if matches!(class, ColumnClass::String | ColumnClass::Integer | ColumnClass::Bool) {
            s.values = Some(self.agg(top_values(c.clone(), VALUE_CAP)));
        }
        if key && matches!(class, ColumnClass::String | ColumnClass::Integer) {
            s.distinct = Some(self.agg(distinct(c, usize::MAX)));
        }
        s
    }
}

fn as_u64(v: &ScalarValue) -> Option<u64> {
    match v {
        ScalarValue::Int64(Some(x)) => u64::try_from(*x).ok(),
        ScalarValue::UInt64(Some(x)) => Some(*x),
        ScalarValue::Int32(Some(x)) => u64::try_from(*x).ok(),
        ScalarValue::UInt32(Some(x)) => Some(u64::from(*x)),
        _ => None,
    }
}

/// A minimum or maximum as a [`Bound`].
fn bound(v: &ScalarValue) -> Option<Bound> {
    use ScalarValue as S;
    Some(match v {
        S::Int8(Some(x)) => Bound::Int(i64::from(*x)),
        S::Int16(Some(x)) => Bound::Int(i64::from(*x)),
        S::Int32(Some(x)) => Bound::Int(i64::from(*x)),
        S::Int64(Some(x)) => Bound::Int(*x),
        S::UInt8(Some(x)) => Bound::Int(i64::from(*x)),
        S::UInt16(Some(x)) => Bound::Int(i64::from(*x)),
        S::UInt32(Some(x)) => Bound::Int(i64::from(*x)),
        S::UInt64(Some(x)) => i64::try_from(*x).map_or(Bound::Float(*x as f64), Bound::Int),
        S::Float16(Some(x)) => Bound::Float(f64::from(*x)),
        S::Float32(Some(x)) => Bound::Float(f64::from(*x)),
        S::Float64(Some(x)) => Bound::Float(*x),
        S::Decimal128(Some(_), ..) | S::Decimal256(Some(_), ..) => Bound::Float(crate::checks::scalar_f64(v)?),
        S::TimestampSecond(Some(x), _) => Bound::Instant(DateTime::from_timestamp(*x, 0)?),
        S::TimestampMillisecond(Some(x), _) => Bound::Instant(DateTime::from_timestamp_millis(*x)?),
        S::TimestampMicrosecond(Some(x), _) => Bound::Instant(DateTime::from_timestamp_micros(*x)?),
        S::TimestampNanosecond(Some(x), _) => Bound::Instant(DateTime::from_timestamp_nanos(*x)),
        S::Date32(Some(d)) => Bound::Date(DateTime::from_timestamp(i64::from(*d) * 86_400, 0)?.date_naive()),
        S::Date64(Some(ms)) => Bound::Date(DateTime::from_timestamp_millis(*ms)?.date_naive()),
        _ => return None,
    })
}

/// What the values hold at one position of a shape: one punctuation character, or a set of
/// character kinds (bits below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Kinds(u8),
    Literal(char),
}

const DIGIT: u8 = 1;
const LOWER_HEX: u8 = 2;
const LOWER_REST: u8 = 4;
const UPPER_HEX: u8 = 8;
const UPPER_REST: u8 = 16;
const LOWER: u8 = LOWER_HEX | LOWER_REST;
const UPPER: u8 = UPPER_HEX | UPPER_REST;

impl Class {
    fn of(c: char) -> Self {
        match c {
            '0'..='9' => Class::Kinds(DIGIT),
            'a'..='f' => Class::Kinds(LOWER_HEX),
            'g'..='z' => Class::Kinds(LOWER_REST),
            'A'..='F' => Class::Kinds(UPPER_HEX),
            'G'..='Z' => Class::Kinds(UPPER_REST),
            other => Class::Literal(other),
        }
    }

    /// Both at one position, `None` when punctuation meets anything else.
    fn join(self, other: Class) -> Option<Class> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Class::Kinds(a), Class::Kinds(b)) => Some(Class::Kinds(a | b)),
            _ => None,
        }
    }

    /// The smallest regex class holding what was seen.
    fn regex(self) -> String {
        let k = match self {
            Class::Kinds(k) => k,
            // `regex::escape` also escapes `-`, which outside a class needs none.
            Class::Literal(c) if "\\.+*?()|[]{}^$#&~".contains(c) => return format!("\\{c}"),
            Class::Literal(c) => return c.to_string(),
        };
        match k {
            DIGIT => "[0-9]",
            k if k & !LOWER == 0 => "[a-z]",
            k if k & !UPPER == 0 => "[A-Z]",
            k if k & !(DIGIT | LOWER_HEX) == 0 => "[0-9a-f]",
            k if k & !(DIGIT | UPPER_HEX) == 0 => "[0-9A-F]",
            k if k & DIGIT == 0 => "[A-Za-z]",
            _ => "[0-9A-Za-z]",
        }
        .to_string()
    }
}

/// The longest value a shape is derived for.
const MAX_SHAPE_LEN: usize = 64;

/// The fixed shape every sampled value has, as an anchored regex (`^[A-Z]{2}$`,
/// `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`), or `None`. A shape is fixed when every value has the same
/// length and, position by position, either the same punctuation or characters of one class
/// (digits, upper- or lowercase letters, hexadecimal digits, letters, letters and digits). At least
/// ten values are needed, and not all the same (a constant is a value set, not a shape).
pub(crate) fn shape_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut classes: Vec<Class> = Vec::new();
    let mut first: Option<&str> = None;
    let mut varied = false;
    let mut n = 0usize;
    for v in values {
        let chars: Vec<char> = v.chars().collect();
        if chars.is_empty() || chars.len() > MAX_SHAPE_LEN {
            return None;
        }
        match first {
            None => {
                first = Some(v);
                classes = chars.iter().map(|c| Class::of(*c)).collect();
            }
            Some(f) => {
                if chars.len() != classes.len() {
                    return None;
                }
                varied |= f != v;
                for (k, c) in classes.iter_mut().zip(&chars) {
                    *k = k.join(Class::of(*c))?;
                }
            }
        }
        n += 1;
    }
    if n < 10 || !varied || classes.iter().all(|c| matches!(c, Class::Literal(_))) {
        return None;
    }
    let mut out = String::from("^");
    let mut i = 0;
    while i < classes.len() {
        let run = classes[i..].iter().take_while(|c| **c == classes[i]).count();
        out.push_str(&classes[i].regex());
        if run > 1 {
            out.push_str(&format!("{{{run}}}"));
        }
        i += run;
    }
    out.push('$');
    Some(out)
}

/// The non-null text values of each column of the sample.
fn sample_values(batches: &[RecordBatch], column: usize) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let Ok(text) = datafusion::arrow::compute::cast(b.column(column), &DataType::Utf8) else {
            return Vec::new();
        };
        out.extend(text.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    out
}

impl Engine {
    /// Profiles a dataset in one scan (after a `LIMIT` sample of its string columns). `keys` are
    /// the columns whose exact distinct count is wanted (candidate keys).
    pub(crate) async fn profile(&self, ds: &OpenDataset, keys: &[String]) -> Result<Profile, DatasetError> {
        let failed = |e: datafusion::error::DataFusionError| DatasetError::Query {
            dataset: ds.name.clone(),
            message: clean(&e),
        };
        let queries = AtomicU32::new(0);
        let fields: Vec<(String, DataType)> = ds
            .schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let first_names: Option<Vec<&String>> = ds
            .file_schemas
            .first()
            .map(|s| s.schema.fields().iter().map(|f| f.name()).collect());
        let files_agree = ds
            .file_schemas
            .iter()
            .all(|s| Some(s.schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()) == first_names);
        let mut profile = Profile {
            rows: 0,
            files: ds.files.len(),
            format: ds.format.as_str(),
            files_agree,
            queries: 0,
            columns: fields
                .iter()
                .map(|(name, dt)| ColumnProfile {
                    name: name.clone(),
                    type_name: family_name(dt),
                    class: class_of(dt),
                    partition: ds.partition_keys.contains(name),
                    nulls: 0,
                    nan: None,
                    min: None,
                    max: None,
                    approx_distinct: None,
                    distinct: None,
                    lengths: None,
                    empty: None,
                    values: None,
                    shape: None,
                })
                .collect(),
        };
        if ds.is_empty() {
            return Ok(profile);
        }
        let shapes = self
            .sample_shapes(ds, &profile.columns, &queries)
            .await
            .map_err(failed)?;
        let (rows, slots, values) = self
            .profile_scan(ds, &profile.columns, keys, shapes, &queries)
            .await
            .map_err(failed)?;
        profile.rows = rows;
        for (c, s) in profile.columns.iter_mut().zip(&slots) {
            fill(c, rows, s, &values);
        }
        profile.queries = queries.load(Ordering::Relaxed);
        Ok(profile)
    }

    /// A candidate shape per column (string columns only), from the first [`SAMPLE_ROWS`] rows.
    async fn sample_shapes(
        &self,
        ds: &OpenDataset,
        columns: &[ColumnProfile],
        queries: &AtomicU32,
    ) -> DfResult<Vec<Option<String>>> {
        let strings: Vec<usize> = (0..columns.len())
            .filter(|&i| columns[i].class == ColumnClass::String)
            .collect();
        let mut shapes = vec![None; columns.len()];
        if strings.is_empty() {
            return Ok(shapes);
        }
        let df = self
            .sample_ctx
            .table(TableReference::bare(ds.table.clone()))
            .await?
            .select(strings.iter().map(|&i| column(&columns[i].name)).collect::<Vec<_>>())?
            .limit(0, Some(SAMPLE_ROWS))?;
        queries.fetch_add(1, Ordering::Relaxed);
        let task = std::sync::Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let batches = watchdog::guard(
            plan.clone(),
            watchdog::STALL,
            datafusion::physical_plan::collect(plan, task),
        )
        .await?;
        for (k, &i) in strings.iter().enumerate() {
            let values = sample_values(&batches, k);
            shapes[i] = shape_of(values.iter().map(String::as_str));
        }
        Ok(shapes)
    }

    /// The one aggregate query: the row count, then per column its [`Slots`] and the values found.
    async fn profile_scan(
        &self,
        ds: &OpenDataset,
        columns: &[ColumnProfile],
        keys: &[String],
        shapes: Vec<Option<String>>,
        queries: &AtomicU32,
    ) -> DfResult<(u64, Vec<Slots>, Vec<ScalarValue>)> {
        let base = self.ctx.table(TableReference::bare(ds.table.clone())).await?;
        let schema = base.schema().clone();
        let mut q = Query::default();
        let slots: Vec<Slots> = columns
            .iter()
            .zip(shapes)
            .map(|(c, shape)| q.add(&c.name, c.class, keys.contains(&c.name), shape, &schema))
            .collect();
        let Query { aggs, preds } = q;
        let mut list = vec![count(lit(1i64)).alias("rows")];
        let counted = !preds.is_empty();
        if counted {
            list.push(super::kernels::count_true::count_true(preds).alias("counts"));
        }
        let first_agg = list.len();
        list.extend(aggs.into_iter().enumerate().map(|(i, e)| e.alias(format!("m{i}"))));
        let df = base.aggregate(vec![], list)?;
        let plan = df.create_physical_plan().await?;
        queries.fetch_add(1, Ordering::Relaxed);
        let batches = watchdog::guard(
            plan.clone(),
            watchdog::STALL,
            datafusion::physical_plan::collect(plan, self.ctx.task_ctx()),
        )
        .await?;
        let batch = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| datafusion::error::DataFusionError::Internal("the profile returned no row".into()))?;
        let mut row: Vec<ScalarValue> = (0..batch.num_columns())
            .map(|i| ScalarValue::try_from_array(batch.column(i), 0))
            .collect::<DfResult<_>>()?;
        let rows = as_u64(&row[0]).unwrap_or(0);
        let counts = if counted {
            super::kernels::count_true::counts_of(&row[1])
        } else {
            Vec::new()
        };
        // Predicate counts follow the aggregates in one list that the slots index (`fill`).
        let n = row.len() - first_agg;
        let mut values: Vec<ScalarValue> = row.split_off(first_agg);
        values.extend(counts.iter().map(|c| ScalarValue::UInt64(Some(*c))));
        let slots = slots.into_iter().map(|s| s.offset_preds(n)).collect();
        Ok((rows, slots, values))
    }
}

impl Slots {
    /// Predicate slots index the counts, which follow the aggregates in the values list.
    fn offset_preds(mut self, n: usize) -> Self {
        self.nan = self.nan.map(|i| i + n);
        self.empty = self.empty.map(|i| i + n);
        self.shape = self.shape.map(|(re, i)| (re, i + n));
        self
    }
}

/// Fills a column's profile from the scan's values.
fn fill(c: &mut ColumnProfile, rows: u64, s: &Slots, v: &[ScalarValue]) {
    let at = |i: usize| v.get(i).cloned().unwrap_or(ScalarValue::Null);
    c.nulls = rows.saturating_sub(as_u64(&at(s.non_null)).unwrap_or(0));
    c.nan = s.nan.map(|i| as_u64(&at(i)).unwrap_or(0));
    c.min = s.min.and_then(|i| bound(&at(i)));
    c.max = s.max.and_then(|i| bound(&at(i)));
    c.approx_distinct = s.approx.and_then(|i| as_u64(&at(i)));
    c.lengths = s
        .lengths
        .and_then(|(lo, hi)| Some((as_u64(&at(lo))?, as_u64(&at(hi))?)));
    c.empty = s.empty.map(|i| as_u64(&at(i)).unwrap_or(0));
    let values = s.values.and_then(|i| top_values_of(&at(i)));
    c.distinct = values.as_ref().map(|v| v.len() as u64);
    c.values = values.map(|v| {
        v.into_iter()
            .map(|(value, count)| ValueCount { value, count })
            .collect()
    });
    if let Some(d) = s.distinct.and_then(|i| as_u64(&at(i))) {
        c.distinct = Some(d);
    }
    c.shape = s.shape.as_ref().map(|(regex, i)| ShapeMatch {
        regex: regex.clone(),
        matched: as_u64(&at(*i)).unwrap_or(0),
    });
}

#[cfg(test)]
mod tests {
    use super::shape_of;

    fn shape(values: &[&str]) -> Option<String> {
        let many: Vec<&str> = values.iter().cycle().take(values.len().max(10)).copied().collect();
        shape_of(many)
    }

    #[test]
    fn fixed_shapes_are_found() {
        assert_eq!(shape(&["US", "DE", "FR"]).as_deref(), Some("^[A-Z]{2}$"));
        assert_eq!(shape(&["12345", "02134"]).as_deref(), Some("^[0-9]{5}$"));
        assert_eq!(
            shape(&["2026-01-14", "2025-12-31"]).as_deref(),
            Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        );
        assert_eq!(
            shape(&["3f2a", "a0b9", "12c4", "e5d6"]).as_deref(),
            Some("^[0-9a-f]{4}$")
        );
        assert_eq!(shape(&["3f2a", "0b9c"]).as_deref(), Some("^[0-9][a-z][0-9][a-z]$"));
        assert_eq!(shape(&["A1", "z2"]).as_deref(), Some("^[A-Za-z][0-9]$"));
        assert_eq!(shape(&["g1", "A2"]).as_deref(), Some("^[A-Za-z][0-9]$"));
        assert_eq!(shape(&["g", "1"]).as_deref(), Some("^[0-9A-Za-z]$"));
        assert_eq!(shape(&["Ab", "cD"]).as_deref(), Some("^[A-Za-z]{2}$"));
        assert_eq!(shape(&["a.b", "c.d"]).as_deref(), Some("^[a-z]\\.[a-z]$"));
    }

    #[test]
    fn no_shape_when_values_differ_in_length_or_punctuation_or_are_few_or_constant() {
        assert_eq!(shape(&["US", "USA"]), None);
        assert_eq!(shape(&["a-b", "a_b"]), None);
        assert_eq!(shape_of(["US", "DE"]), None);
        assert_eq!(shape(&["US"]), None);
        assert_eq!(shape(&["", "a"]), None);
        assert_eq!(shape(&["--", "--"]), None);
    }
}
