//! Proving that a Parquet file decodes: every page of every column chunk, not just its footer.
//!
//! A check may be answered from footers ("exact or scanned"), and a scan reads only the columns the
//! checks name, so a file whose data pages are garbage can pass a gate and be published. Before
//! `promote` publishes Parquet files, [`decode_files`] reads each one to the end with the parquet
//! crate's Arrow reader, one row group at a time, and compares what it decoded with what the footer
//! states: the row count of each row group and, for flat columns, the null count and (for integer
//! columns) the bounds. Garbage that still decodes (an uncompressed page of plain integers) then
//! shows as values outside the footer's bounds. On failure the column is found by decoding the row
//! group column by column, and the error names the file, the row group and the column.
//!
//! The same function names the file when a scan of `check` fails while decoding (`run.rs`).

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::file::reader::ChunkReader;
use datafusion::parquet::file::statistics::Statistics;

use crate::diag::display_path;

/// A Parquet file that does not decode, or disagrees with its own footer.
#[derive(Debug)]
pub struct Undecodable {
    pub path: PathBuf,
    pub row_group: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place(), self.message)
    }
}

impl std::error::Error for Undecodable {}

impl Undecodable {
    /// The file, row group and column, without the cause.
    pub fn place(&self) -> String {
        let mut s = display_path(&self.path);
        if let Some(g) = self.row_group {
            s.push_str(&format!(", row group {g}"));
        }
        if let Some(c) = &self.column {
            s.push_str(&format!(", column `{c}`"));
        }
        s
    }
}

/// Rows per decoded batch.
const BATCH: usize = 8192;

/// Decodes every file (in parallel, one thread per core) and returns the total rows, or the first
/// failing file in the given order.
pub fn decode_files(paths: &[PathBuf]) -> Result<u64, Undecodable> {
    decode_each(paths, |p| decode_file(p))
}

/// Decodes objects of a store like [`decode_files`] (each with its path, for messages).
pub(crate) fn decode_objects(objects: &[(PathBuf, super::location::ObjectChunks)]) -> Result<u64, Undecodable> {
    decode_each(objects, |(path, chunks)| {
        super::source::parquet_frame_of(chunks).map_err(|message| Undecodable {
            path: path.clone(),
            row_group: None,
            column: None,
            message,
        })?;
        decode(path, chunks.clone(), |c| Ok(c.clone()))
    })
}

