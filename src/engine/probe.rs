//! Finding out why a scan failed: the first file that cannot be read (with its line or row group
//! and column), and an evaluation error in words a data engineer can act on.
//!
//! A DataFusion read error names no file. After a scan fails, [`Engine::unreadable_file`] reads the
//! files one by one (Parquet: decoded completely by [`super::dataset::verify`]; CSV and JSON: read
//! alone, every column parsed) and names the first that fails.

use datafusion::error::Result as DfResult;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::prelude::DataFrame;

use super::{Engine, OpenDataset};
use crate::checks::column;
use crate::suite::Suite;

impl Engine {
    /// An evaluation error in words, with what to do when a CSV/JSON value does not fit the type
    /// inferred from the first `infer_rows` records.
    /// `column` is the check's own column, named in the advice when there is one.
    pub(super) fn explain(&self, ds: &OpenDataset, mut message: String, column: Option<&str>) -> String {
        // The CSV reader quotes the whole row; the value and its line say enough, and the row's
        // other values do not belong in a report.
        if let Some(at) = message.find(". Row data: ") {
            message.truncate(at);
        }
        let misfit = message.contains("Cast error")
            || message.contains("Error while parsing value")
            || message.contains("whilst decoding field");
        if ds.format == crate::suite::Format::Parquet || !misfit {
            return message;
        }
        format!(
            "{message}. Column types of CSV and JSON files are inferred from their first {} records; \
             declare the column's type in the suite's [dataset] (types = {{ {} = \"string\" }}) or \
             raise `infer_rows` in [engine]",
            crate::checks::fmt_count(self.config.infer_rows as u64),
            column.unwrap_or("column")
        )
    }

    /// The first file of a dataset that cannot be read, with where and why ("FILE, row group 2,
    /// column `v`: …" or "FILE: … at line 7"), found after a scan failed: a DataFusion read error
    /// names no file. Parquet files are decoded completely ([`super::dataset::verify`]); CSV and JSON files
    /// are read alone, every column parsed, in file order.
    /// `columns` limits the CSV/JSON probe to the columns a check reads (all when `None`). Returns
    /// the file (relative) and the cause.
    pub(super) async fn unreadable_file(
        &self,
        suite: &Suite,
        ds: &OpenDataset,
        columns: Option<&[String]>,
    ) -> Option<(String, String)> {
        if ds.format == crate::suite::Format::Parquet {
            return self.undecodable_file(ds).await;
        }
        for (f, fs) in ds.files.iter().zip(&ds.file_schemas) {
            let one = super::dataset::discover::Discovered {
                root: ds.root.clone(),
                format: ds.format,
                files: vec![f.clone()],
                partition_keys: ds.partition_keys.clone(),
            };
            let table = super::dataset::source::build_table(
                &self.ctx,
                &suite.dataset,
                &one,
                std::slice::from_ref(&fs.schema),
                &ds.schema,
                self.config.infer_rows,
            );
            let every_column = |t| -> DfResult<DataFrame> {
                let df = self.ctx.read_table(t)?;
                let counts = df
                    .schema()
                    .fields()
                    .iter()
                    .filter(|c| columns.is_none_or(|only| only.is_empty() || only.contains(c.name())))
                    .map(|c| count(column(c.name())))
                    .collect::<Vec<_>>();
                df.aggregate(vec![], counts)
            };
            let read = match table.and_then(every_column) {
                Ok(df) => df.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = read {
                let why = self.locate(suite, ds, f, super::error::read_cause(&e)).await;
                return Some((crate::diag::display_path(&f.path), why));
            }
        }
        None
    }

    /// A CSV or JSON read error's cause with the line it is about, found by reading the file again
    /// from its start (on disk or on an object store): the first JSON syntax error, the CSV record
    /// the reader's error describes, the JSON record whose value does not fit its column.
    async fn locate(&self, suite: &Suite, ds: &OpenDataset, f: &super::DataFile, mut why: String) -> String {
        use crate::suite::Format;
        let Ok(at) = super::dataset::Location::of(&self.ctx, &f.path) else {
            return why;
        };
        if ds.format == Format::Json
            && let Some(syntax) = at.read_whole(super::dataset::source::json_syntax_error).await
        {
            why = syntax;
        }
        // Arrow's CSV line numbers restart with each partition's byte range.
        if ds.format == Format::Csv
            && let Some(fault) = super::dataset::csv_locate::fault(&why)
        {
            let csv = suite.dataset.csv.clone();
            let found = at
                .read_whole(move |r| super::dataset::csv_locate::locate(r, &csv, &fault))
                .await;
            if let Some(line) = found {
                why = super::dataset::csv_locate::with_line(&why, line);
            }
        }
        // "whilst decoding field 'v': failed to parse …": add the line it is on.
        if ds.format == Format::Json
            && let Some(rest) = why.split("whilst decoding field '").nth(1)
            && let Some(name) = rest.split('\'').next()
            && let Ok(field) = ds.schema.field_with_name(name)
        {
            let (name, ty) = (name.to_string(), field.data_type().clone());
            let found = at
                .read_whole(move |r| super::dataset::source::json_misfit_line(r, &name, &ty))
                .await;
            if let Some(line) = found {
                why = format!("line {line}: {why}");
            }
        }
        why
    }

    /// The first Parquet file of a dataset that does not decode completely (on disk or on an
    /// object store, whose objects are read with ranged GETs), with its row group and column.
    async fn undecodable_file(&self, ds: &OpenDataset) -> Option<(String, String)> {
        use super::dataset::{Location, verify};
        let paths: Vec<std::path::PathBuf> = ds.files.iter().map(|f| f.path.clone()).collect();
        let objects = ds
            .files
            .iter()
            .map(|f| {
                let chunks = Location::of(&self.ctx, &f.path).ok()?.chunks(f.size)?;
                Some((f.path.clone(), chunks))
            })
            .collect::<Option<Vec<_>>>()
            .filter(|o| !o.is_empty());
        let decoded = tokio::task::spawn_blocking(move || match objects {
            Some(objects) => verify::decode_objects(&objects),
            None => verify::decode_files(&paths),
        });
        match decoded.await {
            Ok(Err(e)) => Some((e.place(), e.message)),
            _ => None,
        }
    }
}
