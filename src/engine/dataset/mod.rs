//! A dataset as files: finding them, reading their schemas, registering them as one table, and
//! what can be known about them without a scan.
//!
//! [`discover`] lists the files (explicit paths, hive partitions, format); [`csv_quotes`] refuses a
//! CSV file an unterminated quote would make shorter; [`source`] reads each file's schema, unifies
//! them and builds the table; [`footers`] answers checks from Parquet footers; [`verify`] decodes
//! Parquet files completely (before `promote` publishes, and to name a file a scan cannot read);
//! [`csv_locate`] finds the line of a CSV read error in its file. [`remote`] lists a dataset on an
//! object store; [`location`] reads a file's bytes on disk or on a store alike.

pub(crate) mod csv_locate;
pub mod csv_quotes;
pub(crate) mod discover;
pub(crate) mod footers;
pub(crate) mod location;
pub(crate) mod remote;
pub(crate) mod source;
pub mod verify;

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::TableReference;

pub(crate) use discover::DataFile;
pub(crate) use location::Location;

use super::Engine;
use super::error::{self, DatasetError};
use crate::checks::FileSchema;
use crate::suite::{Format, Suite};

/// A dataset whose files are found and registered, ready to be planned and run.
#[derive(Debug, Clone)]
pub(crate) struct OpenDataset {
    pub name: String,
    /// The dataset's directory.
    pub root: PathBuf,
    pub format: Format,
    pub files: Vec<DataFile>,
    pub file_schemas: Vec<FileSchema>,
    pub schema: SchemaRef,
    /// Whether the table is one scan over its files (not a union of file groups): its rows then come
    /// in file order from a single-partition scan.
    pub single_scan: bool,
    /// Hive partition keys (the last columns of `schema`).
    pub partition_keys: Vec<String>,
    /// The registered table name.
    pub table: String,
    /// Each file's identity, when an incremental run took them while opening.
    pub ids: Option<Vec<crate::engine::incremental::fingerprint::FileId>>,
    /// The Parquet footers of files on an object store, fetched while opening (ranged GETs), one per
    /// file; empty for local files (read from disk when needed).
    pub remote_footers: Vec<std::sync::Arc<datafusion::parquet::file::metadata::ParquetMetaData>>,
}

