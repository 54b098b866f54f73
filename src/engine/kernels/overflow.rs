//! Integer arithmetic in suites never wraps.
//!
//! DataFusion 55 evaluates `+`, `-` and `*` over integers with wrapping kernels and accumulates
//! `sum` of an integer column in its own width with wrapping adds: `sum(v)` over four values of
//! 2^62 and a 5 reports 5, and `v * 4 > 0` fails rows whose product wrapped negative. A gate cannot
//! answer with a wrapped number. [`rewrite`] changes a parsed fragment so that:
//!
//! - `a + b`, `a - b` and `a * b` over integers call `lakegate_checked_{add,sub,mul}`, arrow's
//!   checked kernels in the operands' common type: an overflow is an error of the check that
//!   computes it (its status is `error`, the other checks run), never a wrapped value;
//! - `-x` of a signed integer is `0 - x`, checked the same way (`-(-2^63)` wraps to itself);
//! - `abs(x)` of a signed integer is `CASE WHEN x < 0 THEN 0 - x ELSE x END`, checked likewise;
//! - `sum(x)` of an integer `x` is `lakegate_sum_int(x)`, which adds in 128 bits and returns a
//!   DECIMAL(38, 0), as DuckDB widens to HUGEINT: the total of any 2^64 values of 64 bits is exact.
//!   (`sum(DISTINCT x)` casts to DECIMAL(38, 0) instead; the cast costs ten times the adds.)
//!
//! Both keep every result that did not overflow unchanged.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, BinaryExpr, Cast, ColumnarValue, Expr, ExprSchemable, Operator,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The type an integer `sum` accumulates in.
pub(crate) const WIDE_SUM: DataType = DataType::Decimal128(38, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Sub,
    Mul,
}

impl Op {
    fn of(op: Operator) -> Option<Self> {
        match op {
            Operator::Plus => Some(Op::Add),
            Operator::Minus => Some(Op::Sub),
            Operator::Multiply => Some(Op::Mul),
            _ => None,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
        }
    }
}

