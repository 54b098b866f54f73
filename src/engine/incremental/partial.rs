//! Which aggregates merge across files, what is measured per file for them, and the merge.
//!
//! A file's numbers can be kept and added to a later file's only when the aggregate is one whose
//! value over the union of files follows from its values per file: `count` and `sum` add, `min`
//! and `max` take the extreme, `avg` is the sum of per-file sums over the sum of per-file counts.
//! Anything else (`count(DISTINCT …)`, `median`, an expression over several aggregates) is not
//! mergeable and is measured by a scan of every file, as without incremental runs.
//!
//! Exactness: counts, minima, maxima and integer or decimal sums (integer sums add in 128 bits,
//! checked, as the full scan's `lakegate_sum_int` does) are exactly the full scan's. Sums and
//! averages of floating-point columns add the same numbers in another order, as a full scan over
//! other partitions does: they can differ from a full scan's in the last bits.

use datafusion::arrow::array::{Array, ArrayData, make_array};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::functions_aggregate::count::count_udaf;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable};
use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};

/// How per-file values of one aggregate merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// Counts add (an `Int64` like `count`).
    Count,
    /// Sums add, checked (nulls, from files without a value, are skipped).
    Sum,
    Min,
    Max,
    /// Two per-file values: the sum as a float and the count.
    Avg,
}

/// A mergeable aggregate: how it merges and what is measured per file for it.
#[derive(Debug, Clone)]
pub(crate) struct Partial {
    pub merge: Merge,
    /// One expression, or two for `avg` (its sum as a float, its count).
    pub exprs: Vec<Expr>,
}

/// The per-file form of an aggregate, or `None` when its per-file values do not merge.
pub(crate) fn partial(e: &Expr, schema: &DFSchema) -> Option<Partial> {
    let e = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        other => other,
    };
    let Expr::AggregateFunction(af) = e else { return None };
    if af.params.distinct || af.params.args.len() != 1 {
        return None;
    }
    let merge = match af.func.name() {
        "count" => Merge::Count,
        "sum" | "lakegate_sum_int" => Merge::Sum,
        "min" => Merge::Min,
        "max" => Merge::Max,
        "avg" => Merge::Avg,
        _ => return None,
    };
    if merge != Merge::Avg {
        // Binary values have no stored form (`Stored`); they are scanned.
        let dt = e.get_type(schema).ok()?;
        return stores(&dt).then(|| Partial {
            merge,
            exprs: vec![e.clone()],
        });
    }
    // `avg` of an integer or float column is a float sum over a count; a decimal average keeps
    // its own precision rules and is scanned.
    let arg = &af.params.args[0];
    let dt = arg.get_type(schema).ok()?;
    if !(dt.is_integer() || dt.is_floating()) {
        return None;
    }
    let mut sum = af.clone();
    sum.func = sum_udaf();
    sum.params.args = vec![Expr::Cast(Cast::new(Box::new(arg.clone()), DataType::Float64))];
    let mut cnt = af.clone();
    cnt.func = count_udaf();
    Some(Partial {
        merge,
        exprs: vec![Expr::AggregateFunction(sum), Expr::AggregateFunction(cnt)],
    })
}

/// Whether a value of this type has a stored form.
fn stores(dt: &DataType) -> bool {
    dt.primitive_width().is_some() || matches!(dt, DataType::Boolean) || is_text(dt)
}

fn is_text(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Merges one aggregate's per-file values (each file's values of `Partial::exprs`, in order);
/// `types` are those expressions' types (for a null when no file has a value).
pub(crate) fn merge(how: Merge, files: &[Vec<ScalarValue>], types: &[DataType]) -> Result<ScalarValue, String> {
    let firsts = files.iter().filter_map(|v| v.first());
    Ok(match how {
        Merge::Count => {
            let mut n: i64 = 0;
            for v in firsts {
                let x = match v {
                    ScalarValue::Int64(Some(x)) => *x,
                    ScalarValue::Int64(None) => 0,
                    other => return Err(format!("a stored count is {other:?}")),
                };
                n = n.checked_add(x).ok_or("a count overflowed")?;
            }
            ScalarValue::Int64(Some(n))
        }
        Merge::Sum => {
            let mut acc: Option<ScalarValue> = None;
            for v in firsts.filter(|v| !v.is_null()) {
                acc = Some(match acc {
                    None => v.clone(),
                    Some(a) => a.add_checked(v).map_err(|e| e.to_string())?,
                });
            }
            acc.map_or_else(|| null_of(types), Ok)?
        }
        Merge::Min | Merge::Max => {
            let mut acc: Option<ScalarValue> = None;
            for v in firsts.filter(|v| !v.is_null()) {
                let better = match &acc {
                    None => true,
                    Some(a) => {
                        let ord = v.partial_cmp(a).ok_or("values that do not compare")?;
                        if how == Merge::Min { ord.is_lt() } else { ord.is_gt() }
                    }
                };
                if better {
                    acc = Some(v.clone());
                }
            }
            acc.map_or_else(|| null_of(types), Ok)?
        }
        Merge::Avg => {
            let (mut sum, mut count, mut any) = (0f64, 0i64, false);
            for v in files {
                if let [s, c] = v.as_slice() {
                    if let ScalarValue::Float64(Some(s)) = s {
                        sum += s;
                        any = true;
                    }
                    if let ScalarValue::Int64(Some(c)) = c {
                        count = count.checked_add(*c).ok_or("a count overflowed")?;
                    }
                } else {
                    return Err("a stored average lacks its sum or count".into());
                }
            }
            #[allow(clippy::cast_precision_loss)]
            ScalarValue::Float64((any && count > 0).then(|| sum / count as f64))
        }
    })
}

