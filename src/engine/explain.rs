//! `lakegate explain`: what a run of a suite will do, without reading a row. The fused query is
//! built exactly as a run builds it ([`Engine::plan_run`] via the run's own `build_fused`) and planned, not run, so the answer
//! is the run's own: which checks the Parquet footers answer, which columns the scan reads, how
//! many queries run, and how many files and bytes are read (for Parquet, the compressed column
//! chunks of the scanned columns, from the footers).

use super::Engine;
use super::dataset::OpenDataset;
use super::plan::PlannedCheck;
use crate::checks::Shape;

/// How one check will be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Answer {
    /// From the Parquet footers; no row read.
    Statistics,
    /// In the one fused scan.
    FusedScan,
    /// Its own query (`unique`, `reference`) after the scan.
    KeyedQuery,
    /// From the files' schemas (`schema`).
    Metadata,
    /// It cannot run: it names a column the data lacks.
    Missing,
}

/// What a run of one dataset's suite will do.
#[derive(Debug)]
pub(crate) struct Explanation {
    pub files: usize,
    /// The files' total size.
    pub bytes: u64,
    /// The bytes the scan reads: for Parquet the compressed chunks of the scanned columns; for CSV
    /// and JSON the whole files (when a scan runs); 0 when no scan runs.
    pub scan_bytes: u64,
    pub scanned_columns: Vec<String>,
    /// Queries that read data (the fused scan, keyed queries).
    pub queries: u32,
    /// Per planned check (in plan order), how it will be answered.
    pub answers: Vec<Answer>,
}

impl Engine {
    /// Plans the dataset's run without executing it.
    pub(crate) async fn plan_run(&self, ds: &OpenDataset, planned: &[PlannedCheck]) -> Result<Explanation, String> {
        let bytes: u64 = ds.files.iter().map(|f| f.size).sum();
        let (stats, collect_keys) = self.scan_inputs(ds, planned);
        let all: Vec<&PlannedCheck> = planned.iter().collect();
        let (slots, scanned_columns) = if ds.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let built = self
                .build_fused(&ds.table, &all, stats.as_ref(), collect_keys)
                .await
                .map_err(|e| super::error::clean(&e))?;
            let scanned = match built.query {
                Some((df, _, _)) => {
                    let plan = df
                        .clone()
                        .create_physical_plan()
                        .await
                        .map_err(|e| super::error::clean(&e))?;
                    Some(self.scanned_of(&df, &plan).await.map_err(|e| super::error::clean(&e))?)
                }
                None => None,
            };
            (built.slots, scanned.unwrap_or_default())
        };
        let scan_runs = !ds.is_empty()
            && (stats.is_none() || !scanned_columns.is_empty() || slots.iter().any(|s| !s.from_statistics));
        let mut answers = Vec::with_capacity(planned.len());
        let mut keyed = 0;
        for (i, p) in planned.iter().enumerate() {
            let from_stats = slots.get(i).is_some_and(|s| s.from_statistics);
            answers.push(match &p.shape {
                Shape::Missing { .. } => Answer::Missing,
                Shape::Schema => Answer::Metadata,
                // CSV and JSON: a single integer key is collected by the fused scan itself.
                Shape::Unique { columns }
                    if collect_keys
                        && columns.len() == 1
                        && ds
                            .schema
                            .field_with_name(&columns[0])
                            .is_ok_and(|f| super::kernels::udf::fits_i64(f.data_type())) =>
                {
                    Answer::FusedScan
                }
                Shape::Unique { .. } | Shape::Reference { .. } => {
                    keyed += 1;
                    Answer::KeyedQuery
                }
                _ if from_stats => Answer::Statistics,
                _ => Answer::FusedScan,
            });
        }
        let scan_bytes = if !scan_runs {
            0
        } else if ds.format == crate::suite::Format::Parquet {
            parquet_chunk_bytes(ds, &scanned_columns)
        } else {
            bytes
        };
        Ok(Explanation {
            files: ds.files.len(),
            bytes,
            scan_bytes,
            scanned_columns,
            queries: u32::from(scan_runs) + keyed,
            answers,
        })
    }
}

/// The compressed size of the column chunks of `columns` in every file's footer.
fn parquet_chunk_bytes(ds: &OpenDataset, columns: &[String]) -> u64 {
    use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
    // Footers of files on an object store were fetched when the dataset was opened.
    let metas: Vec<std::sync::Arc<ParquetMetaData>> = if ds.remote_footers.is_empty() {
        ds.files
            .iter()
            .filter_map(|f| {
                let file = std::fs::File::open(&f.path).ok()?;
                ParquetMetaDataReader::new()
                    .parse_and_finish(&file)
                    .ok()
                    .map(std::sync::Arc::new)
            })
            .collect()
    } else {
        ds.remote_footers.clone()
    };
    let mut total = 0u64;
    for meta in metas {
        for rg in meta.row_groups() {
            for c in rg.columns() {
                if c.column_path().parts().first().is_some_and(|top| columns.contains(top)) {
                    total += u64::try_from(c.compressed_size()).unwrap_or(0);
                }
            }
        }
    }
    total
}
