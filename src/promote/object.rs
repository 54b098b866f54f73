//! Promotion into a zone on an S3-compatible object store, where nothing can be renamed and no
//! lock spans machines.
//!
//! Protocol, per target dataset prefix `T` (names in `crate::layout`):
//! 1. **Probe.** The store must honour create-if-absent writes (`If-None-Match: *`): a probe object
//!    is created twice and the second write must be refused. Some emulators accept both; then the
//!    promotion is refused with a sentence, before anything is read. A dry run writes nothing, so
//!    it does not probe.
//! 2. **Recover.** Staging prefixes of committed promotions are rolled forward (step 7 is
//!    idempotent); those of promotions that never committed are removed once their process is gone
//!    (same host, pid not running) or a day old — until then they are invisible and harmless.
//!    Sources of published `--move` promotions still there unchanged are removed.
//! 3. **Snapshot.** The source objects with their sizes and ETags; objects published before (in the
//!    log) with the same ETag or checksum are left out.
//! 4. **Gate, then stage.** The suite runs on exactly those objects. If it passes, each object is
//!    downloaded in ranges, each only if its ETag is still the snapshot's (a conditional GET: a
//!    producer overwriting it meanwhile stops the promotion), hashed, its Parquet decoded
//!    completely (as on disk), checked not to overwrite another object in `T`, and uploaded to
//!    `T/_lakegate/staging/RUN_ID/` after the intent `_intent.json`.
//! 5. **Commit.** The manifest is created as `T/_lakegate/log/N.json`, N one more than the newest,
//!    only if absent: the single atomic step. Of two promotions racing for N, one wins; the other
//!    reads the log again and takes the next number — unless the winner published one of its files,
//!    then it stops (exit 3) and removes its staging. A write whose answer is lost is read back
//!    (see [`commit`]).
//! 6. Readers listing `T` leave out the files an intent names (`layout::files_of_record`).
//! 7. **Roll forward.** Each staged copy is copied into place, `--move` sources are deleted if their
//!    ETag is unchanged, the staged copies are deleted, the intent last.
//!
//! Atomicity here is the commit's: once the log entry exists the batch is published and every
//! later promotion or `--recover` finishes copying it; before, nothing is. Objects become visible one
//! by one while they are copied, so a reader that wants whole batches only reads the objects the log
//! entries name (docs/promote.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::publish::Manifest;
use super::snapshot::SnapFile;
use super::{Mode, PromoteError, PromoteOptions, PromoteReport};
use crate::config::Project;
use crate::engine::dataset::remote;
use crate::fs_atomic::fault_point;
use crate::layout::{INTENT, LOG_DIR, META_DIR, is_run_id, log_name, log_number};
use crate::results::{RunResult, Status};
use crate::suite::{OnFail, Suite};

/// How old an uncommitted staging prefix of another host must be before recovery removes it.
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How many sequence numbers a promotion tries before it gives up on a busy log.
const COMMIT_TRIES: u32 = 20;
/// Upload part size for staged copies (S3 parts are at least 5 MiB).
const PART: usize = 8 << 20;

/// Who staged a promotion, so that recovery can tell a dead promotion from a running one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Holder {
    pub host: String,
    pub pid: u32,
    pub started: chrono::DateTime<chrono::Utc>,
}

impl Holder {
    fn here(started: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            host: host_name(),
            pid: std::process::id(),
            started,
        }
    }

    /// Whether the promotion that staged this has certainly stopped (or is too old to wait for).
    fn gone(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if !self.host.is_empty()
            && self.host == host_name()
            && let Some(running) = process_running(self.pid)
        {
            return !running || self.pid == std::process::id();
        }
        now - self.started > STALE_AFTER
    }
}