fn null_of(types: &[DataType]) -> Result<ScalarValue, String> {
    let dt = types.first().ok_or("no type for a null")?;
    ScalarValue::try_from(dt).map_err(|e| e.to_string())
}

/// A value as kept in the state file: exact, read back with the type its expression has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stored {
    Null,
    Bool(bool),
    Text(String),
    /// A fixed-width value's little-endian bytes, in hex.
    Bits(String),
}

impl Stored {
    /// The stored form of a value, or `None` for a type without one.
    pub(crate) fn of(v: &ScalarValue) -> Option<Self> {
        if v.is_null() {
            return Some(Self::Null);
        }
        match v {
            ScalarValue::Boolean(Some(b)) => Some(Self::Bool(*b)),
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                Some(Self::Text(s.clone()))
            }
            other => {
                let width = other.data_type().primitive_width()?;
                let data = other.to_array().ok()?.to_data();
                let start = data.offset() * width;
                let bytes = data.buffers().first()?.as_slice().get(start..start + width)?;
                Some(Self::Bits(bytes.iter().map(|b| format!("{b:02x}")).collect()))
            }
        }
    }

    /// The value again, as a `dt`.
    pub(crate) fn value(&self, dt: &DataType) -> Option<ScalarValue> {
        match self {
            Self::Null => ScalarValue::try_from(dt).ok(),
            Self::Bool(b) => (*dt == DataType::Boolean).then_some(ScalarValue::Boolean(Some(*b))),
            Self::Text(s) => match dt {
                DataType::Utf8 => Some(ScalarValue::Utf8(Some(s.clone()))),
                DataType::LargeUtf8 => Some(ScalarValue::LargeUtf8(Some(s.clone()))),
                DataType::Utf8View => Some(ScalarValue::Utf8View(Some(s.clone()))),
                _ => None,
            },
            Self::Bits(hex) => {
                let width = dt.primitive_width()?;
                let bytes = super::fingerprint::unhex(hex).filter(|b| b.len() == width)?;
                let data = ArrayData::try_new(dt.clone(), 1, None, 0, vec![Buffer::from_vec(bytes)], vec![]).ok()?;
                ScalarValue::try_from_array(&make_array(data), 0).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimeUnit;

    #[test]
    fn stored_values_read_back_exactly() {
        let values = [
            ScalarValue::Int64(Some(-7)),
            ScalarValue::UInt32(Some(u32::MAX)),
            ScalarValue::Float64(Some(0.1 + 0.2)),
            ScalarValue::Float64(Some(f64::NAN)),
            ScalarValue::Decimal128(Some(-(10i128.pow(37))), 38, 0),
            ScalarValue::TimestampNanosecond(Some(1_700_000_000_123_456_789), Some("UTC".into())),
            ScalarValue::TimestampMicrosecond(None, None),
            ScalarValue::Date32(Some(19_000)),
            ScalarValue::Utf8(Some("zürich".into())),
            ScalarValue::Utf8View(Some("v".into())),
            ScalarValue::Boolean(Some(false)),
        ];
        for v in values {
            let stored = Stored::of(&v).unwrap();
            let json = serde_json::to_string(&stored).unwrap();
            let back: Stored = serde_json::from_str(&json).unwrap();
            let again = back.value(&v.data_type()).unwrap();
            // NaN is not equal to itself; compare the bits through the stored form.
            assert_eq!(Stored::of(&again), Some(stored), "{v:?}");
            assert_eq!(again.data_type(), v.data_type());
        }
        assert!(
            Stored::Bits("00".into()).value(&DataType::Int64).is_none(),
            "a short value is refused"
        );
        assert!(
            Stored::Bits("zz00000000000000".into())
                .value(&DataType::Timestamp(TimeUnit::Second, None))
                .is_none()
        );
    }

    #[test]
    fn merges_follow_the_aggregates() {
        let i = |x: i64| ScalarValue::Int64(Some(x));
        let files = vec![vec![i(3)], vec![ScalarValue::Int64(None)], vec![i(-5)]];
        assert_eq!(merge(Merge::Count, &files[..1], &[]).unwrap(), i(3));
        assert_eq!(merge(Merge::Sum, &files, &[DataType::Int64]).unwrap(), i(-2));
        assert_eq!(merge(Merge::Min, &files, &[DataType::Int64]).unwrap(), i(-5));
        assert_eq!(merge(Merge::Max, &files, &[DataType::Int64]).unwrap(), i(3));
        let none = vec![vec![ScalarValue::Int64(None)]];
        assert_eq!(
            merge(Merge::Max, &none, &[DataType::Int64]).unwrap(),
            ScalarValue::Int64(None)
        );
        let f = |x: f64| ScalarValue::Float64(Some(x));
        let avg = vec![
            vec![f(3.0), i(2)],
            vec![ScalarValue::Float64(None), i(0)],
            vec![f(6.0), i(1)],
        ];
        assert_eq!(merge(Merge::Avg, &avg, &[]).unwrap(), f(3.0));
        assert!(merge(Merge::Sum, &[vec![i(i64::MAX)], vec![i(1)]], &[DataType::Int64]).is_err());
    }
}
