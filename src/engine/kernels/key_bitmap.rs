//! Duplicated integer keys found with a bitmap over the key range instead of a hash aggregate.
//!
//! A `unique` check over one integer column is, by far, the most expensive query of a suite when
//! run as `GROUP BY key HAVING count(*) > 1`: a hash table of every distinct key. Keys such as ids
//! usually span a range not much wider than the row count, and the fused scan already knows that
//! range (`min`/`max`, often straight from the Parquet footers). Then one bit per possible key
//! suffices: a row whose bit is already set repeats a key and is counted in a small map. Each
//! partition of the scan fills its own bitmap in parallel; keys seen by more than one partition
//! are the bits set in two bitmaps. The bitmaps (range/8 bytes each) are reserved from the
//! session's memory pool; when the range is too wide, the pool refuses, or a value falls outside
//! the range (the data changed since it was measured), the caller runs the `GROUP BY` query, which
//! can spill.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{DataFrame, SessionContext};

/// A key range wider than this many bits per row of the dataset is left to the hash aggregate: the
/// bitmap would be mostly empty and its random accesses would miss the caches.
const BITS_PER_ROW: u64 = 16;
/// Any range up to this many keys is fine, whatever the row count.
const SMALL_RANGE: u64 = 1 << 20;

/// The keys `min..=max`, as given by the fused scan, when a bitmap of them is worth it.
pub(crate) fn range(min: &ScalarValue, max: &ScalarValue, rows: u64) -> Option<(i64, u64)> {
    let as_i64 = |v: &ScalarValue| match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(Some(x)) => Some(x),
        _ => None,
    };
    let (lo, hi) = (as_i64(min)?, as_i64(max)?);
    let span = u64::try_from(i128::from(hi) - i128::from(lo) + 1).ok()?;
    (span <= SMALL_RANGE.max(rows.saturating_mul(BITS_PER_ROW))).then_some((lo, span))
}

/// Keys occurring more than once, with their counts.
pub(crate) struct Duplicates {
    pub counts: HashMap<i64, u64>,
}

/// What one partition saw: a bit per key, and the keys it saw more than once with their counts.
struct Seen {
    bits: Vec<u64>,
    repeats: HashMap<i64, u64>,
    /// The pool's share of the two above, held until they are merged.
    reservation: MemoryReservation,
}

impl Seen {
    fn has(&self, off: u64) -> bool {
        let word = (off >> 6) as usize;
        self.bits[word] & (1 << (off & 63)) != 0
    }
}

/// Bytes a repeated key takes in a partition's map (key, count, hash table overhead).
const REPEAT_BYTES: usize = 32;
/// Repeated keys reserved from the memory pool at a time.
const REPEATS_PER_GROWTH: usize = 1 << 16;

/// Sets the bit of each key (`lo..lo + span`) in `bits`, counting the keys met again in
/// `repeats`; `false` at the first key outside the range.
pub(crate) fn mark(
    bits: &mut [u64],
    repeats: &mut HashMap<i64, u64>,
    lo: i64,
    span: u64,
    keys: impl Iterator<Item = i64>,
) -> bool {
    for v in keys {
        let off = v.wrapping_sub(lo) as u64;
        if off >= span {
            return false;
        }
        let (word, bit) = ((off >> 6) as usize, 1u64 << (off & 63));
        if bits[word] & bit == 0 {
            bits[word] |= bit;
        } else {
            *repeats.entry(v).or_insert(1) += 1;
        }
    }
    true
}