/// Whether a process of this host runs; `None` where that cannot be told (no `/proc`).
fn process_running(pid: u32) -> Option<bool> {
    Path::new("/proc/self")
        .exists()
        .then(|| Path::new(&format!("/proc/{pid}")).exists())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The store and the prefixes a promotion reads and writes.
struct Places {
    from_zone: String,
    to_zone: String,
    from_dir: PathBuf,
    /// The target dataset prefix as a path (`s3://bucket/…`), for messages.
    target: PathBuf,
    bucket: String,
    /// The lake root's key: `--move` never deletes outside it.
    lake_key: Key,
    target_key: Key,
    store: Arc<dyn ObjectStore>,
}

impl Places {
    fn meta(&self) -> Key {
        self.target_key.clone().join(META_DIR)
    }
    fn log(&self) -> Key {
        self.meta().join(LOG_DIR)
    }
    fn staging(&self, run_id: &str) -> Key {
        self.meta().join("staging").join(run_id)
    }
    fn shown(&self, key: &Key) -> String {
        format!("{}{}/{key}", remote::SCHEME, self.bucket)
    }
    /// A store error as the promotion's error, naming the object.
    fn fail(&self, key: &Key, e: &object_store::Error) -> PromoteError {
        PromoteError::Io {
            path: PathBuf::from(self.shown(key)),
            message: remote::explain(&e.to_string()),
        }
    }
    /// The key of a source recorded in a manifest, if it lies in this lake (a planted log entry
    /// cannot make `--move` delete anything else).
    fn source_key(&self, source: &Path) -> Option<Key> {
        let (bucket, key) = remote::split(source)?;
        (bucket.host_str() == Some(self.bucket.as_str()) && key.prefix_match(&self.lake_key).is_some()).then_some(key)
    }
}

async fn locate(project: &Project, suite: &Suite, opts: &PromoteOptions) -> Result<Places, PromoteError> {
    let from_zone = suite.dataset.zone.get_ref().clone();
    let to_zone = super::target_zone(project, suite, opts.to.as_deref()).map_err(|d| PromoteError::Config(vec![d]))?;
    if to_zone == from_zone {
        return Err(PromoteError::Config(vec![crate::diag::Diagnostic::plain(
            crate::diag::Code::PromoteTarget,
            format!("`{}` is already in zone `{to_zone}`", opts.dataset),
        )]));
    }
    let zone = |z: &str| {
        project
            .zone_dir(z)
            .ok_or_else(|| PromoteError::Refused(format!("zone `{z}` is not defined in lakegate.toml")))
    };
    let from_dir = zone(&from_zone)?;
    let to_dir = zone(&to_zone)?;
    let (bucket_url, lake_key) = remote::split(&project.lake_root)
        .ok_or_else(|| PromoteError::Refused(format!("{} is not an s3:// location", project.lake_root.display())))?;
    let store = remote::store(&bucket_url).map_err(PromoteError::Refused)?;
    let rel_base = dataset_base(&store, suite, &from_dir).await;
    let target = if rel_base.is_empty() {
        to_dir.clone()
    } else {
        to_dir.join(&rel_base)
    };
    let (_, target_key) = remote::split(&target)
        .ok_or_else(|| PromoteError::Refused(format!("{} is not an s3:// location", target.display())))?;
    Ok(Places {
        from_zone,
        to_zone,
        from_dir,
        target,
        bucket: bucket_url.host_str().unwrap_or_default().to_string(),
        lake_key,
        target_key,
        store,
    })
}

/// The dataset's base prefix relative to its zone, the same in the target zone: the literal part
/// of its path — or, when the path names one object (as discovery reads it), that object's parent,
/// so that it is published beside its siblings and not below a prefix named like itself.
async fn dataset_base(store: &Arc<dyn ObjectStore>, suite: &Suite, from_dir: &Path) -> String {
    let base = suite.dataset.path.get_ref().trim_end_matches('/');
    if crate::paths::is_glob(base) {
        return crate::paths::literal_prefix(base).trim_end_matches('/').to_string();
    }
    let Some((_, key)) = remote::split(&from_dir.join(base)) else {
        return base.to_string();
    };
    let below = store.list_with_delimiter(Some(&key)).await;
    let nothing_below = below.is_ok_and(|l| l.objects.is_empty() && l.common_prefixes.is_empty());
    if nothing_below && store.head(&key).await.is_ok() {
        return base.rsplit_once('/').map_or("", |(parent, _)| parent).to_string();
    }
    base.to_string()
}

/// Runs a promotion whose lake is on an object store (see the module docs).
pub(crate) async fn promote(
    project: &Project,
    suites: &[Suite],
    suite: &Suite,
    opts: &PromoteOptions,
) -> Result<PromoteReport, PromoteError> {
    if opts.mode == Mode::Split {
        return Err(PromoteError::Refused(
            "--mode split is not supported on an object store yet (it writes new Parquet files); \
             use --mode batch, or promote in a local lake"
                .into(),
        ));
    }
    let at = locate(project, suite, opts).await?;
    let run_id = uuid::Uuid::now_v7().to_string();
    if !opts.dry_run {
        probe_conditional_put(&at, &run_id).await?;
        LocalCopies::remove_leftovers();
    }
    let (mut recovered, finished) = recover(&at, opts.dry_run, opts.clock.wall()).await?;
    let log = read_log(&at).await?;
    let mut snap = snapshot(&at, suite).await?;
    recovered.extend(remove_moved_sources(&at, &log, &finished, &mut snap, opts.dry_run).await);
    let mut report = PromoteReport {
        lakegate: env!("CARGO_PKG_VERSION"),
        run_id: run_id.clone(),
        dataset: opts.dataset.clone(),
        from_zone: at.from_zone.clone(),
        to_zone: at.to_zone.clone(),
        mode: opts.mode,
        status: "recovered",
        message: String::new(),
        batch: Vec::new(),
        published: Vec::new(),
        target: at.target.display().to_string(),
        quarantine: None,
        rows: None,
        recovered,
        kept_sources: Vec::new(),
        results: None,
    };
    if opts.recover_only {
        report.message = if report.recovered.is_empty() {
            "Nothing to recover.".into()
        } else {
            format!("Recovered: {}.", report.recovered.join("; "))
        };
        return Ok(report);
    }
    let Some(batch) = take_batch(&at, opts, snap, &log, &mut report).await? else {
        return Ok(report);
    };
    fault_point("after-snapshot");
    let result = gate(project, suites, opts, &batch).await?;
    let passed = matches!(result.status, Status::Pass | Status::Warn);
    report.results = Some(result.clone());
    if !passed {
        refuse(suite, &at, opts, batch.len(), &mut report);
        return Ok(report);
    }
    fault_point("after-gate");
    let local = LocalCopies::download(&at, &run_id, &batch).await?;
    refuse_overwrite(&at, &local.records).await?;
    report.batch.clone_from(&local.records);
    if opts.dry_run {
        report.status = "would_promote";
        report.published = batch.iter().map(|f| f.record.path.clone()).collect();
        report.message = format!(
            "The batch of {} passed; it would be published to {}.",
            crate::results::numbers::count_of(batch.len() as u64, "file", "files"),
            report.target
        );
        return Ok(report);
    }
    let manifest = manifest_of(&at, opts, &run_id, &batch, local.records.clone(), &result);
    publish(&at, &manifest, &local, log, &mut report).await?;
    Ok(report)
}

/// A failed batch: the target is untouched. Quarantine is not available on object stores yet.
fn refuse(suite: &Suite, at: &Places, opts: &PromoteOptions, files: usize, report: &mut PromoteReport) {
    report.status = if opts.dry_run { "would_fail" } else { "failed" };
    report.message = format!(
        "The batch of {} failed the `{}` suite; `{}` is untouched.",
        crate::results::numbers::count_of(files as u64, "file", "files"),
        opts.dataset,
        at.to_zone
    );
    if suite.dataset.on_fail == OnFail::Quarantine {
        report.message.push_str(&format!(
            " It stays in `{}`: moving a batch to quarantine is not supported on an object store yet.",
            at.from_zone
        ));
    }
}

/// The store must refuse a second create-if-absent write of one object.
async fn probe_conditional_put(at: &Places, run_id: &str) -> Result<(), PromoteError> {
    let key = at.meta().join("probe").join(run_id);
    let create = || PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let body = || PutPayload::from_static(b"lakegate: does this store honour If-None-Match?");
    let first = at.store.put_opts(&key, body(), create()).await;
    let second = match &first {
        Ok(_) => Some(at.store.put_opts(&key, body(), create()).await),
        Err(_) => None,
    };
    let _ = at.store.delete(&key).await;
    let unsupported = |why: &str| {
        PromoteError::Refused(format!(
            "the object store behind {} {why}; promotion commits with a create-if-absent write \
             (If-None-Match: *), so it cannot promote there all or nothing. Use a store that honours \
             conditional writes (AWS S3, MinIO, Cloudflare R2, …) and unset AWS_CONDITIONAL_PUT",
            at.target.display()
        ))
    };
    match (first, second) {
        (Ok(_), Some(Err(object_store::Error::AlreadyExists { .. }))) => Ok(()),
        (Ok(_), Some(Ok(_))) => Err(unsupported("accepted a second create-if-absent write of one object")),
        (Err(object_store::Error::NotImplemented { .. }), _) => {
            Err(unsupported("is configured without conditional writes"))
        }
        (Err(e), _) | (Ok(_), Some(Err(e))) => Err(at.fail(&key, &e)),
        (Ok(_), None) => Ok(()),
    }
}

/// Every readable log entry with its sequence number, oldest first (a torn or foreign entry is
/// skipped with a warning, but its number is taken).
async fn read_log(at: &Places) -> Result<Vec<(u64, Option<Manifest>)>, PromoteError> {
    let log = at.log();
    let listed: Vec<object_store::ObjectMeta> = at
        .store
        .list(Some(&log))
        .try_collect()
        .await
        .map_err(|e| at.fail(&log, &e))?;
    let numbered: Vec<(u64, Key)> = listed
        .into_iter()
        .filter_map(|o| Some((log_number(o.location.filename()?)?, o.location)))
        .collect();
    let mut entries: Vec<(u64, Option<Manifest>)> = futures::stream::iter(numbered)
        .map(|(n, key)| async move {
            let bytes = at.store.get(&key).await.map_err(|e| at.fail(&key, &e))?.bytes().await;
            let bytes = bytes.map_err(|e| at.fail(&key, &e))?;
            let m = serde_json::from_slice::<Manifest>(&bytes)
                .inspect_err(|e| tracing::warn!(entry = %at.shown(&key), error = %e, "Skipping an unreadable promotion log entry."))
                .ok();
            Ok::<_, PromoteError>((n, m))
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    entries.sort_by_key(|(n, _)| *n);
    Ok(entries)
}

/// A source object and what the snapshot saw of it.
pub(crate) struct BatchObject {
    pub source: PathBuf,
    pub key: Key,
    pub e_tag: Option<String>,
    pub record: SnapFile,
}

/// The source objects now, each with its size and ETag. On an object store a prefix without
/// objects does not exist, so a dataset whose objects all went (`--move`) has none, not an error.
async fn snapshot(at: &Places, suite: &Suite) -> Result<Vec<BatchObject>, PromoteError> {
    let found = match remote::discover(&remote::Pinned::new(at.store.clone()), &at.from_dir, &suite.dataset).await {
        Ok(found) => found,
        Err(crate::engine::DatasetError::Missing { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    futures::stream::iter(found.files)
        .map(|f| async move {
            let key = remote::split(&f.path).map(|(_, k)| k).unwrap_or_default();
            let meta = at.store.head(&key).await.map_err(|e| at.fail(&key, &e))?;
            Ok::<_, PromoteError>(BatchObject {
                record: SnapFile {
                    path: f.rel.clone(),
                    size: meta.size,
                    mtime_ns: i128::from(meta.last_modified.timestamp_nanos_opt().unwrap_or(0)),
                    sha256: String::new(),
                    e_tag: meta.e_tag.clone(),
                },
                e_tag: meta.e_tag,
                source: f.path,
                key,
            })
        })
        .buffered(16)
        .try_collect()
        .await
}

/// Sources of published `--move` promotions still there unchanged (same ETag and size as
/// checked): their deletes failed, or a kill came between the commit and the deletes and a
/// recovery after it could not finish them. Removes them (a dry run only says so) and leaves them
/// out of `snap`; returns what it did, one sentence per promotion. The promotions recovery just
/// finished (in a dry run: would finish) are skipped: finishing them removes their sources.
async fn remove_moved_sources(
    at: &Places,
    log: &[(u64, Option<Manifest>)],
    finished: &[String],
    snap: &mut Vec<BatchObject>,
    dry_run: bool,
) -> Vec<String> {
    let by_source: std::collections::HashMap<&Path, usize> =
        snap.iter().enumerate().map(|(i, f)| (f.source.as_path(), i)).collect();
    let mut gone = std::collections::HashSet::new();
    let mut done = Vec::new();
    for m in log
        .iter()
        .filter_map(|(_, m)| m.as_ref())
        .filter(|m| m.moved && !finished.contains(&m.run_id))
    {
        let mut removed = 0u64;
        for (src, rec) in m.sources.iter().zip(&m.batch) {
            let Some(&i) = by_source.get(src.as_path()) else {
                continue;
            };
            let f = &snap[i];
            let unchanged = rec.e_tag.is_some() && f.e_tag == rec.e_tag && f.record.size == rec.size;
            if !unchanged || at.source_key(src).is_none() || gone.contains(&i) {
                continue;
            }
            if !dry_run {
                if let Err(e) = at.store.delete(&f.key).await {
                    tracing::warn!(object = %src.display(), error = %e, "Could not remove a source promoted with --move; the next promotion removes it.");
                    continue;
                }
                gone.insert(i);
            }
            removed += 1;
        }
        if removed > 0 {
            let n = crate::checks::count_of(removed, "source object", "source objects");
            done.push(if dry_run {
                format!("would remove {n} promoted with --move by {}", m.run_id)
            } else {
                format!("removed {n} promoted with --move by {}", m.run_id)
            });
        }
    }
    let mut i = 0;
    snap.retain(|_| {
        i += 1;
        !gone.contains(&(i - 1))
    });
    done
}

/// The batch: the snapshot minus the objects already published unchanged; `None` (with the report
/// saying why) when there is nothing to promote.
async fn take_batch(
    at: &Places,
    opts: &PromoteOptions,
    snap: Vec<BatchObject>,
    log: &[(u64, Option<Manifest>)],
    report: &mut PromoteReport,
) -> Result<Option<Vec<BatchObject>>, PromoteError> {
    let mut done: std::collections::HashMap<&str, Vec<&SnapFile>> = std::collections::HashMap::new();
    for d in log.iter().filter_map(|(_, m)| m.as_ref()).flat_map(|m| &m.batch) {
        done.entry(d.path.as_str()).or_default().push(d);
    }
    let mut already = 0usize;
    let mut batch = Vec::new();
    for mut f in snap {
        let same_path = done.get(f.record.path.as_str()).map_or(&[][..], Vec::as_slice);
        if same_path.is_empty() {
            batch.push(f);
            continue;
        }
        if same_path
            .iter()
            .any(|d| d.e_tag.is_some() && d.e_tag == f.e_tag && d.size == f.record.size)
        {
            already += 1;
            continue;
        }
        // Another ETag may still be the same bytes (uploaded in other parts): compare checksums.
        f.record.sha256 = sha256_object(at, &f).await?;
        if same_path.iter().any(|d| d.sha256 == f.record.sha256) {
            already += 1;
            continue;
        }
        return Err(PromoteError::Refused(format!(
            "{} was promoted before and has changed since; lakegate never promotes a file twice \
             (its earlier rows are already in `{}`). Write new rows to a new object, or remove this one",
            f.source.display(),
            at.to_zone
        )));
    }
    report.batch = batch.iter().map(|f| f.record.clone()).collect();
    if !batch.is_empty() {
        return Ok(Some(batch));
    }
    report.status = if already == 0 {
        "nothing_to_promote"
    } else {
        "already_promoted"
    };
    report.message = if already == 0 {
        format!(
            "`{}` has no files in zone `{}`; nothing to promote.",
            opts.dataset, at.from_zone
        )
    } else {
        format!(
            "{} of `{}` {} already promoted to `{}` unchanged; nothing to do.",
            if already == 1 {
                "The only file".to_string()
            } else {
                format!("All {already} files")
            },
            opts.dataset,
            if already == 1 { "was" } else { "were" },
            at.to_zone
        )
    };
    Ok(None)
}

async fn sha256_object(at: &Places, f: &BatchObject) -> Result<String, PromoteError> {
    let mut h = Sha256::new();
    let fail = |e: object_store::Error| at.fail(&f.key, &e);
    read_ranges(at, &f.key, f.record.size, None, fail, |chunk| {
        h.update(chunk);
        Ok(())
    })
    .await?;
    Ok(format!("{:x}", h.finalize()))
}

/// Reads an object of `size` bytes in [`PART`]-sized ranged GETs, each only while the object's
/// ETag is still `e_tag` (when given), handing the bytes to `sink` in order. A single GET of a
/// large object would outlast the client's request timeout; ranges never do, and a change midway
/// is seen as one.
async fn read_ranges(
    at: &Places,
    key: &Key,
    size: u64,
    e_tag: Option<&String>,
    on_error: impl Fn(object_store::Error) -> PromoteError,
    mut sink: impl FnMut(&[u8]) -> Result<(), PromoteError>,
) -> Result<(), PromoteError> {
    let mut from = 0u64;
    loop {
        let to = (from + PART as u64).min(size);
        let opts = GetOptions {
            if_match: e_tag.cloned(),
            range: (to > from).then_some(object_store::GetRange::Bounded(from..to)),
            ..GetOptions::default()
        };
        let mut stream = at.store.get_opts(key, opts).await.map_err(&on_error)?.into_stream();
        while let Some(chunk) = stream.next().await {
            sink(&chunk.map_err(&on_error)?)?;
        }
        from = to;
        if from >= size {
            return Ok(());
        }
    }
}

/// A published object is never overwritten: an object already at a batch object's place in the
/// target (written by another tool, or by hand) must hold the same bytes (a promotion recovered
/// earlier), or the promotion stops before anything is staged.
async fn refuse_overwrite(at: &Places, records: &[SnapFile]) -> Result<(), PromoteError> {
    for rec in records {
        let to = at.target_key.child_path(&rec.path);
        let meta = match at.store.head(&to).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(at.fail(&to, &e)),
        };
        let mut h = Sha256::new();
        read_ranges(
            at,
            &to,
            meta.size,
            None,
            |e| at.fail(&to, &e),
            |chunk| {
                h.update(chunk);
                Ok(())
            },
        )
        .await?;
        if format!("{:x}", h.finalize()) != rec.sha256 {
            return Err(PromoteError::Refused(format!(
                "{} already exists with other content; lakegate never overwrites a published object \
                 (nothing was staged). Move it away, or promote the batch to another zone",
                at.shown(&to)
            )));
        }
    }
    Ok(())
}

/// The suite on exactly the batch's objects ([`super::gate`]).
async fn gate(
    project: &Project,
    suites: &[Suite],
    opts: &PromoteOptions,
    batch: &[BatchObject],
) -> Result<RunResult, PromoteError> {
    let files = batch.iter().map(|f| f.source.clone()).collect();
    super::gate(project, suites, opts, files)
        .await
        .map(|(_, result)| result)
}

/// A passed batch downloaded into a private local directory — each object only if its ETag is
/// still the snapshot's — with its checksums, every Parquet object decoded completely. The
/// directory is removed when this is dropped.
struct LocalCopies {
    dir: PathBuf,
    copies: Vec<PathBuf>,
    records: Vec<SnapFile>,
}

impl Drop for LocalCopies {
    fn drop(&mut self) {
        let _ = crate::fs_atomic::remove_dir_all(&self.dir);
    }
}

impl LocalCopies {
    /// The name of such a directory starts with this, then `PID-RUN_ID`.
    const PREFIX: &'static str = "lakegate-promote-";

    /// Removes the directories of promotions on this host whose process is gone (killed before
    /// it could remove its own): each may hold a whole batch.
    fn remove_leftovers() {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix(Self::PREFIX)
                .and_then(|rest| rest.split_once('-'))
                .filter(|(_, run)| is_run_id(run))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && process_running(pid) == Some(false)
                && e.file_type().is_ok_and(|t| t.is_dir())
                && let Err(err) = crate::fs_atomic::remove_dir_all(&e.path())
            {
                tracing::warn!(dir = %e.path().display(), error = %err, "Could not remove the downloads of an interrupted promotion.");
            }
        }
    }

    async fn download(at: &Places, run_id: &str, batch: &[BatchObject]) -> Result<Self, PromoteError> {
        let dir = std::env::temp_dir().join(format!("{}{}-{run_id}", Self::PREFIX, std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| PromoteError::io(&dir, &e))?;
        let mut out = Self {
            dir,
            copies: Vec::new(),
            records: Vec::new(),
        };
        for (i, f) in batch.iter().enumerate() {
            let copy = out.dir.join(format!("{i}"));
            let sha256 = download(at, f, &copy).await?;
            out.records.push(SnapFile {
                sha256,
                ..f.record.clone()
            });
            out.copies.push(copy);
        }
        // Every Parquet object decodes completely before anything is staged (as on disk).
        let parquet: Vec<PathBuf> = out.copies.iter().filter(|p| starts_with_par1(p)).cloned().collect();
        if let Err(mut e) = crate::engine::dataset::verify::decode_files(&parquet) {
            if let Some(i) = out.copies.iter().position(|c| *c == e.path) {
                e.path.clone_from(&batch[i].source);
            }
            return Err(PromoteError::Refused(format!(
                "the batch cannot be published: {e}; no reader could read that file"
            )));
        }
        Ok(out)
    }
}

/// Downloads an object if it is still the snapshot's, returning its SHA-256.
async fn download(at: &Places, f: &BatchObject, to: &Path) -> Result<String, PromoteError> {
    use std::io::Write;
    let changed = |e: object_store::Error| match e {
        object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. } => {
            PromoteError::Refused(format!(
                "{} changed or went away after it was checked (a producer still writing?); nothing was published",
                f.source.display()
            ))
        }
        e => at.fail(&f.key, &e),
    };
    let mut file = std::fs::File::create(to).map_err(|e| PromoteError::io(to, &e))?;
    let mut h = Sha256::new();
    read_ranges(at, &f.key, f.record.size, f.e_tag.as_ref(), changed, |chunk| {
        h.update(chunk);
        file.write_all(chunk).map_err(|e| PromoteError::io(to, &e))
    })
    .await?;
    Ok(format!("{:x}", h.finalize()))
}

trait ChildPath {
    fn child_path(&self, rel: &str) -> Key;
}

impl ChildPath for Key {
    /// A `/`-separated relative path below this key.
    fn child_path(&self, rel: &str) -> Key {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.clone(), |k, p| k.join(p))
    }
}

fn starts_with_par1(p: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"PAR1")
}

/// Uploads a local file, in parts when it is large.
async fn upload(at: &Places, from: &Path, to: &Key) -> Result<(), PromoteError> {
    use std::io::Read;
    let size = std::fs::metadata(from).map_err(|e| PromoteError::io(from, &e))?.len();
    let mut file = std::fs::File::open(from).map_err(|e| PromoteError::io(from, &e))?;
    if size <= PART as u64 {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| PromoteError::io(from, &e))?;
        at.store.put(to, bytes.into()).await.map_err(|e| at.fail(to, &e))?;
        return Ok(());
    }
    let upload = at.store.put_multipart(to).await.map_err(|e| at.fail(to, &e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    let mut buf = vec![0u8; PART];
    loop {
        let n = file.read(&mut buf).map_err(|e| PromoteError::io(from, &e))?;
        if n == 0 {
            break;
        }
        writer.wait_for_capacity(2).await.map_err(|e| at.fail(to, &e))?;
        writer.write(&buf[..n]);
    }
    writer.finish().await.map_err(|e| at.fail(to, &e))?;
    Ok(())
}

/// Removes every object below a prefix (best effort: what is left is removed by a later recovery).
async fn remove_prefix(at: &Places, prefix: &Key) {
    let Ok(objects) = at.store.list(Some(prefix)).try_collect::<Vec<_>>().await else {
        return;
    };
    // The intent last, so that a reader never sees a staged batch's files without it.
    let (intent, data): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| o.location.filename() == Some(INTENT));
    for o in data.into_iter().chain(intent) {
        if let Err(e) = at.store.delete(&o.location).await {
            tracing::warn!(object = %at.shown(&o.location), error = %e, "Could not remove a staged object; a later promotion removes it.");
        }
    }
}

fn manifest_of(
    at: &Places,
    opts: &PromoteOptions,
    run_id: &str,
    batch: &[BatchObject],
    staged: Vec<SnapFile>,
    result: &RunResult,
) -> Manifest {
    Manifest {
        lakegate: env!("CARGO_PKG_VERSION").into(),
        format_version: 1,
        run_id: run_id.to_string(),
        dataset: opts.dataset.clone(),
        from_zone: at.from_zone.clone(),
        to_zone: at.to_zone.clone(),
        mode: "batch".into(),
        promoted_at: opts.clock.wall(),
        files: staged.clone(),
        batch: staged,
        moved: opts.move_sources,
        sources: batch.iter().map(|f| f.source.clone()).collect(),
        rows: None,
        quarantine: None,
        quarantine_move: None,
        schema_version: opts
            .history
            .as_ref()
            .and_then(|s| s.catalog().latest(&opts.dataset))
            .map(|v| v.version),
        results: serde_json::to_value(result).unwrap_or_default(),
        holder: Some(Holder::here(opts.clock.wall())),
    }
}

/// Writes the intent (first: it names who stages, for recovery), uploads the staged copies,
/// commits the manifest as the next log entry, and rolls forward.
async fn publish(
    at: &Places,
    manifest: &Manifest,
    local: &LocalCopies,
    log: Vec<(u64, Option<Manifest>)>,
    report: &mut PromoteReport,
) -> Result<(), PromoteError> {
    // A log that can take no later entry refuses before anything is staged.
    next_number(at, &log)?;
    let staging = at.staging(&manifest.run_id);
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| PromoteError::Refused(e.to_string()))?;
    let intent = staging.clone().join(INTENT);
    let staged = async {
        at.store
            .put(&intent, json.clone().into())
            .await
            .map_err(|e| at.fail(&intent, &e))?;
        for (copy, rec) in local.copies.iter().zip(&manifest.files) {
            upload(at, copy, &staging.child_path(&rec.path)).await?;
        }
        Ok::<_, PromoteError>(())
    };
    if let Err(e) = staged.await {
        remove_prefix(at, &staging).await;
        return Err(e);
    }
    fault_point("after-upload");
    let n = commit(at, manifest, &json, log).await?;
    fault_point("after-commit");
    let kept = roll_forward(at, manifest).await.map_err(|e| {
        PromoteError::Refused(format!(
            "the batch is committed (log entry {}) but copying it into place stopped: {e}. \
             Readers do not see it yet; the next promotion or `lakegate promote {} --recover` finishes it",
            log_name(n),
            manifest.dataset
        ))
    })?;
    report.published = manifest.files.iter().map(|f| f.path.clone()).collect();
    report.status = "promoted";
    report.message = format!(
        "Published {} to {} (log entry {}).",
        crate::results::numbers::count_of(manifest.files.len() as u64, "file", "files"),
        report.target,
        log_name(n)
    );
    if manifest.moved {
        report
            .message
            .push_str(&super::sources_sentence(manifest.sources.len(), &kept));
    }
    report.kept_sources = kept;
    Ok(())
}

/// Creates the manifest as the next log entry (only if absent); returns its number. Losing the
/// race for a number, reads the log again and tries the next — unless the winner published one of
/// this batch's paths.
///
/// A write whose answer is lost (a dropped connection, a proxy's 5xx after forwarding it) may
/// still have created the entry, and a retry of it then finds the number taken — by itself. So a
/// taken number and a failed write are both read back: an entry with this run id is this
/// promotion's commit. When the store cannot say, the staged copies are kept for recovery, which
/// rolls them forward if the entry appears in the log and removes them if not.
async fn commit(
    at: &Places,
    manifest: &Manifest,
    json: &[u8],
    mut log: Vec<(u64, Option<Manifest>)>,
) -> Result<u64, PromoteError> {
    let staging = at.staging(&manifest.run_id);
    for _ in 0..COMMIT_TRIES {
        let n = match next_number(at, &log) {
            Ok(n) => n,
            Err(e) => {
                remove_prefix(at, &staging).await;
                return Err(e);
            }
        };
        let entry = at.log().join(log_name(n));
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let written = at.store.put_opts(&entry, json.to_vec().into(), create).await;
        if written.is_ok() {
            return Ok(n);
        }
        let owner = entry_run(at, &entry).await;
        if owner.as_deref() == Some(manifest.run_id.as_str()) {
            return Ok(n);
        }
        match written {
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) if owner.is_none() => {
                return Err(PromoteError::Refused(format!(
                    "the commit of this batch as {} was not confirmed: {}. Its staged copies are kept: \
                     the next promotion or `--recover` publishes them if the entry was written after all, \
                     and removes them if not",
                    at.shown(&entry),
                    remote::explain(&e.to_string())
                )));
            }
            // Another promotion's entry: this write certainly failed; take the next number.
            _ => {}
        }
        log = read_log(at).await?;
        if let Some(other) = published_meanwhile(&log, n, manifest) {
            remove_prefix(at, &staging).await;
            return Err(PromoteError::Refused(format!(
                "another promotion ({other}) published files of this batch while it was being checked; \
                 nothing more was published. Run the promotion again to see what is left"
            )));
        }
    }
    remove_prefix(at, &staging).await;
    Err(PromoteError::Refused(format!(
        "{} other promotions committed into {} while this one tried to; nothing was published. Run it again",
        COMMIT_TRIES,
        at.target.display()
    )))
}

