//! Where a data file's bytes are read from: the local disk or an object store.
//!
//! lakegate reads some bytes of a CSV or JSON file itself, before and after DataFusion does: the
//! first record (a CSV header's width and names, a JSON record's width), every byte (the stray-quote
//! check), and, after a read error, the file again to find the line it is about. Those parsers
//! (the `csv` crate, serde_json, the quote scanner) take a blocking [`Read`]; a [`Location`] gives
//! one for a local file (`std::fs`, on the path discovery found — its link and lake-root checks
//! stay where they are) and for an object (`object_store`, through the bucket's store registered
//! with the session, so reads carry the ETag the object was listed at). An object's reader waits
//! for its requests on the runtime: use it off the async threads ([`Location::off_runtime`]).
//!
//! - [`Location::whole`]: every byte from the start; an object in one streamed GET.
//! - [`Location::head`]: from the start, for a reader that stops early; an object in ranged GETs
//!   of 64 KiB, each next one twice as long (up to 8 MiB), so a header costs one small request.
//!
//! Both refuse an object that ends before the length its store announced (a truncated transfer
//! never passes for a shorter file).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;

use super::remote;

/// The first ranged GET of [`Location::head`].
const HEAD_WINDOW: u64 = 64 * 1024;
/// The longest ranged GET of [`Location::head`].
const MAX_WINDOW: u64 = 8 * 1024 * 1024;

/// A data file, on disk or in an object store.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    Local(PathBuf),
    Object {
        store: Arc<dyn ObjectStore>,
        key: object_store::path::Path,
    },
}

impl Location {
    /// The location of a dataset's file: a local path, or `s3://bucket/key` read through the store
    /// registered with `ctx` for its bucket.
    pub(crate) fn of(ctx: &datafusion::prelude::SessionContext, path: &Path) -> Result<Self, String> {
        let Some((bucket, key)) = remote::split(path) else {
            return Ok(Self::Local(path.to_path_buf()));
        };
        let url = datafusion::execution::object_store::ObjectStoreUrl::parse(bucket.as_str())
            .map_err(|e| crate::engine::error::clean(&e))?;
        let store = ctx
            .runtime_env()
            .object_store(&url)
            .map_err(|e| crate::engine::error::clean(&e))?;
        Ok(Self::Object { store, key })
    }

    /// Every byte from the start (blocking).
    pub(crate) fn whole(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Self::Local(p) => Ok(Box::new(std::fs::File::open(p)?)),
            Self::Object { store, key } => {
                let handle = Handle::current();
                let got = handle
                    .block_on(store.get_opts(key, GetOptions::default()))
                    .map_err(object_error)?;
                let expected = got.range.end - got.range.start;
                Ok(Box::new(Streamed {
                    handle,
                    stream: got.into_stream(),
                    chunk: Bytes::new(),
                    read: 0,
                    expected,
                }))
            }
        }
    }

    /// The bytes from the start, fetched as they are read (blocking): for a reader that stops
    /// after the first record.
    pub(crate) fn head(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Self::Local(p) => Ok(Box::new(std::fs::File::open(p)?)),
            Self::Object { store, key } => Ok(Box::new(Ranged {
                handle: Handle::current(),
                store: store.clone(),
                key: key.clone(),
                pos: 0,
                size: None,
                etag: None,
                window: HEAD_WINDOW,
                chunk: Bytes::new(),
            })),
        }
    }

    /// `f` of every byte, off the async threads; `None` when the file cannot be read (for the
    /// locators of a read error, which add to a message that stands without them).
    pub(crate) async fn read_whole<T: Send + 'static>(
        &self,
        f: impl FnOnce(Box<dyn Read + Send>) -> Option<T> + Send + 'static,
    ) -> Option<T> {
        self.off_runtime(|at| at.whole().ok().and_then(f)).await.ok().flatten()
    }

    /// An object's bytes for the parquet crate's readers (ranged GETs, blocking); `None` for a
    /// local file (read as a `File`). `size` is the object's listed size.
    pub(crate) fn chunks(&self, size: u64) -> Option<ObjectChunks> {
        match self {
            Self::Local(_) => None,
            Self::Object { store, key } => Some(ObjectChunks {
                handle: Handle::current(),
                store: store.clone(),
                key: key.clone(),
                size,
            }),
        }
    }

    /// Runs `f` on this location off the async threads (its readers block).
    pub(crate) async fn off_runtime<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> Result<T, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| e.to_string())
    }
}

/// An object store's error as an I/O error carrying one sentence.
fn object_error(e: object_store::Error) -> io::Error {
    io::Error::other(remote::explain(&e.to_string()))
}

fn truncated(read: u64, expected: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the object ended after {read} of its {expected} bytes (the transfer was cut short)"),
    )
}

/// Copies from the front of `chunk` into `buf`.
fn take(chunk: &mut Bytes, buf: &mut [u8]) -> usize {
    let n = buf.len().min(chunk.len());
    buf[..n].copy_from_slice(&chunk.split_to(n));
    n
}

/// An object's bytes from one streamed GET.
struct Streamed {
    handle: Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    read: u64,
    expected: u64,
}

impl Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.chunk.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => {
                    self.read += b.len() as u64;
                    self.chunk = b;
                }
                Some(Err(e)) => return Err(object_error(e)),
                None if self.read < self.expected => return Err(truncated(self.read, self.expected)),
                None => return Ok(0),
            }
        }
        Ok(take(&mut self.chunk, buf))
    }
}

