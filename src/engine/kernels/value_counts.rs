//! The aggregates `lakegate suggest` profiles with, inside its one scan:
//!
//! - `lakegate_top_values(col)`: every distinct value with its count, as long as there are at most
//!   `cap` of them, each at most [`MAX_VALUE_BYTES`] long. Past either limit the accumulator gives up
//!   (and stops working), so a high-cardinality column costs one batch's cast. Values are compared
//!   by their text (Arrow's cast to `Utf8`).
//! - `lakegate_distinct(col)`: the exact number of distinct non-null values, counted as a set of
//!   64-bit hashes, up to `cap` of them (then null). Two values whose hashes collide count once, so
//!   a collision can only make a unique column look repeated — never the other way round, which is
//!   the direction `suggest` needs (it proposes `unique` only when the count equals the non-null
//!   rows).
//!
//! Both keep state small and mergeable across partitions; neither asks the memory pool for more
//! than its cap allows.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::hash_utils::create_hashes_with_hasher;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility};

/// The longest value (in bytes) `lakegate_top_values` keeps; a longer one makes it give up (such a
/// column is not a set of codes, and a huge string must not be copied around).
pub(crate) const MAX_VALUE_BYTES: usize = 200;

#[derive(Debug, PartialEq, Eq, Hash)]
struct TopValues {
    signature: Signature,
    cap: usize,
}

impl AggregateUDFImpl for TopValues {
    fn name(&self) -> &'static str {
        "lakegate_top_values"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// A JSON object `{value: count}`, or null when the accumulator gave up.
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![FieldRef::new(Field::new("values", DataType::Utf8, true))])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Counts {
            counts: HashMap::new(),
            gave_up: false,
            cap: self.cap,
        }))
    }
}

#[derive(Debug)]
struct Counts {
    counts: HashMap<String, u64>,
    gave_up: bool,
    cap: usize,
}

impl Counts {
    fn give_up(&mut self) {
        self.gave_up = true;
        self.counts = HashMap::new();
    }

    fn add(&mut self, value: &str, n: u64) {
        if self.gave_up {
            return;
        }
        if let Some(c) = self.counts.get_mut(value) {
            *c += n;
        } else if self.counts.len() >= self.cap || value.len() > MAX_VALUE_BYTES {
            self.give_up();
        } else {
            self.counts.insert(value.to_string(), n);
        }
    }

    fn json(&self) -> ScalarValue {
        if self.gave_up {
            return ScalarValue::Utf8(None);
        }
        let map: serde_json::Map<String, serde_json::Value> =
            self.counts.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
        ScalarValue::Utf8(Some(serde_json::Value::Object(map).to_string()))
    }
}

impl Accumulator for Counts {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if self.gave_up {
            return Ok(());
        }
        let text = cast(&values[0], &DataType::Utf8)?;
        for v in text.as_string::<i32>().iter().flatten() {
            self.add(v, 1);
            if self.gave_up {
                break;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.json())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.keys().map(|k| k.capacity() + 32).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.json()])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for part in states[0].as_string::<i32>() {
            let Some(part) = part else {
                self.give_up();
                continue;
            };
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(part) {
                for (k, v) in map {
                    self.add(&k, v.as_u64().unwrap_or(0));
                }
            }
        }
        Ok(())
    }
}

/// `lakegate_top_values(col)`, giving up past `cap` distinct values.
pub(crate) fn top_values(col: Expr, cap: usize) -> Expr {
    AggregateUDF::from(TopValues {
        signature: Signature::any(1, Volatility::Immutable),
        cap,
    })
    .call(vec![col])
}

/// The values and counts of a `lakegate_top_values` result, most frequent first (ties by value);
/// `None` when it gave up.
pub(crate) fn top_values_of(v: &ScalarValue) -> Option<Vec<(String, u64)>> {
    let ScalarValue::Utf8(Some(text)) = v else { return None };
    let serde_json::Value::Object(map) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let mut out: Vec<(String, u64)> = map.into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0))).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Some(out)
}

/// A fixed hasher, so every partition hashes a value the same way.
type Fixed = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

#[derive(Debug, PartialEq, Eq, Hash)]
struct Distinct {
    signature: Signature,
    cap: usize,
}

fn hash_list_type() -> DataType {
    super::udf::list_type(DataType::UInt64)
}

impl AggregateUDFImpl for Distinct {
    fn name(&self) -> &'static str {
        "lakegate_distinct"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The number of distinct non-null values, or null past the cap.
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            FieldRef::new(Field::new("hashes", hash_list_type(), true)),
            FieldRef::new(Field::new("gave_up", DataType::Boolean, false)),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Hashes {
            seen: HashSet::new(),
            gave_up: false,
            cap: self.cap,
            buffer: Vec::new(),
        }))
    }
}

#[derive(Debug)]
struct Hashes {
    seen: HashSet<u64>,
    gave_up: bool,
    cap: usize,
    buffer: Vec<u64>,
}

impl Hashes {
    fn give_up(&mut self) {
        self.gave_up = true;
        self.seen = HashSet::new();
        self.buffer = Vec::new();
    }

    fn insert(&mut self, hashes: impl Iterator<Item = u64>) {
        for h in hashes {
            self.seen.insert(h);
            if self.seen.len() > self.cap {
                self.give_up();
                return;
            }
        }
    }
}