/// The number after the newest log entry.
fn next_number(at: &Places, log: &[(u64, Option<Manifest>)]) -> Result<u64, PromoteError> {
    let Some((last, _)) = log.last() else { return Ok(1) };
    last.checked_add(1).ok_or_else(|| {
        PromoteError::Refused(format!(
            "the promotion log {} holds an entry numbered {last}, the largest there can be, so no \
             promotion can commit after it; remove that entry if lakegate did not write it",
            at.shown(&at.log())
        ))
    })
}

/// The run id of the log entry at `key`; `None` when it is absent, unreadable or not a manifest.
async fn entry_run(at: &Places, key: &Key) -> Option<String> {
    #[derive(Deserialize)]
    struct RunOf {
        run_id: String,
    }
    let bytes = at.store.get(key).await.ok()?.bytes().await.ok()?;
    serde_json::from_slice::<RunOf>(&bytes).ok().map(|r| r.run_id)
}

/// The run id of another promotion's log entry, numbered `from` or later, that published one of
/// this manifest's paths.
fn published_meanwhile(log: &[(u64, Option<Manifest>)], from: u64, manifest: &Manifest) -> Option<String> {
    log.iter()
        .filter(|(n, _)| *n >= from)
        .filter_map(|(_, m)| m.as_ref())
        .filter(|m| m.run_id != manifest.run_id)
        .find_map(|m| {
            m.batch
                .iter()
                .any(|b| manifest.batch.iter().any(|x| x.path == b.path))
                .then(|| m.run_id.clone())
        })
}

