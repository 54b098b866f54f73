//! `lakegate_keys(key)`: the integer keys of a `unique` check collected by the fused scan itself.
//!
//! A CSV or JSON file has no footer stating its key range, and parsing it is most of what a scan
//! costs: a separate key query would parse every line a second time. So for one integer key over
//! such files the fused aggregate also collects the non-null keys (8 bytes each, within a cap), and
//! the engine finds the repeated ones (`repeated`: a bitmap when their range is narrow, as in
//! `key_bitmap`, else a sort). Past the cap the accumulator gives up (it never asks the memory pool
//! for more) and the engine runs the key query instead.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyList {
    signature: Signature,
    /// The most keys collected before giving up.
    cap: usize,
}

fn list_type() -> DataType {
    super::udf::list_type(DataType::Int64)
}

impl AggregateUDFImpl for KeyList {
    fn name(&self) -> &'static str {
        "lakegate_keys"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The keys, or null when there were more than the cap.
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_type())
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            FieldRef::new(Field::new("keys", list_type(), true)),
            FieldRef::new(Field::new("gave_up", DataType::Boolean, false)),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Keys {
            keys: Vec::new(),
            gave_up: false,
            cap: self.cap,
        }))
    }
}

#[derive(Debug)]
struct Keys {
    keys: Vec<i64>,
    gave_up: bool,
    cap: usize,
}

impl Keys {
    fn give_up(&mut self) {
        self.gave_up = true;
        self.keys = Vec::new();
    }

    fn add(&mut self, keys: &Int64Array) {
        if self.gave_up {
            return;
        }
        if self.keys.len() + keys.len() - keys.null_count() > self.cap {
            self.give_up();
        } else if keys.null_count() == 0 {
            self.keys.extend_from_slice(keys.values());
        } else {
            self.keys.extend(keys.iter().flatten());
        }
    }

    fn list(&self) -> ScalarValue {
        super::udf::list_scalar(Arc::new(Int64Array::from(self.keys.clone())))
    }
}

impl Accumulator for Keys {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let keys = cast(&values[0], &DataType::Int64)?;
        self.add(keys.as_primitive::<Int64Type>());
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.gave_up {
            return ScalarValue::try_from(list_type());
        }
        Ok(self.list())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.keys.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.list(), ScalarValue::Boolean(Some(self.gave_up))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        let gave_up = states[1].as_any().downcast_ref::<BooleanArray>();
        for i in 0..lists.len() {
            if gave_up.is_some_and(|g| g.value(i)) {
                self.give_up();
            }
            if lists.is_null(i) {
                continue;
            }
            let part = lists.value(i);
            self.add(part.as_primitive::<Int64Type>());
        }
        Ok(())
    }
}

/// `lakegate_keys(key)`, collecting at most `cap` keys.
pub(crate) fn keys(key: Expr, cap: usize) -> Expr {
    AggregateUDF::from(KeyList {
        signature: Signature::any(1, Volatility::Immutable),
        cap,
    })
    .call(vec![key])
}

/// The state of `lakegate_keys`, for another process (see [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &AggregateUDF) -> Option<serde_json::Value> {
    let k = f.inner().downcast_ref::<KeyList>()?;
    Some(serde_json::json!({ "cap": k.cap }))
}

/// `lakegate_keys` from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<AggregateUDF>> {
    (name == "lakegate_keys").then(|| {
        let cap = super::portable::u64_of(name, v, "cap")?;
        Ok(AggregateUDF::from(KeyList {
            signature: Signature::any(1, Volatility::Immutable),
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
        }))
    })
}

/// The collected keys, `None` when the accumulator gave up.
pub(crate) fn collected(v: &ScalarValue) -> Option<Vec<i64>> {
    match v {
        ScalarValue::List(list) if !list.is_empty() && !list.is_null(0) => {
            Some(list.value(0).as_primitive::<Int64Type>().values().to_vec())
        }
        _ => None,
    }
}

/// Each key that occurs more than once, with its count (in no particular order). Keys spanning a
/// range narrow enough for `key_bitmap` are marked in a bitmap (one pass); others are sorted.
pub(crate) fn repeated(keys: Vec<i64>) -> Vec<(i64, u64)> {
    let (Some(&lo), Some(&hi)) = (keys.iter().min(), keys.iter().max()) else {
        return Vec::new();
    };
    let bounds = (ScalarValue::Int64(Some(lo)), ScalarValue::Int64(Some(hi)));
    match super::key_bitmap::range(&bounds.0, &bounds.1, keys.len() as u64) {
        Some((lo, span)) => by_bitmap(&keys, lo, span),
        None => by_sorting(keys),
    }
}

fn by_bitmap(keys: &[i64], lo: i64, span: u64) -> Vec<(i64, u64)> {
    let mut bits = vec![0u64; usize::try_from(span.div_ceil(64)).unwrap_or(usize::MAX)];
    let mut repeats = std::collections::HashMap::new();
    // Every key lies in `lo..lo + span`: the range was taken from them.
    super::key_bitmap::mark(&mut bits, &mut repeats, lo, span, keys.iter().copied());
    repeats.into_iter().collect()
}

fn by_sorting(mut keys: Vec<i64>) -> Vec<(i64, u64)> {
    keys.sort_unstable();
    keys.chunk_by(|a, b| a == b)
        .filter(|run| run.len() > 1)
        .map(|run| (run[0], run.len() as u64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<(i64, u64)>) -> Vec<(i64, u64)> {
        v.sort_unstable();
        v
    }

    #[test]
    fn repeated_keys_are_counted_and_unique_ones_left_out() {
        // A range far too wide for a bitmap: sorted.
        assert_eq!(
            sorted(repeated(vec![5, 1, 3, 5, 1, 5, 9, i64::MIN, i64::MIN, i64::MAX])),
            [(i64::MIN, 2), (1, 2), (5, 3)]
        );
        assert!(repeated(vec![1, 2, 3]).is_empty());
        assert!(repeated(Vec::new()).is_empty());
    }

    #[test]
    fn the_bitmap_and_the_sort_agree() {
        // Pseudo-random keys in a narrow range (bitmap), negative ones included.
        let mut x: u64 = 42;
        let keys: Vec<i64> = (0..50_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                i64::try_from(x >> 44).unwrap() - 300_000
            })
            .collect();
        let lo = *keys.iter().min().unwrap();
        let span = u64::try_from(keys.iter().max().unwrap() - lo + 1).unwrap();
        let by_bits = sorted(by_bitmap(&keys, lo, span));
        assert!(!by_bits.is_empty());
        assert_eq!(by_bits, by_sorting(keys.clone()));
        assert_eq!(sorted(repeated(keys)), by_bits);
    }

    #[test]
    fn the_accumulator_gives_up_past_its_cap_and_says_so_after_a_merge() {
        let mut a = Keys {
            keys: Vec::new(),
            gave_up: false,
            cap: 4,
        };
        a.update_batch(&[Arc::new(Int64Array::from(vec![Some(1), None, Some(2)])) as ArrayRef])
            .unwrap();
        assert_eq!(collected(&a.evaluate().unwrap()), Some(vec![1, 2]));
        let mut b = Keys {
            keys: Vec::new(),
            gave_up: false,
            cap: 4,
        };
        b.update_batch(&[Arc::new(Int64Array::from(vec![3, 4, 5, 6, 7])) as ArrayRef])
            .unwrap();
        assert_eq!(collected(&b.evaluate().unwrap()), None);
        // Merging a partition that gave up gives up too.
        let states: Vec<ArrayRef> = b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&states).unwrap();
        assert_eq!(collected(&a.evaluate().unwrap()), None);
    }
}