/// `a op b` in the integer type `ty`, failing on overflow.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedUdf {
    op: Op,
    ty: DataType,
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for CheckedUdf {
    fn name(&self) -> &'static str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.ty.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [l, r] = args.args.as_slice() else {
            return Err(exec_datafusion_err!("{} takes two arguments", self.name));
        };
        let scalars = matches!((l, r), (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)));
        let (la, ra) = (l.to_array(args.number_rows)?, r.to_array(args.number_rows)?);
        let kernel = match self.op {
            Op::Add => numeric::add,
            Op::Sub => numeric::sub,
            Op::Mul => numeric::mul,
        };
        let out = kernel(&la, &ra).map_err(|_| overflow(self.op, &self.ty, &la, &ra))?;
        if scalars {
            Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(
                &out, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// The first pair of values whose result does not fit, in words.
fn overflow(
    op: Op,
    ty: &DataType,
    l: &dyn datafusion::arrow::array::Array,
    r: &dyn datafusion::arrow::array::Array,
) -> datafusion::error::DataFusionError {
    let first = (0..l.len()).find_map(|i| {
        let a = ScalarValue::try_from_array(l, i).ok()?;
        let b = ScalarValue::try_from_array(r, i).ok()?;
        let ok = match op {
            Op::Add => a.add_checked(&b),
            Op::Sub => a.sub_checked(&b),
            Op::Mul => a.mul_checked(&b),
        };
        ok.is_err().then(|| format!(" ({a} {} {b})", op.symbol()))
    });
    exec_datafusion_err!(
        "integer overflow: a `{}` gives a value that does not fit {}{}",
        op.symbol(),
        integer_words(ty),
        first.unwrap_or_default()
    )
}

/// `a 64-bit integer`, `an unsigned 32-bit integer`.
fn integer_words(ty: &DataType) -> String {
    let bits = ty.primitive_width().map_or(0, |w| w * 8);
    if ty.is_unsigned_integer() {
        format!("an unsigned {bits}-bit integer")
    } else {
        format!("a {bits}-bit integer")
    }
}

fn checked(op: Op, ty: DataType, l: Expr, r: Expr) -> Expr {
    let cast = |e: Expr| Expr::Cast(Cast::new(Box::new(e), ty.clone()));
    checked_udf(op, ty.clone()).call(vec![cast(l), cast(r)])
}

/// The function computing `op` in `ty`.
fn checked_udf(op: Op, ty: DataType) -> ScalarUDF {
    let name = match op {
        Op::Add => "lakegate_checked_add",
        Op::Sub => "lakegate_checked_sub",
        Op::Mul => "lakegate_checked_mul",
    };
    ScalarUDF::new_from_impl(CheckedUdf {
        op,
        ty: ty.clone(),
        name,
        signature: Signature::exact(vec![ty.clone(), ty], Volatility::Immutable),
    })
}

/// `sum(x)` of an integer expression, accumulated without overflow.
pub(crate) fn wide_sum(x: Expr) -> Expr {
    wide_sum_udaf().call(vec![x])
}

/// `lakegate_sum_int`, the function [`wide_sum`] calls, to register by name.
pub(crate) fn wide_sum_udaf() -> AggregateUDF {
    AggregateUDF::from(WideSumUdaf {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

/// `lakegate_sum_int(x)`: the sum of an integer column in 128 bits, as DECIMAL(38, 0).
#[derive(Debug, PartialEq, Eq, Hash)]
struct WideSumUdaf {
    signature: Signature,
}

impl AggregateUDFImpl for WideSumUdaf {
    fn name(&self) -> &'static str {
        "lakegate_sum_int"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(WIDE_SUM)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(WideSum::default()))
    }
}

/// The running total; `None` until a non-null value is seen (the sum of no values is null).
#[derive(Debug, Default)]
struct WideSum {
    sum: Option<i128>,
}

impl WideSum {
    fn add(&mut self, v: i128) -> Result<()> {
        let s = self.sum.unwrap_or(0).checked_add(v);
        // 10^38 is the most DECIMAL(38, 0) holds; 2^64 values of 64 bits stay far below it.
        match s.filter(|s| s.unsigned_abs() < 10u128.pow(38)) {
            Some(s) => {
                self.sum = Some(s);
                Ok(())
            }
            None => Err(exec_datafusion_err!(
                "integer overflow: a sum does not fit DECIMAL(38, 0)"
            )),
        }
    }

    fn value(&self) -> ScalarValue {
        ScalarValue::Decimal128(self.sum, 38, 0)
    }
}

/// Adds the non-null values of a primitive array, in 128 bits.
fn total<T: ArrowPrimitiveType>(a: &dyn Array) -> Option<i128>
where
    T::Native: Into<i128>,
{
    let a = a.as_primitive::<T>();
    if a.null_count() == a.len() {
        return None;
    }
    let wide = |v: &T::Native| -> i128 { (*v).into() };
    Some(if a.null_count() == 0 {
        a.values().iter().map(wide).sum()
    } else {
        a.iter().flatten().map(|v| wide(&v)).sum()
    })
}

impl Accumulator for WideSum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = values[0].as_ref();
        let t = match a.data_type() {
            DataType::Int8 => total::<Int8Type>(a),
            DataType::Int16 => total::<Int16Type>(a),
            DataType::Int32 => total::<Int32Type>(a),
            DataType::Int64 => total::<Int64Type>(a),
            DataType::UInt8 => total::<UInt8Type>(a),
            DataType::UInt16 => total::<UInt16Type>(a),
            DataType::UInt32 => total::<UInt32Type>(a),
            DataType::UInt64 => total::<UInt64Type>(a),
            DataType::Null => None,
            other => return Err(exec_datafusion_err!("lakegate_sum_int: unexpected {other}")),
        };
        match t {
            Some(t) => self.add(t),
            None => Ok(()),
        }
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value()])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for v in states[0].as_primitive::<Decimal128Type>().iter().flatten() {
            self.add(v)?;
        }
        Ok(())
    }
}

/// `sum(DISTINCT x)` of an integer: DataFusion's own distinct sum over a DECIMAL(38, 0).
fn wide_sum_arg(x: Expr) -> Expr {
    Expr::Cast(Cast::new(Box::new(x), WIDE_SUM))
}