/// Copies a committed promotion's staged objects into place, removes `--move` sources whose ETag
/// is unchanged, then the staging prefix (its intent last). Idempotent: a copy whose staged object
/// is gone was made before (checked by its size). Returns the sources kept, each with why.
async fn roll_forward(at: &Places, manifest: &Manifest) -> Result<Vec<String>, PromoteError> {
    let staging = at.staging(&manifest.run_id);
    for (i, f) in manifest.files.iter().enumerate() {
        let from = staging.child_path(&f.path);
        let to = at.target_key.child_path(&f.path);
        match at.store.copy(&from, &to).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => match at.store.head(&to).await {
                // Copied before (by an earlier attempt, or another process finishing it).
                Ok(m) if m.size == f.size => {}
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {
                    return Err(PromoteError::Refused(format!(
                        "cannot finish promotion {}: {} is neither staged nor published; nothing more was \
                         changed (the log entry names it)",
                        manifest.run_id,
                        at.shown(&to)
                    )));
                }
                Err(e) => return Err(at.fail(&to, &e)),
            },
            Err(e) => return Err(at.fail(&to, &e)),
        }
        if i == 0 {
            fault_point("after-first-copy");
        }
    }
    let kept = if manifest.moved {
        remove_sources(at, manifest).await
    } else {
        Vec::new()
    };
    remove_prefix(at, &staging).await;
    Ok(kept)
}

