//! A one-pass kernel for two-sided `range` checks: `value < lo OR value > hi` in one loop.
//!
//! DataFusion evaluates that predicate as two comparison kernels and an `OR` kernel, and before
//! each float comparison it scans the whole array for `-0.0`; a suite with many ranges spends most
//! of its predicate time there. [`rewrite`] replaces the predicate, when both sides compare the same
//! numeric or temporal column with a literal of its own type, by `lakegate_outside(value)`, which
//! keeps DataFusion's semantics exactly (floats: `-0.0` equals `0.0`, a NaN of either sign is
//! outside every range; null stays null). Integers are tested with one unsigned comparison
//! (`v - lo <= hi - lo`) in the column's own width, floats with two IEEE comparisons, 64 values to a
//! bitmap word without branches or bounds checks, so the loops vectorize. Unit tests compare it
//! with DataFusion's kernels on edge values.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type,
};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// A bound in the column's domain: integers (and dates, timestamps) as i64, floats as f64.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Int(i64),
    Float(f64),
}

/// `value < lo` (or `<=` when `lo_inclusive` fails too) or `value > hi` (or `>=`).
#[derive(Debug, Clone, PartialEq)]
struct Outside {
    lo: Bound,
    lo_eq: bool,
    hi: Bound,
    hi_eq: bool,
}

impl Eq for Outside {}

impl std::hash::Hash for Outside {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for (b, eq) in [(self.lo, self.lo_eq), (self.hi, self.hi_eq)] {
            match b {
                Bound::Int(i) => i.hash(state),
                Bound::Float(f) => f.to_bits().hash(state),
            }
            eq.hash(state);
        }
    }
}

/// An integer lane type: a value's distance above a lower bound, as the unsigned type of its width
/// (wrapping), so that `lo <= v <= hi` is the one comparison `v - lo <= hi - lo`.
trait Lane: Copy {
    type Unsigned: Copy + PartialOrd;
    const MIN: i64;
    const MAX: i64;
    /// `v`, known to lie within `MIN..=MAX`.
    fn narrow(v: i64) -> Self;
    fn offset(self, lo: Self) -> Self::Unsigned;
}

macro_rules! lane {
    ($t:ty, $u:ty) => {
        impl Lane for $t {
            type Unsigned = $u;
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = <$t>::MAX as i64;
            fn narrow(v: i64) -> Self {
                v as $t
            }
            fn offset(self, lo: Self) -> $u {
                self.wrapping_sub(lo) as $u
            }
        }
    };
}
lane!(i8, u8);
lane!(i16, u16);
lane!(i32, u32);
lane!(i64, u64);
lane!(u8, u8);
lane!(u16, u16);
lane!(u32, u32);

impl Outside {
    /// The integers that pass, `lo..=hi`, or `None` when none does.
    fn passing_ints(&self) -> Option<(i64, i64)> {
        let (Bound::Int(lo), Bound::Int(hi)) = (self.lo, self.hi) else {
            // Never built: both bounds have the column's kind.
            return None;
        };
        let lo = if self.lo_eq { lo.checked_add(1)? } else { lo };
        let hi = if self.hi_eq { hi.checked_sub(1)? } else { hi };
        (lo <= hi).then_some((lo, hi))
    }

    fn ints<T: Lane>(&self, values: &[T]) -> BooleanBuffer {
        match self.passing_ints() {
            Some((lo, hi)) if lo <= T::MAX && hi >= T::MIN => {
                let lo = T::narrow(lo.max(T::MIN));
                let span = T::narrow(hi.min(T::MAX)).offset(lo);
                super::udf::pack(values, |v| v.offset(lo) > span)
            }
            _ => BooleanBuffer::new_set(values.len()),
        }
    }

