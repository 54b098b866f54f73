//! `lakegate_count_true(p1, …, pk)`: one aggregate that counts, for each boolean argument, the rows
//! where it is true (null counts as not true).
//!
//! The fused scan of a dataset needs one count per row-level check. As k separate
//! `count(*) FILTER (WHERE p)` aggregates, DataFusion filters a copy of the input for each of them;
//! one accumulator that pop-counts k boolean arrays does the same work for a fraction of the cost,
//! which is what keeps a suite of 100 checks close to the cost of one scan.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
struct CountTrue {
    signature: Signature,
    /// Per argument: count the rows where it is not true (false or null) instead.
    negated: Vec<bool>,
}

impl AggregateUDFImpl for CountTrue {
    fn name(&self) -> &'static str {
        "lakegate_count_true"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(super::udf::list_type(DataType::UInt64))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Counts {
            counts: vec![0; args.exprs.len()],
            negated: self.negated.clone(),
        }))
    }
}

#[derive(Debug)]
struct Counts {
    counts: Vec<u64>,
    negated: Vec<bool>,
}

impl Counts {
    fn to_scalar(&self) -> ScalarValue {
        super::udf::list_scalar(Arc::new(UInt64Array::from(self.counts.clone())))
    }
}

impl Accumulator for Counts {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for ((count, array), negated) in self.counts.iter_mut().zip(values).zip(&self.negated) {
            let Some(b) = array.as_any().downcast_ref::<BooleanArray>() else {
                return internal_err!("lakegate_count_true takes boolean arguments, got {}", array.data_type());
            };
            // `true_count` counts valid true values: a null predicate is not a failing row, and
            // is a row where the predicate is not true.
            let t = b.true_count() as u64;
            *count += if *negated { b.len() as u64 - t } else { t };
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.to_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.capacity() * 8 + self.negated.capacity()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.to_scalar()])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let part = lists.value(i);
            let part = part.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
            for (count, v) in self.counts.iter_mut().zip(part.values()) {
                *count += v;
            }
        }
        Ok(())
    }
}

/// `lakegate_count_true(preds…)`: a list with one count per predicate. A predicate `p IS NOT TRUE`
/// (an `expression` check's failing rows) is counted as the rows minus those where `p` is true,
/// and `p IS TRUE` as `p`: the wrappers are never evaluated.
pub(crate) fn count_true(preds: Vec<Expr>) -> Expr {
    let (args, negated): (Vec<Expr>, Vec<bool>) = preds
        .into_iter()
        .map(|p| match p {
            Expr::IsNotTrue(inner) => (*inner, true),
            Expr::IsTrue(inner) => (*inner, false),
            other => (other, false),
        })
        .unzip();
    AggregateUDF::from(CountTrue {
        signature: Signature::variadic_any(Volatility::Immutable),
        negated,
    })
    .call(args)
}

/// The state of `lakegate_count_true`, for another process (see [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &AggregateUDF) -> Option<serde_json::Value> {
    let c = f.inner().downcast_ref::<CountTrue>()?;
    Some(serde_json::json!({ "negated": c.negated }))
}

/// `lakegate_count_true` from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<AggregateUDF>> {
    if name != "lakegate_count_true" {
        return None;
    }
    let negated = super::portable::field(name, v, "negated").and_then(|n| {
        n.as_array()
            .and_then(|a| a.iter().map(serde_json::Value::as_bool).collect::<Option<Vec<bool>>>())
            .ok_or_else(|| {
                datafusion::common::exec_datafusion_err!("function {name}: `negated` is not a list of booleans")
            })
    });
    Some(negated.map(|negated| {
        AggregateUDF::from(CountTrue {
            signature: Signature::variadic_any(Volatility::Immutable),
            negated,
        })
    }))
}

/// The counts from the aggregate's value.
pub(crate) fn counts_of(v: &ScalarValue) -> Vec<u64> {
    match v {
        ScalarValue::List(list) if !list.is_empty() && !list.is_null(0) => list
            .value(0)
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
            .values()
            .to_vec(),
        _ => Vec::new(),
    }
}