/// Removes the sources of a published `--move` promotion whose ETag and size are still those
/// checked; returns those kept, each with why (one that is gone already is neither).
async fn remove_sources(at: &Places, manifest: &Manifest) -> Vec<String> {
    let mut kept = Vec::new();
    for (src, rec) in manifest.sources.iter().zip(&manifest.batch) {
        let Some(key) = at.source_key(src) else {
            kept.push(format!(
                "{} (outside the lake root; lakegate removes nothing there)",
                src.display()
            ));
            continue;
        };
        let why = match at.store.head(&key).await {
            Ok(m) if rec.e_tag.is_some() && m.e_tag == rec.e_tag && m.size == rec.size => {
                match at.store.delete(&key).await {
                    Ok(()) => continue,
                    Err(e) => format!(
                        "could not be removed: {}; the next promotion removes it",
                        remote::explain(&e.to_string())
                    ),
                }
            }
            Ok(_) => "changed after it was checked; it was not removed".to_string(),
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => format!(
                "could not be checked: {}; the next promotion removes it if unchanged",
                remote::explain(&e.to_string())
            ),
        };
        tracing::warn!(object = %src.display(), why = %why, "Not removing a source promoted with --move.");
        kept.push(format!("{} ({why})", src.display()));
    }
    kept
}