    /// Floats compare as IEEE numbers: `-0.0 == 0.0` and a NaN (of either sign) is outside every
    /// range, exactly as in DataFusion's total order with `-0.0` normalized (a NaN sorts above or
    /// below every bound, and bounds are never NaN).
    fn floats<T: Copy + PartialOrd>(&self, values: &[T], convert: impl Fn(f64) -> T) -> BooleanBuffer {
        let (Bound::Float(lo), Bound::Float(hi)) = (self.lo, self.hi) else {
            return BooleanBuffer::new_set(values.len());
        };
        let (lo, hi) = (convert(lo), convert(hi));
        match (self.lo_eq, self.hi_eq) {
            (false, false) => super::udf::pack(values, |v| !((v >= lo) & (v <= hi))),
            (true, false) => super::udf::pack(values, |v| !((v > lo) & (v <= hi))),
            (false, true) => super::udf::pack(values, |v| !((v >= lo) & (v < hi))),
            (true, true) => super::udf::pack(values, |v| !((v > lo) & (v < hi))),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct OutsideUdf {
    outside: Outside,
    signature: Signature,
}

macro_rules! ints {
    ($a:expr, $o:expr, $t:ty) => {
        $o.ints($a.as_primitive::<$t>().values())
    };
}

impl OutsideUdf {
    fn evaluate(&self, a: &dyn Array) -> Result<BooleanArray> {
        let o = &self.outside;
        let values = match a.data_type() {
            DataType::Float64 => o.floats(a.as_primitive::<Float64Type>().values(), |b| b),
            // bounds of a Float32 column convert losslessly
            DataType::Float32 => o.floats(a.as_primitive::<Float32Type>().values(), |b| b as f32),
            DataType::Int8 => ints!(a, o, Int8Type),
            DataType::Int16 => ints!(a, o, Int16Type),
            DataType::Int32 => ints!(a, o, Int32Type),
            DataType::Int64 => ints!(a, o, Int64Type),
            DataType::UInt8 => ints!(a, o, UInt8Type),
            DataType::UInt16 => ints!(a, o, UInt16Type),
            DataType::UInt32 => ints!(a, o, UInt32Type),
            DataType::Date32 => ints!(a, o, Date32Type),
            DataType::Date64 => ints!(a, o, Date64Type),
            DataType::Timestamp(TimeUnit::Second, _) => ints!(a, o, TimestampSecondType),
            DataType::Timestamp(TimeUnit::Millisecond, _) => ints!(a, o, TimestampMillisecondType),
            DataType::Timestamp(TimeUnit::Microsecond, _) => ints!(a, o, TimestampMicrosecondType),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => ints!(a, o, TimestampNanosecondType),
            other => return exec_err!("lakegate_outside: unexpected {other}"),
        };
        Ok(BooleanArray::new(values, a.nulls().cloned()))
    }
}

impl ScalarUDFImpl for OutsideUdf {
    fn name(&self) -> &'static str {
        "lakegate_outside"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        super::udf::on_array(&args.args[0], |a| Ok(Arc::new(self.evaluate(a)?) as ArrayRef))
    }
}

/// A literal as a bound of a column of type `dt`, when it converts without loss.
fn bound(v: &ScalarValue, dt: &DataType) -> Option<Bound> {
    let same = super::udf::lossless(v, dt)?;
    match same {
        ScalarValue::Float64(Some(f)) if !f.is_nan() => Some(Bound::Float(if f == 0.0 { 0.0 } else { f })),
        ScalarValue::Float32(Some(f)) if !f.is_nan() => Some(Bound::Float(if f == 0.0 { 0.0 } else { f64::from(f) })),
        ScalarValue::Float64(_) | ScalarValue::Float32(_) => None,
        other => match other.cast_to(&DataType::Int64).ok()? {
            ScalarValue::Int64(Some(i)) => Some(Bound::Int(i)),
            _ => None,
        },
    }
}

fn supported(dt: &DataType) -> bool {
    super::udf::fits_i64(dt)
        || matches!(
            dt,
            DataType::Float64 | DataType::Float32 | DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
        )
}

/// `(column, bound, inclusive)` of `column < lit` / `column <= lit` (`below`) or `>` / `>=`.
fn side(e: &Expr, below: bool, dt: impl Fn(&Expr) -> Option<DataType>) -> Option<(&Expr, Bound, bool)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    let Expr::Literal(v, _) = right.as_ref() else {
        return None;
    };
    let eq = match (op, below) {
        (Operator::Lt, true) | (Operator::Gt, false) => false,
        (Operator::LtEq, true) | (Operator::GtEq, false) => true,
        _ => return None,
    };
    let t = dt(left)?;
    Some((left.as_ref(), bound(v, &t)?, eq))
}

/// Replaces `x < lo OR x > hi` (either side inclusive) by the one-pass kernel where it applies.
pub(crate) fn rewrite(e: Expr, schema: &DFSchema) -> Expr {
    let original = e.clone();
    let column_type = |x: &Expr| {
        matches!(x, Expr::Column(_))
            .then(|| x.get_type(schema).ok())
            .flatten()
            .filter(supported)
    };
    e.transform_up(|node| {
        let Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) = &node
        else {
            return Ok(Transformed::no(node));
        };
        let (Some((a, lo, lo_eq)), Some((b, hi, hi_eq))) =
            (side(left, true, column_type), side(right, false, column_type))
        else {
            return Ok(Transformed::no(node));
        };
        if a != b || std::mem::discriminant(&lo) != std::mem::discriminant(&hi) {
            return Ok(Transformed::no(node));
        }
        let t = column_type(a).unwrap_or(DataType::Null);
        let udf = ScalarUDF::new_from_impl(OutsideUdf {
            outside: Outside { lo, lo_eq, hi, hi_eq },
            signature: Signature::exact(vec![t], Volatility::Immutable),
        });
        Ok(Transformed::yes(udf.call(vec![a.clone()])))
    })
    .map_or(original, |t| t.data)
}

