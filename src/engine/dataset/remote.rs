//! Lakes on S3-compatible object stores: a lake root `s3://bucket/prefix`, its store built from the
//! standard environment, and a dataset's files listed from it.
//!
//! Credentials, region and endpoint come only from the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, …: `object_store`'s `AmazonS3Builder::from_env`), never from a file. Requests
//! connect within 3 s and are retried twice within 5 s, so that a wrong endpoint, bucket or
//! credential ends the run within ~10 s with one sentence ([`explain`]), not a hang.
//!
//! An object's path is kept as the `PathBuf` `s3://bucket/key`, so messages name it as a person
//! would; [`is_remote`] tells such a path from a local one.
//!
//! A run reads each object at the version it listed ([`Pinned`]): every GET and HEAD of a listed
//! object carries `If-Match` with the listed ETag. An object replaced during a run then ends the run
//! with one sentence, instead of answers mixed from two versions (footers of one and rows of the
//! other, or the quote check of one and the scan of the other).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{
    BackoffConfig, ClientConfigKey, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, RetryConfig,
};
use url::Url;

use super::discover::{self, Discovered};
use crate::engine::error::DatasetError;
use crate::suite::DatasetSpec;

pub(crate) use crate::paths::OBJECT_SCHEME as SCHEME;
pub(crate) use crate::paths::is_remote;

/// How long listing a dataset may take before the run says the store cannot be reached.
const LIST_LIMIT: Duration = Duration::from_secs(10);

/// The bucket's URL (`s3://bucket`) and the key of an object path (`None` for a local path).
pub(crate) fn split(p: &Path) -> Option<(Url, object_store::path::Path)> {
    let s = p.to_str()?.strip_prefix(SCHEME)?;
    let (bucket, key) = s.split_once('/').unwrap_or((s, ""));
    let url = Url::parse(&format!("{SCHEME}{bucket}")).ok()?;
    Some((url, object_store::path::Path::from(key.trim_matches('/'))))
}

/// Where the store will find credentials, decided from the environment before any request: `Err`
/// with one sentence when it would fall back to the EC2 instance metadata service unasked.
///
/// `object_store` takes the first of: static keys (`AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`),
/// web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), the ECS container endpoint
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), EKS pod identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI`
/// and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), and otherwise the instance metadata service at
/// 169.254.169.254. Off EC2 that last one costs timeouts and retries before a vague error, so it is
/// used only when asked for: `AWS_EC2_METADATA_DISABLED=false` (the AWS SDKs' switch, set the other
/// way) or `AWS_METADATA_ENDPOINT` (object_store's address of the service). `AWS_SKIP_SIGNATURE=true`
/// (a public bucket) needs none. Profiles (`AWS_PROFILE`, `~/.aws/credentials`) are not read by
/// object_store 0.13: a profile alone is refused with how to export its keys.
pub(crate) fn credentials(var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let set = |k: &str| var(k).is_some_and(|v| !v.trim().is_empty());
    let is = |k: &str, want: &str| var(k).is_some_and(|v| v.trim().eq_ignore_ascii_case(want));
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (true, true) => return Ok(()),
        (true, false) => return Err("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both".into()),
        (false, true) => return Err("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both".into()),
        (false, false) => {}
    }
    if (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN"))
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || (set("AWS_CONTAINER_CREDENTIALS_FULL_URI") && set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        || is("AWS_SKIP_SIGNATURE", "true")
        || is("AWS_EC2_METADATA_DISABLED", "false")
        || set("AWS_METADATA_ENDPOINT")
    {
        return Ok(());
    }
    let profile = var("AWS_PROFILE")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            format!(
                "; AWS_PROFILE={p} is set, but profiles are not read: export its keys with \
                 `eval \"$(aws configure export-credentials --profile {p} --format env)\"`"
            )
        })
        .unwrap_or_default();
    Err(format!(
        "no AWS credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
         (and AWS_SESSION_TOKEN for temporary ones), or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN; \
         on EC2 with an instance role set AWS_EC2_METADATA_DISABLED=false to use it{profile}"
    ))
}

/// The S3 store of a bucket, configured from the environment.
pub(crate) fn store(bucket: &Url) -> Result<Arc<dyn ObjectStore>, String> {
    credentials(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
        .map_err(|e| format!("cannot use {bucket}: {e}"))?;
    AmazonS3Builder::from_env()
        .with_url(bucket.as_str())
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(5),
        })
        .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "3s")
        .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "30s")
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| format!("cannot use {bucket}: {}", explain(&e.to_string())))
}

