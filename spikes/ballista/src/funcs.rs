//! lakegate-style custom functions that carry state in the function value, and the
//! extension codecs that ship that state to the Ballista scheduler and executors.

use std::any::Any;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, TableReference};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Extension, LogicalPlan,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};

use crate::bitmap;

// ---------------------------------------------------------------------------------------------
// Scalar UDF with state: above_threshold(x) = x > self.threshold
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AboveThreshold {
    pub threshold: i64,
    signature: Signature,
}

impl AboveThreshold {
    pub fn new(threshold: i64) -> Self {
        Self { threshold, signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable) }
    }
    pub fn udf(threshold: i64) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self::new(threshold))
    }
}

impl ScalarUDFImpl for AboveThreshold {
    fn name(&self) -> &str {
        "above_threshold"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arr = args.args[0].to_array(args.number_rows)?;
        let ints = arr.as_primitive::<Int64Type>();
        let out: BooleanArray = ints.iter().map(|v| v.map(|v| v > self.threshold)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

// ---------------------------------------------------------------------------------------------
// Aggregate UDF with state: count_above(x) = number of non-null x > self.threshold
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CountAbove {
    pub threshold: i64,
    signature: Signature,
}

impl CountAbove {
    pub fn new(threshold: i64) -> Self {
        Self { threshold, signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable) }
    }
    pub fn udaf(threshold: i64) -> AggregateUDF {
        AggregateUDF::new_from_impl(Self::new(threshold))
    }
}

impl AggregateUDFImpl for CountAbove {
    fn name(&self) -> &str {
        "count_above"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn is_nullable(&self) -> bool {
        false
    }
    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CountAboveAcc { threshold: self.threshold, count: 0 }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "count"), DataType::Int64, false))])
    }
}

#[derive(Debug)]
struct CountAboveAcc {
    threshold: i64,
    count: i64,
}

impl Accumulator for CountAboveAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = values[0].as_primitive::<Int64Type>();
        self.count += a.iter().flatten().filter(|v| *v > self.threshold).count() as i64;
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.count)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(self.count))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let a: &Int64Array = states[0].as_primitive::<Int64Type>();
        self.count += a.iter().flatten().sum::<i64>();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar UDF that sleeps `ms` per batch (to make queries slow enough to kill an executor)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlowIdentity {
    pub ms: i64,
    signature: Signature,
}

impl SlowIdentity {
    pub fn udf(ms: i64) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self { ms, signature: Signature::exact(vec![DataType::Int64], Volatility::Volatile) })
    }
}

impl ScalarUDFImpl for SlowIdentity {
    fn name(&self) -> &str {
        "slow_identity"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(self.ms as u64));
        }
        Ok(args.args[0].clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding of the function state. The bytes travel in the `fun_definition` field of the
// ScalarUDF / AggregateUDF proto node, so the receiving side rebuilds the function with the
// client's threshold instead of looking the name up in its registry.
// ---------------------------------------------------------------------------------------------

fn encode_i64(v: i64, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&v.to_le_bytes());
}
fn decode_i64(name: &str, buf: &[u8]) -> Result<i64> {
    let b: [u8; 8] = buf.try_into().map_err(|_| {
        DataFusionError::Internal(format!("{name}: expected 8 bytes of state, got {}", buf.len()))
    })?;
    Ok(i64::from_le_bytes(b))
}

fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> Option<()> {
    if let Some(f) = node.inner().downcast_ref::<AboveThreshold>() {
        encode_i64(f.threshold, buf);
    } else {
        encode_i64(node.inner().downcast_ref::<SlowIdentity>()?.ms, buf);
    }
    Some(())
}
fn decode_udf(name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    match name {
        "above_threshold" => Some(decode_i64(name, buf).map(|t| Arc::new(AboveThreshold::udf(t)))),
        "slow_identity" => Some(decode_i64(name, buf).map(|t| Arc::new(SlowIdentity::udf(t)))),
        _ => None,
    }
}
fn encode_udaf(node: &AggregateUDF, buf: &mut Vec<u8>) -> Option<()> {
    let f = node.inner().downcast_ref::<CountAbove>()?;
    encode_i64(f.threshold, buf);
    Some(())
}
fn decode_udaf(name: &str, buf: &[u8]) -> Option<Result<Arc<AggregateUDF>>> {
    (name == "count_above").then(|| Ok(Arc::new(CountAbove::udaf(decode_i64(name, buf)?))))
}

/// Logical codec: used by the client (to encode the logical plan it submits) and by the
/// scheduler (to decode it). Wraps Ballista's own codec so its cache node and file formats work.
#[derive(Debug, Default)]
pub struct LakegateLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LakegateLogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }
    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }
    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: datafusion::arrow::datatypes::SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(t) = bitmap::decode_table(buf)? {
            return Ok(t);
        }
        self.inner.try_decode_table_provider(buf, table_ref, schema, ctx)
    }
    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if bitmap::encode_table(node.as_ref(), buf)? {
            return Ok(());
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }
    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }
    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }
    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf).map(Ok).unwrap_or_else(|| self.inner.try_encode_udf(node, buf))
    }
    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        decode_udaf(name, buf).unwrap_or_else(|| self.inner.try_decode_udaf(name, buf))
    }
    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udaf(node, buf).map(Ok).unwrap_or_else(|| self.inner.try_encode_udaf(node, buf))
    }
}

/// Physical codec: used by the scheduler (to encode stage plans it sends to executors) and by
/// executors (to decode them). Also used by a client that submits a physical plan directly.
#[derive(Debug, Default)]
pub struct LakegatePhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for LakegatePhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        conv: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(p) = bitmap::decode_exec(buf)? {
            return Ok(p);
        }
        self.inner.try_decode(buf, inputs, ctx, conv)
    }
    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        conv: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if bitmap::encode_exec(node.as_ref(), buf)? {
            return Ok(());
        }
        self.inner.try_encode(node, buf, conv)
    }
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }
    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf).map(Ok).unwrap_or_else(|| self.inner.try_encode_udf(node, buf))
    }
    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        decode_udaf(name, buf).unwrap_or_else(|| self.inner.try_decode_udaf(name, buf))
    }
    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udaf(node, buf).map(Ok).unwrap_or_else(|| self.inner.try_encode_udaf(node, buf))
    }
}

#[allow(dead_code)]
fn _assert_any(_: &dyn Any) {}
#[allow(dead_code)]
fn _unused(_: &dyn Array) {}