/// Integer `+ - *` checked and integer `sum` widened, everywhere in `e`. An operation on two
/// literals is computed here, so a constant that overflows (`9223372036854775807 + 1`) is a
/// mistake in the suite, reported before any row is read.
pub(crate) fn rewrite(e: Expr, schema: &DFSchema) -> Result<Expr, String> {
    let original = e.clone();
    let mut constant_overflow = None;
    let out = e.transform_up(|node| {
        Ok(match node {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) if Op::of(op).is_some() => {
                let ty = Expr::BinaryExpr(BinaryExpr {
                    left: left.clone(),
                    op,
                    right: right.clone(),
                })
                .get_type(schema);
                match (Op::of(op), ty) {
                    (Some(o), Ok(t)) if t.is_integer() => {
                        if let (Expr::Literal(a, _), Expr::Literal(b, _)) = (left.as_ref(), right.as_ref())
                            && let (Ok(a), Ok(b)) = (a.cast_to(&t), b.cast_to(&t))
                        {
                            let v = match o {
                                Op::Add => a.add_checked(&b),
                                Op::Sub => a.sub_checked(&b),
                                Op::Mul => a.mul_checked(&b),
                            };
                            match v {
                                Ok(v) => return Ok(Transformed::yes(Expr::Literal(v, None))),
                                Err(_) => {
                                    constant_overflow.get_or_insert_with(|| {
                                        format!(
                                            "integer overflow: {a} {} {b} does not fit {}",
                                            o.symbol(),
                                            integer_words(&t)
                                        )
                                    });
                                }
                            }
                        }
                        Transformed::yes(checked(o, t, *left, *right))
                    }
                    _ => Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })),
                }
            }
            // `-x` of the smallest integer wraps to itself: checked as `0 - x`.
            Expr::Negative(x) if x.get_type(schema).is_ok_and(|t| t.is_signed_integer()) => {
                let t = x.get_type(schema).unwrap_or(DataType::Int64);
                let zero = datafusion::scalar::ScalarValue::new_zero(&t)
                    .map_or_else(|_| datafusion::logical_expr::lit(0i64), |z| Expr::Literal(z, None));
                Transformed::yes(checked(Op::Sub, t, zero, *x))
            }
            // `abs(x)` of the smallest integer is itself in DataFusion: `CASE WHEN x < 0 THEN 0 - x
            // ELSE x END`, with the subtraction checked.
            Expr::ScalarFunction(f)
                if f.name() == "abs"
                    && f.args.len() == 1
                    && f.args[0].get_type(schema).is_ok_and(|t| t.is_signed_integer()) =>
            {
                let x = f.args[0].clone();
                let t = x.get_type(schema).unwrap_or(DataType::Int64);
                let zero = ScalarValue::new_zero(&t)
                    .map_or_else(|_| datafusion::logical_expr::lit(0i64), |z| Expr::Literal(z, None));
                let negated = checked(Op::Sub, t, zero.clone(), x.clone());
                match datafusion::logical_expr::when(x.clone().lt(zero), negated).otherwise(x) {
                    Ok(e) => Transformed::yes(e),
                    Err(_) => Transformed::no(Expr::ScalarFunction(f)),
                }
            }
            Expr::AggregateFunction(mut af) if af.func.name() == "sum" && af.params.args.len() == 1 => {
                if af.params.args[0].get_type(schema).is_ok_and(|t| t.is_integer()) {
                    let arg = af.params.args.remove(0);
                    if af.params.distinct {
                        af.params.args.push(wide_sum_arg(arg));
                        Transformed::yes(Expr::AggregateFunction(af))
                    } else {
                        // The filter and ordering stay; only the function changes.
                        let Expr::AggregateFunction(wide) = wide_sum(arg) else {
                            unreachable!("an aggregate call is an aggregate function")
                        };
                        Transformed::yes(Expr::AggregateFunction(AggregateFunction {
                            func: wide.func,
                            params: datafusion::logical_expr::expr::AggregateFunctionParams {
                                args: wide.params.args,
                                ..af.params
                            },
                        }))
                    }
                } else {
                    Transformed::no(Expr::AggregateFunction(af))
                }
            }
            other => Transformed::no(other),
        })
    });
    match constant_overflow {
        Some(e) => Err(e),
        None => Ok(out.map_or(original, |t| t.data)),
    }
}

/// The state of a checked arithmetic function, for another process (see [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &ScalarUDF) -> Option<serde_json::Value> {
    let c = f.inner().downcast_ref::<CheckedUdf>()?;
    Some(serde_json::json!({ "type": super::portable::data_type(&c.ty) }))
}

/// The checked arithmetic function `name` from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<ScalarUDF>> {
    let op = match name {
        "lakegate_checked_add" => Op::Add,
        "lakegate_checked_sub" => Op::Sub,
        "lakegate_checked_mul" => Op::Mul,
        _ => return None,
    };
    Some(super::portable::data_type_of(name, v, "type").map(|ty| checked_udf(op, ty)))
}

/// `lakegate_sum_int` has no state: an empty object.
#[cfg(feature = "ballista")]
pub(super) fn portable_udaf(f: &AggregateUDF) -> Option<serde_json::Value> {
    f.inner().downcast_ref::<WideSumUdaf>().map(|_| serde_json::json!({}))
}