/// A bucket's store that reads each object lakegate listed at the version it listed (its ETag).
#[derive(Debug)]
pub(crate) struct Pinned {
    inner: Arc<dyn ObjectStore>,
    etags: Mutex<HashMap<object_store::path::Path, String>>,
}

impl Pinned {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            etags: Mutex::default(),
        }
    }

    /// Reads of `key` from now on must find this ETag (a store that gives none pins nothing).
    pub(crate) fn pin(&self, key: &object_store::path::Path, etag: Option<&str>) {
        if let (Some(etag), Ok(mut etags)) = (etag, self.etags.lock()) {
            etags.insert(key.clone(), etag.to_string());
        }
    }

    fn pinned(&self, key: &object_store::path::Path) -> Option<String> {
        self.etags.lock().ok()?.get(key).cloned()
    }
}

impl std::fmt::Display for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

// Everything but reads goes to the bucket's store as it is.
#[async_trait::async_trait]
impl ObjectStore for Pinned {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        mut options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.if_match.is_none() {
            options.if_match = self.pinned(location);
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<object_store::path::Path>>,
    ) -> BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&object_store::path::Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&object_store::path::Path>,
        offset: &object_store::path::Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&object_store::path::Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// One sentence a person can act on, from an object store's error text.
// The store reads the AWS_* environment itself (never a secret here): the message names the
// endpoint it used.
#[allow(clippy::disallowed_methods)]
pub(crate) fn explain(e: &str) -> String {
    let has = |s: &str| e.contains(s);
    if has("Request precondition failure") {
        "the object changed after lakegate listed it (its ETag is another): it was replaced during the run; run again to check its new content".into()
    } else if has("Object at location") && has("not found") {
        "the object was removed after lakegate listed it; run again".into()
    } else if has("/latest/api/token") || has("/latest/meta-data") {
        format!(
            "cannot get credentials from the EC2 instance metadata service at {} \
             (AWS_EC2_METADATA_DISABLED=false asked for it: on EC2, check the instance's role; elsewhere set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead)",
            std::env::var("AWS_METADATA_ENDPOINT").unwrap_or_else(|_| "http://169.254.169.254".into())
        )
    } else if has("AssumeRoleWithWebIdentity") {
        "cannot get credentials by web identity (check AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and the network)"
            .into()
    } else if has("NoSuchBucket") {
        "the bucket does not exist (check the lake root's bucket name, and AWS_ENDPOINT_URL and AWS_REGION)".into()
    } else if has("InvalidAccessKeyId") || has("SignatureDoesNotMatch") || has("AccessDenied") || has("403") {
        "the store refused the credentials (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)"
            .into()
    } else if has("URL scheme is not allowed") || has("builder error") && has("http://") {
        "the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)".into()
    } else if has("redirect") {
        "the bucket is in another region (set AWS_REGION to the bucket's region)".into()
    } else if has("error sending request") || has("Connection refused") || has("connect") || has("timed out") {
        format!(
            "cannot reach the object store{} (check AWS_ENDPOINT_URL and the network)",
            std::env::var("AWS_ENDPOINT_URL")
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .map(|u| format!(" at {u}"))
                .unwrap_or_default()
        )
    } else {
        e.lines().next().unwrap_or(e).to_string()
    }
}

/// Finds a dataset's files under an object-store zone: every object below the dataset's path (or
/// the one object it names, or those its glob matches), without hidden and empty ones. Each is
/// pinned to its listed ETag.
pub(crate) async fn discover(store: &Pinned, zone_dir: &Path, spec: &DatasetSpec) -> Result<Discovered, DatasetError> {
    let dataset = spec.name.get_ref().clone();
    let pattern = spec.path.get_ref().trim_end_matches('/');
    // A glob is listed from its literal prefix and matched against each object's key below the
    // zone, as on disk (`*` stays within one directory level).
    let glob = crate::paths::is_glob(pattern);
    let literal = if glob {
        crate::paths::literal_prefix(pattern).trim_end_matches('/')
    } else {
        pattern
    };
    let root = if literal.is_empty() {
        zone_dir.to_path_buf()
    } else {
        zone_dir.join(literal)
    };
    let unreadable = |message: String| DatasetError::Listing {
        dataset: dataset.clone(),
        path: root.clone(),
        message,
    };
    let matcher = if glob {
        Some(crate::paths::matcher(pattern).map_err(&unreadable)?)
    } else {
        None
    };
    let (bucket, prefix) = split(&root).ok_or_else(|| unreadable("not an s3:// path".into()))?;
    let zone_key = split(zone_dir).map(|(_, k)| k).unwrap_or_default();
    // A promotion that finishes while the prefix is listed can leave part of its batch in the
    // listing and its intent gone by the time it is read: then the prefix is listed again.
    let mut attempts = 0;
    let objects = loop {
        let objects = list(store, &prefix, !glob).await.map_err(&unreadable)?;
        match without_staged(store, objects, &dataset).await {
            Some(objects) => break objects,
            None if attempts < 3 => attempts += 1,
            None => {
                return Err(unreadable(
                    "promotions kept publishing into it while it was listed; run again".into(),
                ));
            }
        }
    };
    if objects.is_empty() {
        return Err(DatasetError::Missing { dataset, path: root });
    }
    let single = objects.len() == 1 && objects[0].location == prefix;
    let base = if single {
        let parent: Vec<_> = prefix.parts().collect();
        object_store::path::Path::from_iter(parent[..parent.len().saturating_sub(1)].iter().cloned())
    } else {
        prefix.clone()
    };
    let below = |key: &object_store::path::Path, base: &object_store::path::Path| {
        key.prefix_match(base)
            .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/"))
    };
    let mut candidates = Vec::new();
    for o in objects {
        if let Some(m) = &matcher
            && !below(&o.location, &zone_key).is_some_and(|in_zone| m.is_match(in_zone))
        {
            continue;
        }
        let rel = below(&o.location, &base).unwrap_or_else(|| o.location.filename().unwrap_or_default().to_string());
        if rel.split('/').any(crate::paths::is_hidden) {
            continue;
        }
        if o.size == 0 {
            tracing::warn!(dataset = %dataset, file = %o.location, "Skipping an empty object.");
            continue;
        }
        store.pin(&o.location, o.e_tag.as_deref());
        let bucket_name = bucket.host_str().unwrap_or_default();
        candidates.push((
            PathBuf::from(format!("{SCHEME}{bucket_name}/{}", o.location)),
            rel,
            o.size,
        ));
    }
    candidates.sort_by(|a, b| a.1.cmp(&b.1));
    let root = if single {
        PathBuf::from(format!("{SCHEME}{}/{base}", bucket.host_str().unwrap_or_default()))
    } else {
        root
    };
    discover::finish_candidates(spec, root, candidates)
}

/// Every object below `prefix`, or (`one`) the object `prefix` names when nothing is below it,
/// within [`LIST_LIMIT`].
async fn list(
    store: &Pinned,
    prefix: &object_store::path::Path,
    one: bool,
) -> Result<Vec<object_store::ObjectMeta>, String> {
    let listing = async {
        let mut objects: Vec<object_store::ObjectMeta> = store.list(Some(prefix)).try_collect().await?;
        if objects.is_empty()
            && one
            && let Ok(it) = store.head(prefix).await
        {
            objects.push(it);
        }
        Ok::<_, object_store::Error>(objects)
    };
    match tokio::time::timeout(LIST_LIMIT, listing).await {
        Ok(Ok(o)) => Ok(o),
        Ok(Err(e)) => Err(explain(&e.to_string())),
        Err(_) => Err(format!(
            "the object store did not answer within {} s (check AWS_ENDPOINT_URL and the network)",
            LIST_LIMIT.as_secs()
        )),
    }
}

/// The listing without the objects of promotions being copied into place, so a reader never sees
/// half a batch: those named by a staging intent in the listing (`crate::layout`) — unless a log
/// entry of another run published them (the intent is then a dead promotion's, which can no
/// longer commit them). `None` when an intent in the listing is gone (or cannot be read) by the time
/// it is read: its promotion finished meanwhile, so the listing may hold part of its batch and must
/// be taken again.
async fn without_staged(
    store: &dyn ObjectStore,
    objects: Vec<object_store::ObjectMeta>,
    dataset: &str,
) -> Option<Vec<object_store::ObjectMeta>> {
    let keys = || objects.iter().map(|o| o.location.as_ref());
    let intents = crate::layout::staging_intents(keys());
    if intents.is_empty() {
        return Some(objects);
    }
    crate::fs_atomic::fault_point("reader-listed");
    let fetch = |key: String| async move {
        store
            .get(&object_store::path::Path::from(key.as_str()))
            .await?
            .bytes()
            .await
    };
    let mut published_by = std::collections::HashMap::new();
    for entry in crate::layout::log_entries(keys()) {
        let record = fetch(entry.clone())
            .await
            .ok()
            .and_then(|b| crate::layout::files_of_record(&entry, 3, &b));
        if let Some((run, files)) = record {
            published_by.extend(files.into_iter().map(|f| (f, run.clone())));
        }
    }
    let mut staged = std::collections::HashSet::new();
    for key in intents {
        let bytes = fetch(key.clone()).await.ok()?;
        if let Some((run, files)) = crate::layout::files_of_record(&key, 4, &bytes) {
            staged.extend(
                files
                    .into_iter()
                    .filter(|f| published_by.get(f).is_none_or(|r| *r == run)),
            );
        }
    }
    Some(
        objects
            .into_iter()
            .filter(|o| {
                let skip = staged.contains(o.location.as_ref());
                if skip {
                    tracing::warn!(dataset = %dataset, file = %o.location, "Leaving out an object of a promotion that is still being published.");
                }
                !skip
            })
            .collect(),
    )
}

/// An object's Parquet footer: its last 64 KiB in one ranged GET (a second one when the footer is
/// longer), checked like a local file's frame (`PAR1`, a length that fits) before it is decoded.
/// `size` is the object's listed size (a run reads the listed version).
pub(crate) async fn footer(
    store: &Arc<dyn ObjectStore>,
    key: &object_store::path::Path,
    size: u64,
) -> Option<datafusion::parquet::file::metadata::ParquetMetaData> {
    const TAIL: u64 = 64 * 1024;
    if size < 12 {
        return None;
    }
    let tail = store.get_range(key, size.saturating_sub(TAIL)..size).await.ok()?;
    let n = tail.len();
    if n < 8 || &tail[n - 4..] != b"PAR1" {
        return None;
    }
    let len = u64::from(u32::from_le_bytes(tail[n - 8..n - 4].try_into().ok()?));
    if len + 12 > size {
        return None;
    }
    let len_usize = usize::try_from(len).ok()?;
    let footer = if len_usize + 8 <= n {
        tail.slice(n - 8 - len_usize..n - 8)
    } else {
        store.get_range(key, size - 8 - len..size - 8).await.ok()?
    };
    datafusion::parquet::file::metadata::ParquetMetaDataReader::decode_metadata(&footer).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(vars: &[(&str, &str)]) -> Result<(), String> {
        credentials(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_string()))
    }