/// An object read by the parquet crate: each range it asks for is one ranged GET, made from the
/// thread that asks (never an async one).
#[derive(Clone, Debug)]
pub(crate) struct ObjectChunks {
    handle: Handle,
    store: Arc<dyn ObjectStore>,
    key: object_store::path::Path,
    size: u64,
}

impl datafusion::parquet::file::reader::Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.size
    }
}

impl datafusion::parquet::file::reader::ChunkReader for ObjectChunks {
    type T = Ranged;

    fn get_read(&self, start: u64) -> datafusion::parquet::errors::Result<Ranged> {
        Ok(Ranged {
            handle: self.handle.clone(),
            store: self.store.clone(),
            key: self.key.clone(),
            pos: start,
            size: Some(self.size),
            etag: None,
            window: HEAD_WINDOW,
            chunk: Bytes::new(),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> datafusion::parquet::errors::Result<Bytes> {
        let end = start + length as u64;
        let got = self
            .handle
            .block_on(self.store.get_range(&self.key, start..end))
            .map_err(|e| datafusion::parquet::errors::ParquetError::External(Box::new(object_error(e))))?;
        if got.len() != length {
            return Err(datafusion::parquet::errors::ParquetError::External(Box::new(
                truncated(start + got.len() as u64, self.size),
            )));
        }
        Ok(got)
    }
}

/// An object's bytes from consecutive ranged GETs of growing length, all of the version the first
/// one found.
pub(crate) struct Ranged {
    handle: Handle,
    store: Arc<dyn ObjectStore>,
    key: object_store::path::Path,
    pos: u64,
    size: Option<u64>,
    etag: Option<String>,
    window: u64,
    chunk: Bytes,
}

impl Ranged {
    fn fetch(&mut self) -> io::Result<()> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(self.pos..self.pos + self.window)),
            if_match: self.etag.clone(),
            ..GetOptions::default()
        };
        let (store, key) = (self.store.clone(), self.key.clone());
        let (bytes, meta, range) = self
            .handle
            .block_on(async move {
                let got = store.get_opts(&key, options).await?;
                let (meta, range) = (got.meta.clone(), got.range.clone());
                Ok::<_, object_store::Error>((got.bytes().await?, meta, range))
            })
            .map_err(object_error)?;
        if (bytes.len() as u64) < range.end - range.start {
            return Err(truncated(self.pos + bytes.len() as u64, meta.size));
        }
        self.size = Some(meta.size);
        if self.etag.is_none() {
            self.etag = meta.e_tag;
        }
        self.pos += bytes.len() as u64;
        self.window = (self.window * 2).min(MAX_WINDOW);
        self.chunk = bytes;
        Ok(())
    }
}

impl Read for Ranged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.chunk.is_empty() {
            if self.size.is_some_and(|size| self.pos >= size) {
                return Ok(0);
            }
            self.fetch()?;
        }
        Ok(take(&mut self.chunk, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"abcdefghij\n"[i % 11]).collect()
    }

    async fn object(bytes: &[u8]) -> Location {
        let store = Arc::new(InMemory::new());
        let key = object_store::path::Path::from("lake/a.csv");
        store.put(&key, bytes.to_vec().into()).await.unwrap();
        Location::Object { store, key }
    }

    fn read_all(mut r: Box<dyn Read + Send>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        // Small reads: a reader's chunks must come out whole and in order whatever the caller asks.
        let mut buf = [0u8; 1000];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_objects_readers_give_its_bytes_in_order() {
        // Several windows of the ranged reader: 64 KiB, 128 KiB, 256 KiB, ...
        let bytes = text(700_000);
        let at = object(&bytes).await;
        let (whole, head) = at
            .off_runtime(|at| (read_all(at.whole().unwrap()), read_all(at.head().unwrap())))
            .await
            .map(|(w, h)| (w.unwrap(), h.unwrap()))
            .unwrap();
        assert!(whole == bytes && head == bytes);
        let small = object(b"id\n1\n").await;
        let got = small.off_runtime(|at| read_all(at.head().unwrap())).await.unwrap();
        assert_eq!(got.unwrap(), b"id\n1\n");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_object_replaced_between_two_ranged_reads_is_an_error_not_a_mix() {
        let at = object(&text(200_000)).await;
        let Location::Object { store, key } = at.clone() else {
            unreachable!()
        };
        let handle = Handle::current();
        let got = at
            .off_runtime(move |at| {
                let mut r = at.head().unwrap();
                let mut first = vec![0u8; 1000];
                r.read_exact(&mut first).unwrap();
                // The rest of the first window is buffered; the next read needs the second one.
                let mut rest = vec![0u8; 64 * 1024];
                let _ = r.read_exact(&mut rest[..64 * 1024 - 1000]);
                handle.block_on(store.put(&key, text(300_000).into())).unwrap();
                r.read(&mut rest).unwrap_err().to_string()
            })
            .await
            .unwrap();
        assert!(got.contains("the object changed after lakegate listed it"), "{got}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stream_that_ends_before_its_announced_length_is_an_error() {
        let cut = Streamed {
            handle: Handle::current(),
            stream: futures::stream::iter(vec![Ok(Bytes::from_static(b"id,v\n1,"))]).boxed(),
            chunk: Bytes::new(),
            read: 0,
            expected: 100,
        };
        let got = tokio::task::spawn_blocking(move || read_all(Box::new(cut)))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(got.kind(), io::ErrorKind::UnexpectedEof);
        assert!(got.to_string().contains("ended after 7 of its 100 bytes"), "{got}");
    }
}