/// Rolls committed promotions forward and removes the staging of dead uncommitted ones; says what
/// it did (or, in a dry run, would do), and which runs it finished (or would finish).
async fn recover(
    at: &Places,
    dry_run: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<String>, Vec<String>), PromoteError> {
    let root = at.meta().join("staging");
    let listed = at
        .store
        .list_with_delimiter(Some(&root))
        .await
        .map_err(|e| at.fail(&root, &e))?;
    let runs: Vec<String> = listed
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .filter(|n| is_run_id(n))
        .collect();
    if runs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let log = read_log(at).await?;
    let mut done = Vec::new();
    let mut finished = Vec::new();
    let did = |d: &str, w: &str| if dry_run { format!("would {w}") } else { d.to_string() };
    for run in runs {
        let committed = log.iter().filter_map(|(_, m)| m.as_ref()).find(|m| m.run_id == run);
        if let Some(m) = committed {
            if !dry_run {
                roll_forward(at, m).await?;
            }
            finished.push(run.clone());
            let n = crate::checks::count_of(m.files.len() as u64, "file", "files");
            done.push(did(
                &format!("finished the interrupted promotion {run} ({n})"),
                &format!("finish the interrupted promotion {run} ({n})"),
            ));
            continue;
        }
        let intent = at.staging(&run).join(INTENT);
        let holder = match at.store.get(&intent).await {
            Ok(g) => g
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
                .and_then(|m| m.holder),
            Err(_) => None,
        };
        // Without an intent, the run id's time (UUIDv7) says when it started.
        let holder = holder.or_else(|| {
            started_of(&run).map(|started| Holder {
                host: String::new(),
                pid: 0,
                started,
            })
        });
        if holder.is_some_and(|h| h.gone(now)) {
            if !dry_run {
                remove_prefix(at, &at.staging(&run)).await;
            }
            done.push(did(
                &format!("removed the staging of an interrupted promotion that had not published ({run})"),
                &format!("remove the staging of an interrupted promotion that had not published ({run})"),
            ));
        }
    }
    Ok((done, finished))
}

/// When a UUIDv7 run id was made.
fn started_of(run_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let (secs, nanos) = uuid::Uuid::parse_str(run_id).ok()?.get_timestamp()?.to_unix();
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ids_time_is_when_it_started() {
        let id = uuid::Uuid::now_v7().to_string();
        let started = started_of(&id).unwrap();
        assert!((crate::clock::Clock::system().wall() - started).num_seconds().abs() < 5);
        assert!(started_of("not a uuid").is_none());
    }

    #[test]
    fn a_holder_on_this_host_is_gone_when_its_process_is() {
        let now = crate::clock::Clock::system().wall();
        let alive = Holder {
            host: host_name(),
            pid: 1,
            started: now,
        };
        assert!(!alive.gone(now), "pid 1 runs");
        let dead = Holder {
            pid: u32::MAX - 7,
            ..alive.clone()
        };
        assert!(dead.gone(now));
        let elsewhere = Holder {
            host: "another-host".into(),
            pid: 1,
            started: now - chrono::TimeDelta::hours(1),
        };
        assert!(!elsewhere.gone(now));
        assert!(elsewhere.gone(now + STALE_AFTER));
    }
}