    #[test]
    fn the_instance_metadata_service_is_asked_only_when_chosen() {
        let none = creds(&[]).unwrap_err();
        assert!(
            none.starts_with("no AWS credentials in the environment")
                && none.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                && none.contains("AWS_EC2_METADATA_DISABLED=false"),
            "{none}"
        );
        // A region, an endpoint or a session token alone are no credentials.
        assert!(creds(&[("AWS_REGION", "eu-west-1"), ("AWS_SESSION_TOKEN", "t")]).is_err());
        assert!(creds(&[("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")]).is_ok());
        let half = creds(&[("AWS_ACCESS_KEY_ID", "k")]).unwrap_err();
        assert!(half.contains("AWS_SECRET_ACCESS_KEY is not"), "{half}");
        let half = creds(&[("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_ACCESS_KEY_ID", " ")]).unwrap_err();
        assert!(half.contains("AWS_ACCESS_KEY_ID is not"), "{half}");
        assert!(creds(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), ("AWS_ROLE_ARN", "arn")]).is_ok());
        assert!(creds(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")]).is_err());
        assert!(creds(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x")]).is_ok());
        assert!(
            creds(&[
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/t")
            ])
            .is_ok()
        );
        assert!(creds(&[("AWS_SKIP_SIGNATURE", "true")]).is_ok());
        assert!(creds(&[("AWS_EC2_METADATA_DISABLED", "false")]).is_ok());
        assert!(creds(&[("AWS_EC2_METADATA_DISABLED", "true")]).is_err());
        assert!(creds(&[("AWS_METADATA_ENDPOINT", "http://169.254.169.254")]).is_ok());
        let profile = creds(&[("AWS_PROFILE", "prod")]).unwrap_err();
        assert!(
            profile.contains("AWS_PROFILE=prod is set, but profiles are not read")
                && profile.contains("aws configure export-credentials --profile prod --format env"),
            "{profile}"
        );
    }

    #[test]
    fn object_paths_split_into_bucket_and_key() {
        let (u, k) = split(Path::new("s3://lake/demo/raw/orders")).unwrap();
        assert_eq!(u.as_str(), "s3://lake");
        assert_eq!(k.as_ref(), "demo/raw/orders");
        assert!(split(Path::new("/tmp/lake")).is_none());
        assert!(is_remote(&Path::new("s3://lake/demo").join("raw")));
        assert_eq!(
            Path::new("s3://lake/demo").join("raw").to_str(),
            Some("s3://lake/demo/raw")
        );
    }
}