impl OpenDataset {
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Refuses CSV files that the reader would read short because of a quote that never closes
/// ([`csv_quotes`]). The files are checked in parallel, off the async threads (an object streamed
/// in one GET); the first bad file in file order is named.
async fn check_quoting(
    ctx: &datafusion::prelude::SessionContext,
    spec: &crate::suite::DatasetSpec,
    files: &[DataFile],
) -> Result<(), DatasetError> {
    use futures::StreamExt;
    let q = csv_quotes::Quoting {
        delimiter: spec.csv.delimiter,
        quote: spec.csv.quote,
        escape: spec.csv.escape,
        comment: spec.csv.comment,
    };
    let parallel = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut checks = futures::stream::iter(files.iter().map(|f| async move {
        let checked = match Location::of(ctx, &f.path) {
            Ok(at) => at
                .off_runtime(move |at| {
                    at.whole()
                        .map_err(csv_quotes::CheckError::from)
                        .and_then(|r| csv_quotes::check_reader(r, q))
                        .map_err(|e| e.to_string())
                })
                .await
                .and_then(|r| r),
            Err(e) => Err(e),
        };
        (f.path.clone(), checked)
    }))
    .buffered(parallel);
    while let Some((path, checked)) = checks.next().await {
        if let Err(message) = checked {
            return Err(DatasetError::Unreadable {
                dataset: spec.name.get_ref().clone(),
                path,
                message,
            });
        }
    }
    Ok(())
}

impl Engine {
    /// Finds a dataset's files (or takes the given list) and registers them as a table. With the
    /// dataset's incremental state (`known`), files unchanged since it keep their stored schema: it
    /// is not read again, nor is an unchanged CSV file checked for quotes again.
    pub(crate) async fn open(
        &self,
        suite: &Suite,
        lake_root: &Path,
        zone_dir: &Path,
        files: Option<Vec<PathBuf>>,
        known: Option<&crate::engine::incremental::State>,
    ) -> Result<OpenDataset, DatasetError> {
        let spec = &suite.dataset;
        let name = spec.name.get_ref().clone();
        let d = match files {
            None if remote::is_remote(zone_dir) => self.discover_remote(zone_dir, spec).await?,
            Some(list) if remote::is_remote(zone_dir) => self.listed_remote(zone_dir, spec, &list).await?,
            None => discover::discover(lake_root, zone_dir, spec)?,
            Some(list) => {
                let root = zone_dir.join(spec.path.get_ref().trim_end_matches('/'));
                let root = if root.is_file() {
                    root.parent().map_or(root.clone(), Path::to_path_buf)
                } else {
                    root
                };
                discover::from_list(spec, &root, list)?
            }
        };
        let (ids, stored) = self.stored_schemas(suite, &d, known).await;
        if d.format == Format::Csv {
            let unknown: Vec<DataFile> = d
                .files
                .iter()
                .zip(&stored)
                .filter(|(_, s)| s.is_none())
                .map(|(f, _)| f.clone())
                .collect();
            check_quoting(&self.ctx, spec, &unknown).await?;
        }
        let schemas = futures::future::try_join_all(d.files.iter().zip(&stored).map(|(f, s)| async move {
            match s {
                Some(s) => Ok(s.clone()),
                None => source::file_schema(&self.ctx, spec, d.format, self.config.infer_rows, f).await,
            }
        }))
        .await?;
        let unified = source::unified_schema(spec, &d, &schemas)?;
        let table =
            source::build_table(&self.ctx, spec, &d, &schemas, &unified, self.config.infer_rows).map_err(|e| {
                DatasetError::Query {
                    dataset: name.clone(),
                    message: error::clean(&e),
                }
            })?;
        self.ctx
            .register_table(TableReference::bare(name.clone()), table)
            .map_err(|e| DatasetError::Query {
                dataset: name.clone(),
                message: error::clean(&e),
            })?;
        let mut groups: Vec<(&SchemaRef, &Vec<Option<String>>)> = Vec::new();
        for (f, s) in d.files.iter().zip(&schemas) {
            if !groups.contains(&(s, &f.partitions)) {
                groups.push((s, &f.partitions));
            }
        }
        let single_scan = groups.len() <= 1;
        drop(groups);
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(name.clone(), d.files.clone());
        }
        let remote_footers = self.remote_footers(&d).await;
        let file_schemas = d
            .files
            .iter()
            .zip(schemas)
            .map(|(f, schema)| FileSchema {
                file: f.rel.clone(),
                schema,
            })
            .collect();
        Ok(OpenDataset {
            name,
            root: d.root.clone(),
            format: d.format,
            files: d.files.clone(),
            file_schemas,
            schema: unified,
            partition_keys: d.partition_keys,
            single_scan,
            table: spec.name.get_ref().clone(),
            ids,
            remote_footers,
        })
    }

    /// The footers of a Parquet dataset's files on an object store (one ranged GET each, a few at
    /// a time), so that checks are answered from them as on disk; empty when any cannot be read
    /// (the scan then reports it).
    async fn remote_footers(
        &self,
        d: &discover::Discovered,
    ) -> Vec<std::sync::Arc<datafusion::parquet::file::metadata::ParquetMetaData>> {
        use futures::StreamExt;
        if d.format != Format::Parquet || !d.files.first().is_some_and(|f| remote::is_remote(&f.path)) {
            return Vec::new();
        }
        let fetches = d.files.iter().map(|f| async {
            let (bucket, key) = remote::split(&f.path)?;
            let url = datafusion::execution::object_store::ObjectStoreUrl::parse(bucket.as_str()).ok()?;
            let store = self.ctx.runtime_env().object_store(&url).ok()?;
            remote::footer(&store, &key, f.size).await.map(std::sync::Arc::new)
        });
        let got: Vec<_> = futures::stream::iter(fetches).buffered(8).collect().await;
        got.into_iter().collect::<Option<Vec<_>>>().unwrap_or_default()
    }

    /// A dataset's files on an object store, its bucket's store registered with every session.
    async fn discover_remote(
        &self,
        zone_dir: &Path,
        spec: &crate::suite::DatasetSpec,
    ) -> Result<discover::Discovered, DatasetError> {
        let listing = |message: String| DatasetError::Listing {
            dataset: spec.name.get_ref().clone(),
            path: zone_dir.to_path_buf(),
            message,
        };
        let (bucket, _) = remote::split(zone_dir).ok_or_else(|| listing("not an s3:// path".into()))?;
        let store = self.bucket_store(&bucket).map_err(listing)?;
        remote::discover(&store, zone_dir, spec).await
    }