/// `lakegate_sum_int`.
#[cfg(feature = "ballista")]
pub(super) fn udaf_from_portable(name: &str) -> Option<Result<AggregateUDF>> {
    (name == "lakegate_sum_int").then(|| Ok(wide_sum_udaf()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::functions_aggregate::expr_fn::sum;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn eval(values: Vec<i64>, e: Expr) -> Result<Vec<datafusion::scalar::ScalarValue>> {
        eval_opt(values.into_iter().map(Some).collect(), e).await
    }

    async fn eval_opt(values: Vec<Option<i64>>, e: Expr) -> Result<Vec<datafusion::scalar::ScalarValue>> {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(values)) as ArrayRef])?;
        let ctx = SessionContext::new();
        ctx.register_batch("t", batch)?;
        let df = ctx.table("t").await?;
        let e = rewrite(e, df.schema()).unwrap();
        let aggregate = e.exists(|x| Ok(matches!(x, Expr::AggregateFunction(_))))?;
        let df = if aggregate {
            df.aggregate(vec![], vec![e.alias("x")])?
        } else {
            df.select(vec![e.alias("x")])?
        };
        let batches = df.collect().await?;
        let mut out = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                out.push(datafusion::scalar::ScalarValue::try_from_array(b.column(0), i)?);
            }
        }
        Ok(out)
    }

    #[tokio::test]
    async fn integer_sum_is_exact_past_i64() {
        let big = 1i64 << 62;
        let v = eval(vec![big, big, big, big, 5], sum(col("v"))).await.unwrap();
        assert_eq!(v[0].to_string(), "18446744073709551621");
    }

    #[tokio::test]
    async fn integer_sum_skips_nulls_keeps_filters_and_distinct() {
        let sql_sum = |v: &[Option<i64>]| v.iter().flatten().map(|x| i128::from(*x)).sum::<i128>().to_string();
        let values = vec![Some(BIG), None, Some(BIG), Some(-3), Some(BIG), Some(BIG), None];
        let v = eval_opt(values.clone(), sum(col("v"))).await.unwrap();
        assert_eq!(v[0].to_string(), sql_sum(&values));
        let nulls = eval_opt(vec![None, None], sum(col("v"))).await.unwrap();
        assert!(nulls[0].is_null(), "{nulls:?}");
        let positive = datafusion::logical_expr::ExprFunctionExt::filter(sum(col("v")), col("v").gt(lit(0i64)))
            .build()
            .unwrap();
        let v = eval_opt(values.clone(), positive).await.unwrap();
        assert_eq!(v[0].to_string(), (4 * i128::from(BIG)).to_string());
        let distinct = datafusion::functions_aggregate::expr_fn::sum_distinct(col("v"));
        let v = eval_opt(values, distinct).await.unwrap();
        assert_eq!(v[0].to_string(), (i128::from(BIG) - 3).to_string());
    }

    const BIG: i64 = 1 << 62;

    #[tokio::test]
    async fn integer_product_overflow_is_an_error_naming_the_values() {
        let big = 1i64 << 62;
        let e = eval(vec![1, big], (col("v") * lit(4i64)).gt(lit(0i64)))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer overflow"), "{e}");
        assert!(e.contains("4611686018427387904 * 4"), "{e}");
        assert!(e.contains("a 64-bit integer"), "{e}");
    }

    #[test]
    fn a_constant_that_overflows_is_found_before_running() {
        let schema = DFSchema::empty();
        let e = rewrite(lit(i64::MAX) + lit(1i64), &schema).unwrap_err();
        assert!(
            e.contains("9223372036854775807 + 1 does not fit a 64-bit integer"),
            "{e}"
        );
        assert_eq!(rewrite(lit(2i64) * lit(3i64), &schema).unwrap(), lit(6i64));
    }

    #[tokio::test]
    async fn negating_the_smallest_integer_is_an_error() {
        let e = eval(vec![i64::MIN], (-col("v")).gt(lit(0i64)))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer overflow"), "{e}");
        assert_eq!(eval(vec![-3], -col("v")).await.unwrap(), vec![i(3)]);
        let abs = |e| datafusion::functions::math::expr_fn::abs(e);
        let e = eval(vec![5, i64::MIN], abs(col("v"))).await.unwrap_err().to_string();
        assert!(e.contains("integer overflow"), "{e}");
        assert_eq!(
            eval(vec![-3, 4, 0], abs(col("v"))).await.unwrap(),
            vec![i(3), i(4), i(0)]
        );
    }

    #[tokio::test]
    async fn results_that_fit_are_unchanged() {
        let v = eval(vec![3, -7], col("v") * lit(4i64) - lit(1i64) + col("v"))
            .await
            .unwrap();
        assert_eq!(v, vec![i(14), i(-36)]);
    }

    fn i(x: i64) -> datafusion::scalar::ScalarValue {
        datafusion::scalar::ScalarValue::Int64(Some(x))
    }
}