/// `decode_one` of every item, in parallel, one thread per core: the total rows, or the first
/// failure in the given order.
fn decode_each<T: Sync>(
    items: &[T],
    decode_one: impl Fn(&T) -> Result<u64, Undecodable> + Sync,
) -> Result<u64, Undecodable> {
    let paths = items;
    let threads = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(paths.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, Result<u64, Undecodable>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = paths.get(i) else { break };
                        out.push((i, decode_one(p)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let mut rows = 0;
    for (_, r) in results {
        rows += r?;
    }
    Ok(rows)
}

/// For `promote`, before anything is staged: the Parquet files of a batch (those that start with
/// Parquet's magic bytes) decode completely, or a sentence naming the first that does not.
pub fn parquet_batch(paths: impl IntoIterator<Item = PathBuf>) -> Result<(), String> {
    let parquet: Vec<PathBuf> = paths
        .into_iter()
        .filter(|p| {
            let mut magic = [0u8; 4];
            File::open(p)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok_and(|()| &magic == b"PAR1")
        })
        .collect();
    decode_files(&parquet)
        .map(|_| ())
        .map_err(|e| format!("the batch cannot be published: {e}; no reader could read that file"))
}

/// Decodes one file completely; returns its rows.
pub fn decode_file(path: &Path) -> Result<u64, Undecodable> {
    super::source::parquet_frame(path).map_err(|message| Undecodable {
        path: path.to_path_buf(),
        row_group: None,
        column: None,
        message,
    })?;
    let file = File::open(path).map_err(|e| Undecodable {
        path: path.to_path_buf(),
        row_group: None,
        column: None,
        message: e.to_string(),
    })?;
    decode(path, file, |f| f.try_clone().map_err(|e| e.to_string()))
}

/// Decodes a file or an object (`source`, whose frame was checked) completely; returns its rows.
/// `again` gives a second handle on the source for each reader.
fn decode<R: ChunkReader + 'static>(
    path: &Path,
    file: R,
    again: impl Fn(&R) -> Result<R, String>,
) -> Result<u64, Undecodable> {
    let fail = |row_group: Option<usize>, column: Option<String>, message: String| Undecodable {
        path: path.to_path_buf(),
        row_group,
        column,
        message,
    };
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| fail(None, None, format!("unreadable footer: {e}")))?;
    let parquet = meta.metadata().clone();
    let schema = meta.schema().clone();
    let leaves = meta.parquet_schema().num_columns();
    // Flat files: leaf i is Arrow column i, so footer statistics can be compared column by column.
    let flat = leaves == schema.fields().len() && schema.fields().iter().all(|f| !f.data_type().is_nested());
    let mut total = 0u64;
    for (g, rg) in parquet.row_groups().iter().enumerate() {
        let read = |mask: ProjectionMask| -> Result<Vec<RecordBatch>, String> {
            let f = again(&file)?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                .with_row_groups(vec![g])
                .with_projection(mask)
                .with_batch_size(BATCH)
                .build()
                .map_err(|e| e.to_string())?;
            reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
        };
        let batches = match read(ProjectionMask::all()) {
            Ok(b) => b,
            Err(whole) => {
                // Find the column that does not decode.
                for (i, c) in rg.columns().iter().enumerate() {
                    if let Err(e) = read(ProjectionMask::leaves(meta.parquet_schema(), [i])) {
                        return Err(fail(Some(g), Some(c.column_path().string()), e));
                    }
                }
                return Err(fail(Some(g), None, whole));
            }
        };
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if i64::try_from(rows).ok() != Some(rg.num_rows()) {
            return Err(fail(
                Some(g),
                None,
                format!("{rows} rows decoded where the footer states {}", rg.num_rows()),
            ));
        }
        total += rows as u64;
        if !flat {
            continue;
        }
        for (i, chunk) in rg.columns().iter().enumerate() {
            let Some(stats) = chunk.statistics() else { continue };
            let arrays: Vec<ArrayRef> = batches.iter().map(|b| b.column(i).clone()).collect();
            if let Some(problem) = disagreement(stats, &arrays) {
                return Err(fail(Some(g), Some(chunk.column_path().string()), problem));
            }
        }
    }
    Ok(total)
}

/// How decoded values contradict a column chunk's statistics, if they do.
fn disagreement(stats: &Statistics, arrays: &[ArrayRef]) -> Option<String> {
    let nulls: usize = arrays.iter().map(|a| a.null_count()).sum();
    if let Some(n) = stats.null_count_opt()
        && n != nulls as u64
    {
        return Some(format!("{nulls} nulls decoded where the footer states {n}"));
    }
    // Integer bounds: exact in every writer, and garbage decoded as integers falls outside them.
    let (lo, hi) = match stats {
        Statistics::Int32(s) => (s.min_opt().map(|v| i64::from(*v)), s.max_opt().map(|v| i64::from(*v))),
        Statistics::Int64(s) => (s.min_opt().copied(), s.max_opt().copied()),
        _ => return None,
    };
    let (Some(lo), Some(hi)) = (lo, hi) else { return None };
    for a in arrays {
        let same_width = matches!(
            (stats, a.data_type()),
            (Statistics::Int32(_), DataType::Int32 | DataType::Date32) | (Statistics::Int64(_), DataType::Int64)
        );
        if !same_width {
            return None;
        }
        let Ok(values) = datafusion::arrow::compute::cast(a, &DataType::Int64) else {
            return None;
        };
        let values = values.as_any().downcast_ref::<Int64Array>()?;
        let (min, max) = (
            datafusion::arrow::compute::min(values),
            datafusion::arrow::compute::max(values),
        );
        if min.is_some_and(|m| m < lo) || max.is_some_and(|m| m > hi) {
            return Some(format!(
                "decoded values outside the footer's bounds [{lo}, {hi}] (found {}..{})",
                min.unwrap_or_default(),
                max.unwrap_or_default()
            ));
        }
    }
    None
}