    /// A dataset's objects now, narrowed to a list (a promotion's batch): each must still be there.
    async fn listed_remote(
        &self,
        zone_dir: &Path,
        spec: &crate::suite::DatasetSpec,
        list: &[PathBuf],
    ) -> Result<discover::Discovered, DatasetError> {
        let mut d = self.discover_remote(zone_dir, spec).await?;
        if let Some(gone) = list.iter().find(|p| !d.files.iter().any(|f| &f.path == *p)) {
            return Err(DatasetError::Unreadable {
                dataset: spec.name.get_ref().clone(),
                path: gone.clone(),
                message: "the object went away after the batch was taken".into(),
            });
        }
        d.files.retain(|f| list.contains(&f.path));
        Ok(d)
    }

    /// The store of a bucket, made and registered with the sessions the first time a dataset in
    /// it is opened; the datasets of one bucket share it (and the ETags they were listed at).
    fn bucket_store(&self, bucket: &url::Url) -> Result<std::sync::Arc<remote::Pinned>, String> {
        let mut stores = self.stores.lock().map_err(|e| e.to_string())?;
        if let Some(s) = stores.get(bucket.as_str()) {
            return Ok(s.clone());
        }
        let store = std::sync::Arc::new(remote::Pinned::new(remote::store(bucket)?));
        // The sessions share one runtime, and with it the stores registered.
        self.ctx.register_object_store(bucket, store.clone());
        stores.insert(bucket.as_str().to_string(), store.clone());
        Ok(store)
    }

    /// With an incremental state: every file's identity, and the stored schema of each file that is
    /// unchanged since (`None` for the others, or when the state was written for other read options).
    async fn stored_schemas(
        &self,
        suite: &Suite,
        d: &discover::Discovered,
        known: Option<&crate::engine::incremental::State>,
    ) -> (
        Option<Vec<crate::engine::incremental::fingerprint::FileId>>,
        Vec<Option<SchemaRef>>,
    ) {
        use crate::engine::incremental::{options_fingerprint, state};
        let none = vec![None; d.files.len()];
        let Some(known) = known else { return (None, none) };
        let Ok(ids) = self.identify_files(&d.files).await else {
            return (None, none);
        };
        if known.options != options_fingerprint(suite, d.format, self.config.infer_rows) {
            return (Some(ids), none);
        }
        let stored = d
            .files
            .iter()
            .zip(&ids)
            .map(|(f, id)| {
                known
                    .files
                    .get(&f.rel)
                    .filter(|k| k.id == *id)
                    .and_then(|k| k.schema.as_deref())
                    .and_then(state::schema_from)
            })
            .collect();
        (Some(ids), stored)
    }

    /// A table over some of an opened dataset's files, read exactly as the whole dataset is (its
    /// unified schema, types and read options): what an incremental run scans of new files.
    /// [`Engine::close_part`] removes it.
    pub(crate) fn open_part(&self, suite: &Suite, ds: &OpenDataset, files: &[usize]) -> Result<OpenDataset, String> {
        static PARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let table = format!("__lakegate_part_{n}");
        let picked: Vec<DataFile> = files.iter().map(|i| ds.files[*i].clone()).collect();
        let schemas: Vec<SchemaRef> = files.iter().map(|i| ds.file_schemas[*i].schema.clone()).collect();
        let d = discover::Discovered {
            root: ds.root.clone(),
            format: ds.format,
            files: picked.clone(),
            partition_keys: ds.partition_keys.clone(),
        };
        let provider = source::build_table(
            &self.ctx,
            &suite.dataset,
            &d,
            &schemas,
            &ds.schema,
            self.config.infer_rows,
        )
        .map_err(|e| error::clean(&e))?;
        self.ctx
            .register_table(TableReference::bare(table.clone()), provider)
            .map_err(|e| error::clean(&e))?;
        Ok(OpenDataset {
            name: ds.name.clone(),
            root: ds.root.clone(),
            format: ds.format,
            files: picked,
            file_schemas: files.iter().map(|i| ds.file_schemas[*i].clone()).collect(),
            schema: ds.schema.clone(),
            single_scan: files.len() <= 1 || ds.single_scan,
            partition_keys: ds.partition_keys.clone(),
            table,
            ids: ds
                .ids
                .as_ref()
                .map(|ids| files.iter().map(|i| ids[*i].clone()).collect()),
            remote_footers: if ds.remote_footers.is_empty() {
                Vec::new()
            } else {
                files.iter().map(|i| ds.remote_footers[*i].clone()).collect()
            },
        })
    }

    /// Removes a table [`Engine::open_part`] registered.
    pub(crate) fn close_part(&self, part: &OpenDataset) {
        let _ = self.ctx.deregister_table(TableReference::bare(part.table.clone()));
    }
}