impl Accumulator for Hashes {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if self.gave_up {
            return Ok(());
        }
        let array = &values[0];
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.resize(array.len(), 0);
        create_hashes_with_hasher([array], &Fixed::default(), &mut buffer)?;
        let valid = (0..array.len()).filter(|&i| array.is_valid(i)).map(|i| buffer[i]);
        let hashes: Vec<u64> = valid.collect();
        self.insert(hashes.into_iter());
        if !self.gave_up {
            self.buffer = buffer;
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::UInt64((!self.gave_up).then_some(self.seen.len() as u64)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.seen.capacity() * 16 + self.buffer.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let hashes: Vec<u64> = self.seen.iter().copied().collect();
        Ok(vec![
            super::udf::list_scalar(Arc::new(UInt64Array::from(hashes))),
            ScalarValue::Boolean(Some(self.gave_up)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        let gave_up = states[1].as_any().downcast_ref::<BooleanArray>();
        for i in 0..lists.len() {
            if gave_up.is_some_and(|g| g.value(i)) {
                self.give_up();
            }
            if self.gave_up || lists.is_null(i) {
                continue;
            }
            let part = lists.value(i);
            let part: Vec<u64> = part.as_primitive::<UInt64Type>().values().to_vec();
            self.insert(part.into_iter());
        }
        Ok(())
    }
}

/// `lakegate_distinct(col)`, giving up past `cap` distinct values.
pub(crate) fn distinct(col: Expr, cap: usize) -> Expr {
    AggregateUDF::from(Distinct {
        signature: Signature::any(1, Volatility::Immutable),
        cap,
    })
    .call(vec![col])
}

/// The state of `lakegate_top_values` or `lakegate_distinct`, for another process (see
/// [`super::portable`]).
#[cfg(feature = "ballista")]
pub(super) fn portable(f: &AggregateUDF) -> Option<serde_json::Value> {
    let cap = match (
        f.inner().downcast_ref::<TopValues>(),
        f.inner().downcast_ref::<Distinct>(),
    ) {
        (Some(t), _) => t.cap,
        (_, Some(d)) => d.cap,
        _ => return None,
    };
    Some(serde_json::json!({ "cap": cap }))
}

/// `lakegate_top_values` or `lakegate_distinct` from its state.
#[cfg(feature = "ballista")]
pub(super) fn from_portable(name: &str, v: &serde_json::Value) -> Option<Result<AggregateUDF>> {
    let cap = || super::portable::u64_of(name, v, "cap").map(|c| usize::try_from(c).unwrap_or(usize::MAX));
    let signature = Signature::any(1, Volatility::Immutable);
    match name {
        "lakegate_top_values" => Some(cap().map(|cap| AggregateUDF::from(TopValues { signature, cap }))),
        "lakegate_distinct" => Some(cap().map(|cap| AggregateUDF::from(Distinct { signature, cap }))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    #[test]
    fn top_values_count_and_give_up_past_the_cap_or_on_a_long_value() {
        let mut a = Counts {
            counts: HashMap::new(),
            gave_up: false,
            cap: 3,
        };
        a.update_batch(&[Arc::new(StringArray::from(vec![Some("a"), None, Some("b"), Some("a")])) as ArrayRef])
            .unwrap();
        assert_eq!(
            top_values_of(&a.evaluate().unwrap()),
            Some(vec![("a".into(), 2), ("b".into(), 1)])
        );
        let mut b = Counts {
            counts: HashMap::new(),
            gave_up: false,
            cap: 3,
        };
        b.update_batch(&[Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef])
            .unwrap();
        assert_eq!(top_values_of(&b.evaluate().unwrap()), None);
        // A partition that gave up makes the merge give up.
        let states: Vec<ArrayRef> = b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&states).unwrap();
        assert_eq!(top_values_of(&a.evaluate().unwrap()), None);
        let mut c = Counts {
            counts: HashMap::new(),
            gave_up: false,
            cap: 3,
        };
        let huge = "x".repeat(MAX_VALUE_BYTES + 1);
        c.update_batch(&[Arc::new(StringArray::from(vec![huge.as_str()])) as ArrayRef])
            .unwrap();
        assert_eq!(top_values_of(&c.evaluate().unwrap()), None);
    }

    #[test]
    fn distinct_counts_across_partitions_and_ignores_nulls() {
        let new = || Hashes {
            seen: HashSet::new(),
            gave_up: false,
            cap: 10,
            buffer: Vec::new(),
        };
        let mut a = new();
        a.update_batch(&[Arc::new(Int64Array::from(vec![Some(1), None, Some(2), Some(2)])) as ArrayRef])
            .unwrap();
        let mut b = new();
        b.update_batch(&[Arc::new(Int64Array::from(vec![2, 3])) as ArrayRef])
            .unwrap();
        let states: Vec<ArrayRef> = b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&states).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::UInt64(Some(3)));
        let mut c = new();
        c.update_batch(&[Arc::new(Int64Array::from((0..11).collect::<Vec<i64>>())) as ArrayRef])
            .unwrap();
        assert_eq!(c.evaluate().unwrap(), ScalarValue::UInt64(None));
    }
}
