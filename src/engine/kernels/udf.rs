//! What the engine's own scalar functions (`bounds`, `string_match`, `shared_lists`) and the
//! footer answers (`stats`) share: running an array kernel on a column or a literal, the signature
//! of a function over strings, converting a literal to a column's type without loss, and packing
//! a test of each value into a bitmap, and the list values the engine's aggregates return.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray};
use datafusion::arrow::buffer::{BooleanBuffer, Buffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Signature, TypeSignature, Volatility};

/// Runs `kernel` on a function's argument; a literal argument gives a literal result.
pub(crate) fn on_array(
    arg: &ColumnarValue,
    kernel: impl FnOnce(&dyn Array) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    match arg {
        ColumnarValue::Array(a) => Ok(ColumnarValue::Array(kernel(a.as_ref())?)),
        ColumnarValue::Scalar(s) => {
            let out = kernel(s.to_array()?.as_ref())?;
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        }
    }
}

/// One string argument, in any of Arrow's string layouts.
pub(crate) fn string_signature() -> Signature {
    Signature::one_of(
        vec![
            TypeSignature::Exact(vec![DataType::Utf8View]),
            TypeSignature::Exact(vec![DataType::Utf8]),
            TypeSignature::Exact(vec![DataType::LargeUtf8]),
        ],
        Volatility::Immutable,
    )
}

/// A literal in the type `dt`, when it converts and back without loss (`0.5` never becomes `0`
/// for an integer column).
pub(crate) fn lossless(v: &ScalarValue, dt: &DataType) -> Option<ScalarValue> {
    if v.is_null() {
        return None;
    }
    if &v.data_type() == dt {
        return Some(v.clone());
    }
    let cast = v.cast_to(dt).ok()?;
    (cast.cast_to(&v.data_type()).ok()? == *v).then_some(cast)
}

/// Packs `test(v)` of each value into a bitmap, 64 values per word. Iterating whole chunks of the
/// slice (no index, so no bounds check) with a branch-free test lets the compiler vectorize it.
pub(crate) fn pack<T: Copy>(values: &[T], test: impl Fn(T) -> bool) -> BooleanBuffer {
    let word = |chunk: &[T]| {
        chunk
            .iter()
            .enumerate()
            .fold(0u64, |m, (j, &x)| m | (u64::from(test(x)) << j))
    };
    let chunks = values.chunks_exact(64);
    let rest = chunks.remainder();
    let mut words: Vec<u64> = chunks.map(word).collect();
    if !rest.is_empty() {
        words.push(word(rest));
    }
    BooleanBuffer::new(Buffer::from_vec(words), 0, values.len())
}

/// Integer types whose every value is an `i64` (`UInt64` is not).
pub(crate) fn fits_i64(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// A list of non-null `item`s: what the engine's aggregates (`count_true`, `key_list`) return.
pub(crate) fn list_type(item: DataType) -> DataType {
    DataType::List(FieldRef::new(Field::new_list_field(item, false)))
}

/// `values` as one list value of [`list_type`].
pub(crate) fn list_scalar(values: ArrayRef) -> ScalarValue {
    let field = FieldRef::new(Field::new_list_field(values.data_type().clone(), false));
    let offsets = OffsetBuffer::from_lengths([values.len()]);
    ScalarValue::List(Arc::new(ListArray::new(field, offsets, values, None)))
}