/// Fills one partition's bitmap, its memory reserved from the pool; `None` when the pool refuses
/// or a key lies outside the range.
async fn scan(
    mut stream: SendableRecordBatchStream,
    lo: i64,
    span: u64,
    words: usize,
    pool: Arc<dyn MemoryPool>,
) -> DfResult<Option<Seen>> {
    let reservation = MemoryConsumer::new("lakegate unique keys").register(&pool);
    if reservation.try_grow(words.saturating_mul(8)).is_err() {
        return Ok(None);
    }
    let mut seen = Seen {
        bits: vec![0; words],
        repeats: HashMap::new(),
        reservation,
    };
    let mut reserved_repeats = 0;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch?;
        let keys = cast(batch.column(0), &DataType::Int64)?;
        let keys = keys.as_primitive::<Int64Type>();
        // The frame holds non-null keys only; a null would be skipped.
        let all = keys.null_count() == 0;
        let values = keys
            .values()
            .iter()
            .enumerate()
            .filter(|(i, _)| all || keys.is_valid(*i));
        if !mark(&mut seen.bits, &mut seen.repeats, lo, span, values.map(|(_, v)| *v)) {
            return Ok(None);
        }
        // Many repeated keys: the map grows, within the pool or not at all (the grouped query spills).
        while seen.repeats.len() > reserved_repeats {
            if seen.reservation.try_grow(REPEATS_PER_GROWTH * REPEAT_BYTES).is_err() {
                return Ok(None);
            }
            reserved_repeats += REPEATS_PER_GROWTH;
        }
    }
    Ok(Some(seen))
}

/// The duplicated keys of `keys` (a one-column frame of non-null integer keys within
/// `lo..lo + span`), or `None` when the bitmaps do not fit the memory pool or a key was outside.
pub(crate) async fn find(ctx: &SessionContext, keys: DataFrame, lo: i64, span: u64) -> DfResult<Option<Duplicates>> {
    let words = usize::try_from(span.div_ceil(64)).unwrap_or(usize::MAX);
    let streams = keys.execute_stream_partitioned().await?;
    let parts = streams.len();
    let pool = ctx.runtime_env().memory_pool.clone();
    // Merging several partitions takes two more bitmaps.
    let merging = MemoryConsumer::new("lakegate unique keys (merge)").register(&pool);
    if parts > 1 && merging.try_grow(words.saturating_mul(16)).is_err() {
        return Ok(None);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for s in streams {
        tasks.spawn(scan(s, lo, span, words, pool.clone()));
    }
    let mut seen = Vec::with_capacity(parts);
    while let Some(done) = tasks.join_next().await {
        match done.map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?? {
            Some(s) => seen.push(s),
            None => return Ok(None),
        }
    }
    tracing::debug!(partitions = parts, keys = span, "Counted repeated keys with bitmaps.");
    Ok(Some(merge(seen, lo)))
}

/// Totals over partitions: a key is duplicated when one partition repeats it or several saw it.
fn merge(mut seen: Vec<Seen>, lo: i64) -> Duplicates {
    if seen.len() == 1
        && let Some(only) = seen.pop()
    {
        return Duplicates { counts: only.repeats };
    }
    let mut counts: HashMap<i64, u64> = HashMap::new();
    let words = seen.first().map_or(0, |s| s.bits.len());
    // Keys set in at least two bitmaps.
    let mut once = vec![0u64; words];
    let mut twice = vec![0u64; words];
    for s in &seen {
        for ((o, t), b) in once.iter_mut().zip(twice.iter_mut()).zip(&s.bits) {
            *t |= *o & b;
            *o |= b;
        }
    }
    let mut keys: Vec<i64> = seen.iter().flat_map(|s| s.repeats.keys().copied()).collect();
    for (w, &t) in twice.iter().enumerate() {
        let mut t = t;
        while t != 0 {
            let off = (w as u64) * 64 + u64::from(t.trailing_zeros());
            keys.push(lo.wrapping_add(off as i64));
            t &= t - 1;
        }
    }
    for k in keys {
        if counts.contains_key(&k) {
            continue;
        }
        let off = k.wrapping_sub(lo) as u64;
        let total = seen
            .iter()
            .map(|s| s.repeats.get(&k).copied().unwrap_or_else(|| u64::from(s.has(off))))
            .sum();
        counts.insert(k, total);
    }
    Duplicates { counts }
}