/// The state of a `lakegate_outside` function, for another process (see [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &ScalarUDF) -> Option<serde_json::Value> {
    let u = f.inner().downcast_ref::<OutsideUdf>()?;
    let bound = |b: Bound| match b {
        Bound::Int(i) => serde_json::json!({ "int": i }),
        // the bits, so that every float (signed zeros too) travels exactly
        Bound::Float(x) => serde_json::json!({ "float_bits": x.to_bits() }),
    };
    let o = &u.outside;
    let types = match u.signature.type_signature {
        datafusion::logical_expr::TypeSignature::Exact(ref t) => t.clone(),
        _ => Vec::new(),
    };
    Some(serde_json::json!({
        "lo": bound(o.lo), "lo_eq": o.lo_eq, "hi": bound(o.hi), "hi_eq": o.hi_eq,
        "type": types.first().map(super::portable::data_type),
    }))
}

/// The `lakegate_outside` function from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<ScalarUDF>> {
    use super::portable::{bool_of, data_type_of, field};
    if name != "lakegate_outside" {
        return None;
    }
    let bound = |key: &str| -> Result<Bound> {
        let b = field(name, v, key)?;
        if let Some(i) = b.get("int").and_then(serde_json::Value::as_i64) {
            return Ok(Bound::Int(i));
        }
        b.get("float_bits")
            .and_then(serde_json::Value::as_u64)
            .map(|bits| Bound::Float(f64::from_bits(bits)))
            .ok_or_else(|| datafusion::common::exec_datafusion_err!("function {name}: `{key}` is not a bound"))
    };
    let built = || -> Result<ScalarUDF> {
        let outside = Outside {
            lo: bound("lo")?,
            lo_eq: bool_of(name, v, "lo_eq")?,
            hi: bound("hi")?,
            hi_eq: bool_of(name, v, "hi_eq")?,
        };
        let t = data_type_of(name, v, "type")?;
        Ok(ScalarUDF::new_from_impl(OutsideUdf {
            outside,
            signature: Signature::exact(vec![t], Volatility::Immutable),
        }))
    };
    Some(built())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int32Array, TimestampMillisecondArray};
    use datafusion::arrow::compute::kernels::{boolean, cmp};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::lit;

    use super::*;

    fn schema() -> DFSchema {
        DFSchema::try_from(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ]))
        .unwrap()
    }

    fn udf_of(e: &Expr) -> &OutsideUdf {
        let Expr::ScalarFunction(f) = e else {
            panic!("not rewritten: {e}")
        };
        f.func.inner().downcast_ref::<OutsideUdf>().unwrap()
    }

    /// What DataFusion computes: its comparison kernels on normalized floats, then OR.
    fn reference(a: &Float64Array, lo: f64, hi: f64, lo_eq: bool, hi_eq: bool) -> Vec<Option<bool>> {
        let norm = Float64Array::from_iter(a.iter().map(|v| v.map(|x| if x == 0.0 { 0.0 } else { x })));
        // DataFusion normalizes the literals too.
        let lo = Float64Array::new_scalar(if lo == 0.0 { 0.0 } else { lo });
        let hi = Float64Array::new_scalar(if hi == 0.0 { 0.0 } else { hi });
        let below = if lo_eq {
            cmp::lt_eq(&norm, &lo)
        } else {
            cmp::lt(&norm, &lo)
        }
        .unwrap();
        let above = if hi_eq {
            cmp::gt_eq(&norm, &hi)
        } else {
            cmp::gt(&norm, &hi)
        }
        .unwrap();
        boolean::or_kleene(&below, &above).unwrap().iter().collect()
    }

    #[test]
    fn floats_keep_datafusion_semantics_for_nan_and_negative_zero() {
        let values = Float64Array::from(vec![
            Some(-0.0),
            Some(0.0),
            Some(f64::NAN),
            Some(-f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(-1.0),
            Some(10_000.0),
            Some(10_000.5),
            Some(5.0),
            None,
        ]);
        for (lo, hi) in [(0.0, 10_000.0), (-0.0, 1.0), (-1.0, 10_000.5)] {
            for (lo_eq, hi_eq) in [(false, false), (true, true), (true, false)] {
                let udf = OutsideUdf {
                    outside: Outside {
                        lo: Bound::Float(if lo == 0.0 { 0.0 } else { lo }),
                        lo_eq,
                        hi: Bound::Float(hi),
                        hi_eq,
                    },
                    signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
                };
                let got: Vec<Option<bool>> = udf.evaluate(&values).unwrap().iter().collect();
                assert_eq!(
                    got,
                    reference(&values, lo, hi, lo_eq, hi_eq),
                    "[{lo}, {hi}] {lo_eq} {hi_eq}"
                );
            }
        }
    }

    fn outside(lo: Bound, lo_eq: bool, hi: Bound, hi_eq: bool, t: DataType) -> OutsideUdf {
        OutsideUdf {
            outside: Outside { lo, lo_eq, hi, hi_eq },
            signature: Signature::exact(vec![t], Volatility::Immutable),
        }
    }

    #[test]
    fn every_integer_width_matches_plain_comparisons_at_its_limits() {
        use datafusion::arrow::array::{Int8Array, Int64Array, UInt8Array, UInt32Array};
        // Bounds inside, at and beyond each type's limits; arrays longer than one bitmap word.
        let bounds = [
            i64::MIN,
            -200,
            -129,
            -128,
            -1,
            0,
            1,
            127,
            128,
            255,
            256,
            4_294_967_295,
            i64::MAX,
        ];
        let expected = |vals: &[Option<i64>], lo: i64, lo_eq: bool, hi: i64, hi_eq: bool| -> Vec<Option<bool>> {
            vals.iter()
                .map(|v| v.map(|v| v < lo || (lo_eq && v == lo) || v > hi || (hi_eq && v == hi)))
                .collect()
        };
        let cycle = |edge: Vec<Option<i64>>| -> Vec<Option<i64>> { edge.iter().cycle().take(150).copied().collect() };
        let i8s = cycle(vec![Some(-128), Some(-1), Some(0), Some(1), Some(127), None, Some(100)]);
        let u8s = cycle(vec![Some(0), Some(1), Some(127), Some(128), Some(255), None]);
        let u32s = cycle(vec![Some(0), Some(1), Some(255), Some(256), Some(4_294_967_295), None]);
        let i64s = cycle(vec![Some(i64::MIN), Some(-1), Some(0), Some(1), Some(i64::MAX), None]);
        let arrays: Vec<(ArrayRef, &Vec<Option<i64>>, DataType)> = vec![
            (
                Arc::new(Int8Array::from_iter(i8s.iter().map(|v| v.map(|v| v as i8)))),
                &i8s,
                DataType::Int8,
            ),
            (
                Arc::new(UInt8Array::from_iter(u8s.iter().map(|v| v.map(|v| v as u8)))),
                &u8s,
                DataType::UInt8,
            ),
            (
                Arc::new(UInt32Array::from_iter(u32s.iter().map(|v| v.map(|v| v as u32)))),
                &u32s,
                DataType::UInt32,
            ),
            (Arc::new(Int64Array::from(i64s.clone())), &i64s, DataType::Int64),
        ];
        for (array, vals, t) in &arrays {
            for lo in bounds {
                for hi in bounds {
                    for (lo_eq, hi_eq) in [(false, false), (true, true), (true, false), (false, true)] {
                        let udf = outside(Bound::Int(lo), lo_eq, Bound::Int(hi), hi_eq, t.clone());
                        let got: Vec<Option<bool>> = udf.evaluate(array.as_ref()).unwrap().iter().collect();
                        assert_eq!(
                            got,
                            expected(vals, lo, lo_eq, hi, hi_eq),
                            "{t} [{lo}, {hi}] {lo_eq} {hi_eq}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn long_float_arrays_match_datafusion_past_the_first_word() {
        let edge = [
            -0.0,
            0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            10_000.0,
            7.5,
        ];
        let values = Float64Array::from_iter((0..203).map(|i| (i % 11 != 3).then(|| edge[i % edge.len()])));
        for (lo, hi) in [
            (0.0, 10_000.0),
            (f64::NEG_INFINITY, f64::INFINITY),
            (7.5, 7.5),
            (10.0, -10.0),
        ] {
            for (lo_eq, hi_eq) in [(false, false), (true, true), (true, false), (false, true)] {
                let udf = outside(Bound::Float(lo), lo_eq, Bound::Float(hi), hi_eq, DataType::Float64);
                let got: Vec<Option<bool>> = udf.evaluate(&values).unwrap().iter().collect();
                assert_eq!(
                    got,
                    reference(&values, lo, hi, lo_eq, hi_eq),
                    "[{lo}, {hi}] {lo_eq} {hi_eq}"
                );
            }
        }
    }

    #[test]
    fn integers_and_timestamps_match_the_comparisons() {
        let udf = OutsideUdf {
            outside: Outside {
                lo: Bound::Int(1),
                lo_eq: false,
                hi: Bound::Int(100),
                hi_eq: true,
            },
            signature: Signature::exact(vec![DataType::Int32], Volatility::Immutable),
        };
        let ints = Int32Array::from(vec![
            Some(0),
            Some(1),
            Some(50),
            Some(99),
            Some(100),
            Some(101),
            None,
            Some(i32::MIN),
        ]);
        let got: Vec<Option<bool>> = udf.evaluate(&ints).unwrap().iter().collect();
        let expected: Vec<Option<bool>> = ints.iter().map(|v| v.map(|v| !(1..100).contains(&v))).collect();
        assert_eq!(got, expected);
        let ts = TimestampMillisecondArray::from(vec![Some(0i64), Some(1), Some(100), None]).with_timezone("UTC");
        let got: Vec<Option<bool>> = udf.evaluate(&ts).unwrap().iter().collect();
        assert_eq!(got, [Some(true), Some(false), Some(true), None]);
    }

    #[test]
    fn only_two_sided_comparisons_of_one_column_with_lossless_bounds_are_rewritten() {
        let s = schema();
        let c = crate::checks::column;
        let range = |col: &str, lo: Expr, hi: Expr| c(col).lt(lo).or(c(col).gt(hi));
        let r = rewrite(range("f", lit(0i64), lit(10_000i64)), &s);
        assert_eq!(udf_of(&r).outside.lo, Bound::Float(0.0));
        let r = rewrite(range("i", lit(1i64), lit(100i64)), &s);
        assert_eq!(udf_of(&r).outside.hi, Bound::Int(100));
        // 0.5 is not an Int32; strings, one-sided checks and two columns keep DataFusion's kernels.
        for e in [
            range("i", lit(0.5), lit(100i64)),
            range("s", lit("a"), lit("b")),
            c("f").lt(lit(0.0)),
            c("f").lt(lit(0.0)).or(c("i").gt(lit(5i64))),
            c("f").gt(lit(0.0)).or(c("f").lt(lit(5.0))),
        ] {
            assert_eq!(rewrite(e.clone(), &s), e);
        }
        // Inside a scope: `where AND failing` keeps its `where`.
        let scoped = c("i").gt(lit(0i64)).and(range("f", lit(0.0), lit(1.0)));
        let Expr::BinaryExpr(b) = rewrite(scoped, &s) else {
            panic!()
        };
        assert_eq!(udf_of(&b.right).outside.hi, Bound::Float(1.0));
    }
}
