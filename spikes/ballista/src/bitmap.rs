//! A custom partitioned source like lakegate's: a roaring bitmap of integer keys exposed as a
//! table whose scan is a custom ExecutionPlan streaming the keys, one key range per partition.
//! Both the TableProvider (logical codec) and the ExecutionPlan (physical codec) serialize.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use roaring::RoaringTreemap;

const TABLE_MAGIC: &[u8; 4] = b"LGBT";
const EXEC_MAGIC: &[u8; 4] = b"LGBX";
const BATCH: usize = 8192;

pub fn key_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("key", DataType::Int64, false)]))
}

#[derive(Debug)]
pub struct BitmapTable {
    pub keys: Arc<RoaringTreemap>,
    pub partitions: usize,
}

#[async_trait]
impl TableProvider for BitmapTable {
    fn schema(&self) -> SchemaRef {
        key_schema()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(BitmapExec::new(self.keys.clone(), self.partitions, projection.cloned())))
    }
}

#[derive(Debug)]
pub struct BitmapExec {
    keys: Arc<RoaringTreemap>,
    partitions: usize,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
}

impl BitmapExec {
    pub fn new(keys: Arc<RoaringTreemap>, partitions: usize, projection: Option<Vec<usize>>) -> Self {
        let full = key_schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p).expect("projection")),
            None => full,
        };
        let props = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self { keys, partitions, projection, schema, props: Arc::new(props) }
    }
}

impl DisplayAs for BitmapExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "BitmapExec: keys={}, partitions={}", self.keys.len(), self.partitions)
    }
}

impl ExecutionPlan for BitmapExec {
    fn name(&self) -> &str {
        "BitmapExec"
    }
    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }
    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }
    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }
    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        // Partition i gets the i-th contiguous slice (by rank) of the key set.
        let n = self.keys.len() as usize;
        let per = n.div_ceil(self.partitions.max(1));
        let (lo, hi) = (partition * per, ((partition + 1) * per).min(n));
        let keys: Vec<i64> = self.keys.iter().skip(lo).take(hi.saturating_sub(lo)).map(|k| k as i64).collect();
        if std::env::var_os("SPIKE_DEBUG").is_some() {
            eprintln!(
                "[pid {}] BitmapExec::execute partition {partition}/{} -> {} keys (task {:?})",
                std::process::id(),
                self.partitions,
                keys.len(),
                _context.task_id()
            );
        }
        let full = key_schema();
        let projection = self.projection.clone();
        let out_schema = self.schema.clone();
        let batches = keys
            .chunks(BATCH)
            .map(move |c| {
                let b = RecordBatch::try_new(full.clone(), vec![Arc::new(Int64Array::from(c.to_vec()))])?;
                Ok(match &projection {
                    Some(p) => b.project(p)?,
                    None => b,
                })
            })
            .collect::<Vec<Result<RecordBatch>>>();
        Ok(Box::pin(RecordBatchStreamAdapter::new(out_schema, futures::stream::iter(batches))))
    }
}

fn serialize(keys: &RoaringTreemap, partitions: usize, projection: Option<&Vec<usize>>, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(&(partitions as u32).to_le_bytes());
    match projection {
        None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
        Some(p) => {
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            for i in p {
                buf.extend_from_slice(&(*i as u32).to_le_bytes());
            }
        }
    }
    keys.serialize_into(&mut *buf).map_err(|e| DataFusionError::Internal(e.to_string()))
}

fn deserialize(mut b: &[u8]) -> Result<(RoaringTreemap, usize, Option<Vec<usize>>)> {
    let u32_ = |b: &mut &[u8]| -> Result<u32> {
        let (h, t) = b.split_at_checked(4).ok_or_else(|| DataFusionError::Internal("short bitmap node".into()))?;
        *b = t;
        Ok(u32::from_le_bytes(h.try_into().unwrap()))
    };
    let partitions = u32_(&mut b)? as usize;
    let n = u32_(&mut b)?;
    let projection = if n == u32::MAX {
        None
    } else {
        Some((0..n).map(|_| u32_(&mut b).map(|v| v as usize)).collect::<Result<Vec<_>>>()?)
    };
    let keys = RoaringTreemap::deserialize_from(b).map_err(|e| DataFusionError::Internal(e.to_string()))?;
    Ok((keys, partitions, projection))
}

pub fn encode_table(node: &dyn TableProvider, buf: &mut Vec<u8>) -> Result<bool> {
    let Some(t) = (node as &dyn std::any::Any).downcast_ref::<BitmapTable>() else { return Ok(false) };
    buf.extend_from_slice(TABLE_MAGIC);
    serialize(&t.keys, t.partitions, None, buf)?;
    Ok(true)
}

pub fn decode_table(buf: &[u8]) -> Result<Option<Arc<dyn TableProvider>>> {
    let Some(rest) = buf.strip_prefix(TABLE_MAGIC) else { return Ok(None) };
    let (keys, partitions, _) = deserialize(rest)?;
    Ok(Some(Arc::new(BitmapTable { keys: Arc::new(keys), partitions })))
}

pub fn encode_exec(node: &dyn ExecutionPlan, buf: &mut Vec<u8>) -> Result<bool> {
    let Some(e) = node.downcast_ref::<BitmapExec>() else { return Ok(false) };
    buf.extend_from_slice(EXEC_MAGIC);
    serialize(&e.keys, e.partitions, e.projection.as_ref(), buf)?;
    Ok(true)
}

pub fn decode_exec(buf: &[u8]) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(rest) = buf.strip_prefix(EXEC_MAGIC) else { return Ok(None) };
    let (keys, partitions, projection) = deserialize(rest)?;
    Ok(Some(Arc::new(BitmapExec::new(Arc::new(keys), partitions, projection))))
}
