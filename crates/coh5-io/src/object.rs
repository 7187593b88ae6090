//! `ObjectStoreSource`: a byte source over any `object_store::ObjectStore` (S3, GCS, Azure, HTTP,
//! or a test store) and one object path. Each range is one ranged GET (more when retried).
//! Coalescing of nearby ranges is deliberately left to the layers above (`BlockCache`, the range
//! planner) so that `Stats` counts exactly the round trips issued.
//!
//! Robustness, in one place:
//! - **No HEAD.** The size comes from the `Content-Range` of a first GET of the object's first
//!   MiB. The next MiBs of the first read ([`DEFAULT_FIRST_READ`] unless configured) are asked
//!   for in the same round trip, in
//!   parallel GETs, before the size is known; the bytes are kept for the reads they cover (an
//!   HDF5 open reads exactly them next). A HEAD is made only when the first GET cannot answer
//!   (an empty object, a server without range support).
//! - **Pinned version.** The first response's ETag (or, without one, its Last-Modified and
//!   size) is recorded; every later GET carries `If-Match` (or `If-Unmodified-Since`) and every
//!   response is compared with it, so an object replaced mid-read fails with
//!   [`Error::ObjectChanged`] instead of mixing two versions.
//! - **Retries.** Transient failures (5xx, 429, 408, resets, timeouts, stalls, bodies ending
//!   early) are retried under a [`RetryPolicy`]; a retry resumes after the bytes already
//!   received. When the policy gives up, [`Error::RetriesExhausted`] names the location, range,
//!   attempts and last cause.

use std::ops::Range;
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::{select, Either};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::sync::OnceCell;
use tokio::time::timeout;

use crate::error::check_range;
use crate::retry::{is_transient, RetryPolicy};
use crate::{ByteSource, Error, Result, Stats};

/// Bytes of the GETs that learn the object's size: coh5's open reads the first 4 MiB anyway
/// (see `coh5::meta::FIRST_READ`), so learning the size costs no extra round trip.
/// [`crate::SourceOptions::first_read`] changes it.
pub const DEFAULT_FIRST_READ: u64 = 4 << 20;
/// Least time the speculative parts of the first read are waited for after its first part.
const MIN_GRACE: Duration = Duration::from_millis(50);
/// The first read goes out as parallel GETs of at most this size: at 50 MB/s per connection a
/// MiB arrives in about 20 ms, where 4 MiB over one connection would take 80 ms.
pub const FIRST_READ_PART: u64 = 1 << 20;
/// A shorter first read is still cut into this many parallel GETs (of at least
/// [`MIN_FIRST_READ_PART`]): its transfer time is a quarter of one connection's.
const FIRST_READ_PARTS: u64 = 4;
/// Parts of the first read are not made smaller than this (a GET this size is mostly latency).
const MIN_FIRST_READ_PART: u64 = 256 << 10;

/// Size of each parallel GET of a first read of `first_read` bytes.
pub fn first_read_part(first_read: u64) -> u64 {
    first_read
        .div_ceil(FIRST_READ_PARTS)
        .clamp(MIN_FIRST_READ_PART, FIRST_READ_PART)
        .min(first_read)
}

/// One object in an object store.
#[derive(Debug)]
pub struct ObjectStoreSource {
    store: Arc<dyn ObjectStore>,
    path: Path,
    location: String,
    size: OnceCell<u64>,
    /// The version every read is pinned to: the first response's metadata.
    version: OnceLock<ObjectMeta>,
    first_read: u64,
    /// Bytes `0..n` fetched while learning the size, until reads have taken them all.
    prefetched: Mutex<Option<Prefetched>>,
    policy: RetryPolicy,
    stats: Stats,
}

impl ObjectStoreSource {
    /// The object at `path` in `store`; `location` (usually the URL) names it in errors.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, location: impl Into<String>) -> Self {
        Self {
            store,
            path,
            location: location.into(),
            size: OnceCell::new(),
            version: OnceLock::new(),
            first_read: DEFAULT_FIRST_READ,
            prefetched: Mutex::new(None),
            policy: RetryPolicy::default(),
            stats: Stats::new(),
        }
    }

    /// Supplies the size when it is already known (from a listing, a manifest), saving the
    /// first request.
    pub fn with_size(self, size: u64) -> Self {
        Self {
            size: OnceCell::new_with(Some(size)),
            ..self
        }
    }

    /// How many leading bytes the size-learning GET fetches (0: learn the size with a HEAD).
    pub fn with_first_read(self, bytes: u64) -> Self {
        Self {
            first_read: bytes,
            ..self
        }
    }

    /// Retry and stall limits (default [`RetryPolicy::default`]).
    pub fn with_retry(self, policy: RetryPolicy) -> Self {
        Self { policy, ..self }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object's path within the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ETag every read is pinned to, once a response has named one.
    pub fn etag(&self) -> Option<&str> {
        self.version.get().and_then(|m| m.e_tag.as_deref())
    }

    /// Pins the first version seen and checks every later response against it.
    fn check_version(&self, meta: &ObjectMeta, range: Option<&Range<u64>>) -> Result<()> {
        let pinned = self.version.get_or_init(|| meta.clone());
        let changed = |detail: String| {
            Err(Error::ObjectChanged {
                location: self.location.clone(),
                range: range.cloned(),
                detail,
            })
        };
        match (&pinned.e_tag, &meta.e_tag) {
            (Some(was), Some(now)) if was != now => {
                return changed(format!("ETag is now {now}, was {was}"))
            }
            (None, _) if pinned.last_modified != meta.last_modified => {
                return changed(format!(
                    "Last-Modified is now {}, was {}",
                    meta.last_modified, pinned.last_modified
                ))
            }
            _ => {}
        }
        if pinned.size != meta.size {
            return changed(format!("size is now {}, was {}", meta.size, pinned.size));
        }
        Ok(())
    }

    /// Wraps a backend error; a failed precondition, or a pinned object that vanished, means
    /// the object changed.
    fn backend_error(&self, range: Option<Range<u64>>, e: object_store::Error) -> Error {
        let pinned = self.version.get();
        match (&e, pinned) {
            (object_store::Error::Precondition { .. }, Some(v)) => Error::ObjectChanged {
                location: self.location.clone(),
                range,
                detail: format!(
                    "no longer matches {}",
                    v.e_tag
                        .clone()
                        .unwrap_or_else(|| format!("Last-Modified {}", v.last_modified))
                ),
            },
            (object_store::Error::NotFound { .. }, Some(_)) => Error::ObjectChanged {
                location: self.location.clone(),
                range,
                detail: "the object was deleted".into(),
            },
            _ => Error::object_store(&self.location, range, e),
        }
    }

    /// Either the final error of a read that started at `started` and has made `attempt`
    /// attempts, or `Ok` after sleeping the backoff before the next attempt.
    async fn retry_or_fail(
        &self,
        error: Error,
        attempt: u32,
        started: Instant,
        range: &Range<u64>,
    ) -> Result<()> {
        if !is_transient(&error) {
            return Err(error);
        }
        let pause = self.policy.backoff(attempt);
        if attempt >= self.policy.max_attempts || started.elapsed() + pause >= self.policy.budget {
            return Err(Error::RetriesExhausted {
                location: self.location.clone(),
                range: range.clone(),
                attempts: attempt,
                elapsed: started.elapsed(),
                last: Arc::new(error),
            });
        }
        tracing::debug!(location = %self.location, ?range, attempt, %error, ?pause, "retrying");
        tokio::time::sleep(pause).await;
        Ok(())
    }

    /// Fetches `range` with retries; a retry asks only for the bytes still missing. With the
    /// size unknown, `range` may end past the object and is clipped to it.
    async fn fetch(&self, mut range: Range<u64>) -> Result<Bytes> {
        let started = Instant::now();
        let mut buf = BytesMut::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let want = range.start + buf.len() as u64..range.end;
            let t0 = Instant::now();
            let before = buf.len();
            let outcome = self.attempt(want.clone(), &mut buf).await;
            let got = (buf.len() - before) as u64;
            let error = outcome.as_ref().err().map(ToString::to_string);
            self.stats
                .request(&self.location, want.clone(), t0, got, attempt, error);
            if let Some(v) = self.version.get() {
                range.end = range.end.min(v.size);
            }
            match outcome {
                Ok(()) => return Ok(buf.freeze()),
                Err(e) => self.retry_or_fail(e, attempt, started, &range).await?,
            }
        }
    }

    /// One GET of `want`, appending the body to `buf`.
    async fn attempt(&self, want: Range<u64>, buf: &mut BytesMut) -> Result<()> {
        let pinned = self.version.get();
        let options = GetOptions {
            range: Some(GetRange::Bounded(want.clone())),
            if_match: pinned.and_then(|v| v.e_tag.clone()),
            if_unmodified_since: pinned
                .filter(|v| v.e_tag.is_none())
                .map(|v| v.last_modified),
            ..GetOptions::default()
        };
        let stall = self.policy.stall_timeout;
        let stalled = |got: u64| Error::Stalled {
            location: self.location.clone(),
            range: want.clone(),
            got,
            after: stall,
        };
        let result = timeout(stall, self.store.get_opts(&self.path, options))
            .await
            .map_err(|_| stalled(0))?
            .map_err(|e| self.backend_error(Some(want.clone()), e))?;
        self.check_version(&result.meta, Some(&want))?;
        // object_store has checked that the served range is the requested one (clipped to the
        // object's end).
        let expect = result.range.end.saturating_sub(result.range.start);
        // The body's frames are appended without growing the buffer again and again.
        buf.reserve(usize::try_from(expect).unwrap_or(usize::MAX));
        let mut stream = result.into_stream();
        let mut got = 0u64;
        loop {
            let next = timeout(stall, stream.next())
                .await
                .map_err(|_| stalled(got))?;
            match next {
                None => break,
                Some(Err(e)) => return Err(self.backend_error(Some(want.clone()), e)),
                Some(Ok(chunk)) => {
                    got += chunk.len() as u64;
                    if got > expect {
                        return Err(Error::ShortRead {
                            location: self.location.clone(),
                            range: want,
                            got,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        if got < expect {
            return Err(Error::ShortRead {
                location: self.location.clone(),
                range: want,
                got,
            });
        }
        Ok(())
    }

    /// The object's metadata from a HEAD, with retries.
    async fn head(&self) -> Result<ObjectMeta> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let t0 = Instant::now();
            let outcome =
                match timeout(self.policy.stall_timeout, self.store.head(&self.path)).await {
                    Err(_) => Err(Error::Stalled {
                        location: self.location.clone(),
                        range: 0..0,
                        got: 0,
                        after: self.policy.stall_timeout,
                    }),
                    Ok(r) => r.map_err(|e| self.backend_error(None, e)),
                };
            let error = outcome.as_ref().err().map(ToString::to_string);
            self.stats
                .request(&self.location, 0..0, t0, 0, attempt, error);
            match outcome {
                Ok(meta) => {
                    self.check_version(&meta, None)?;
                    return Ok(meta);
                }
                Err(e) => self.retry_or_fail(e, attempt, started, &(0..0)).await?,
            }
        }
    }

    /// Learns the size from a GET of the first bytes, keeping them with the following parts
    /// of the first read; falls back to a HEAD when that GET is refused for reasons other than
    /// the object's absence or a lost budget.
    async fn learn_size(&self) -> Result<u64> {
        if self.first_read > 0 {
            let part = first_read_part(self.first_read);
            let ranges: Vec<Range<u64>> = (1..self.first_read.div_ceil(part))
                .map(|k| k * part..((k + 1) * part).min(self.first_read))
                .collect();
            // Each speculative part lands in its slot, so the ones in by the deadline are kept.
            let slots: Vec<OnceLock<Bytes>> = ranges.iter().map(|_| OnceLock::new()).collect();
            let later = ranges.into_iter().zip(&slots).map(|(r, slot)| async move {
                if let Some(bytes) = self.speculate(r).await {
                    let _ = slot.set(bytes);
                }
            });
            let t0 = Instant::now();
            let mut first = pin!(self.fetch(0..part));
            let mut later = pin!(futures::future::join_all(later));
            let first = match select(first.as_mut(), later.as_mut()).await {
                Either::Left((Ok(first), later)) => {
                    // The parts went out together: one not in after about as long again is
                    // slow or stalled, and reading its bytes when needed beats holding the open
                    // back until its stall timeout.
                    let grace = t0.elapsed().max(MIN_GRACE);
                    let _ = timeout(grace, later).await;
                    Ok(first)
                }
                Either::Left((Err(e), _)) => Err(e),
                Either::Right((_, first)) => first.await,
            };
            match first {
                Ok(bytes) => {
                    if let Some(meta) = self.version.get() {
                        let bytes = joined(bytes, slots.iter().map(OnceLock::get), part);
                        *self.prefetched.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Prefetched { bytes, served: 0 });
                        return Ok(meta.size);
                    }
                }
                Err(
                    e @ (Error::NotFound { .. }
                    | Error::RetriesExhausted { .. }
                    | Error::ObjectChanged { .. }),
                ) => return Err(e),
                Err(e @ Error::ObjectStore { .. }) if refused(&e) => return Err(e),
                Err(e) => {
                    tracing::debug!(location = %self.location, %e, "first GET refused; HEAD")
                }
            }
        }
        Ok(self.head().await?.size)
    }

    /// One attempt at `range` while the object's size is unknown. Any failure (a range wholly
    /// past the end among them) only leaves these bytes to be fetched when they are read.
    async fn speculate(&self, range: Range<u64>) -> Option<Bytes> {
        let mut report = Report {
            source: self,
            range: range.clone(),
            t0: Instant::now(),
            bytes: 0,
            error: Some("cancelled: the open stopped waiting for it".into()),
        };
        let mut buf = BytesMut::new();
        let outcome = self.attempt(range, &mut buf).await;
        report.bytes = buf.len() as u64;
        report.error = outcome.as_ref().err().map(ToString::to_string);
        outcome.ok().map(|()| buf.freeze())
    }

    /// The prefetched bytes at the start of `range`, if any. They are released once reads have
    /// taken as many bytes as they hold, or when a read starts past them.
    fn take_prefetched(&self, range: &Range<u64>) -> Option<Bytes> {
        let mut slot = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        let p = slot.as_mut()?;
        let len = p.bytes.len() as u64;
        if range.start >= len {
            *slot = None;
            return None;
        }
        let end = range.end.min(len);
        // Within the buffer, hence within usize.
        let bytes = p.bytes.slice(range.start as usize..end as usize);
        p.served += end - range.start;
        if p.served >= len {
            *slot = None;
        }
        Some(bytes)
    }
}

/// The first part of the first read followed by the later parts that continue it without a
/// gap: each part before them full (`part` bytes), none missing.
fn joined<'a>(first: Bytes, later: impl Iterator<Item = Option<&'a Bytes>>, part: u64) -> Bytes {
    let mut whole = BytesMut::from(first.as_ref());
    let mut last = first.len() as u64;
    for b in later {
        match b {
            Some(b) if last == part => {
                last = b.len() as u64;
                whole.extend_from_slice(b);
            }
            _ => break,
        }
    }
    whole.freeze()
}

/// A speculative request's entry in the stats and the trace, made when it is dropped: whether it
/// finished or the open stopped waiting for it, a request that went out is counted.
struct Report<'a> {
    source: &'a ObjectStoreSource,
    range: Range<u64>,
    t0: Instant,
    bytes: u64,
    error: Option<String>,
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        let s = self.source;
        s.stats.request(
            &s.location,
            self.range.clone(),
            self.t0,
            self.bytes,
            1,
            self.error.take(),
        );
    }
}

/// The first bytes of the object, fetched with its size.
#[derive(Debug)]
struct Prefetched {
    bytes: Bytes,
    /// Bytes handed to reads so far.
    served: u64,
}

/// Whether the store refused the credentials (a HEAD would be refused the same way).
fn refused(e: &Error) -> bool {
    matches!(e, Error::ObjectStore { source, .. } if matches!(
        source.as_ref(),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ))
}

/// [`ByteSource::read_ahead`] of object stores.
pub const REMOTE_READ_AHEAD: u64 = 96 << 20;

#[async_trait::async_trait]
impl ByteSource for ObjectStoreSource {
    fn location(&self) -> &str {
        &self.location
    }

    async fn size(&self) -> Result<u64> {
        self.size
            .get_or_try_init(|| self.learn_size())
            .await
            .copied()
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        // Knowing the size first turns a past-the-end range into a precise error instead of a
        // backend-specific 416 or a silently clipped body.
        let size = self.size().await?;
        check_range(&self.location, &range, size)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let data = match self.take_prefetched(&range) {
            Some(head) if head.len() as u64 == range.end - range.start => head,
            Some(head) => {
                let rest = self
                    .fetch(range.start + head.len() as u64..range.end)
                    .await?;
                let mut whole = BytesMut::with_capacity(head.len() + rest.len());
                whole.extend_from_slice(&head);
                whole.extend_from_slice(&rest);
                whole.freeze()
            }
            None => self.fetch(range.clone()).await?,
        };
        if data.len() as u64 != range.end - range.start {
            return Err(Error::ShortRead {
                location: self.location.clone(),
                range,
                got: data.len() as u64,
            });
        }
        self.stats.delivered(&self.location, range);
        Ok(data)
    }

    /// 16 connections at ~50 MB/s each across a 100 ms round trip hold about 80 MB in flight.
    fn read_ahead(&self) -> u64 {
        REMOTE_READ_AHEAD
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    async fn store_with(path: &str, data: &'static [u8]) -> Arc<dyn ObjectStore> {
        let store = InMemory::new();
        store
            .put(&Path::from(path), Bytes::from_static(data).into())
            .await
            .unwrap();
        Arc::new(store)
    }

    #[tokio::test]
    async fn size_comes_from_the_first_get_whose_bytes_serve_the_first_read() {
        let store = store_with("dir/a.h5", b"abcdefghij").await;
        let src = ObjectStoreSource::new(store, Path::from("dir/a.h5"), "memory:///dir/a.h5");
        assert_eq!(src.size().await.unwrap(), 10);
        assert_eq!(src.size().await.unwrap(), 10);
        assert!(src.etag().is_some(), "the first response pins the version");
        assert_eq!(src.read_range(1..4).await.unwrap(), &b"bcd"[..]);
        assert_eq!(src.read_range(10..10).await.unwrap(), Bytes::new());
        let got = src.read_ranges(&[8..10, 0..2]).await.unwrap();
        assert_eq!(got, vec![&b"ij"[..], &b"ab"[..]]);
        let s = src.stats().snapshot();
        assert_eq!(
            (s.requests, s.bytes),
            (DEFAULT_FIRST_READ / FIRST_READ_PART, 10),
            "one 10-byte GET and the other parts past the end, refused; the reads need no more"
        );
        assert_eq!((s.retries, s.used), (0, 6), "distinct bytes 0..4 and 8..10");
    }

    #[tokio::test]
    async fn the_first_read_arrives_in_parallel_parts_that_serve_later_reads() {
        // The last part of the first read is short: the object ends inside it.
        let parts = DEFAULT_FIRST_READ / FIRST_READ_PART;
        let data: &'static [u8] = Vec::leak(
            (0..((parts - 1) * FIRST_READ_PART + 5))
                .map(|i| i as u8)
                .collect(),
        );
        let store = store_with("a.h5", data).await;
        let src = ObjectStoreSource::new(store, Path::from("a.h5"), "memory:///a.h5");
        assert_eq!(src.size().await.unwrap(), data.len() as u64);
        let got = src
            .read_ranges(&[
                0..FIRST_READ_PART + 7,
                FIRST_READ_PART + 7..data.len() as u64,
            ])
            .await
            .unwrap();
        assert_eq!([&got[0][..], &got[1][..]].concat(), data);
        let s = src.stats().snapshot();
        assert_eq!(
            (s.requests, s.bytes),
            (parts, data.len() as u64),
            "the parts sent at once; nothing fetched twice"
        );
        assert!(
            src.prefetched.lock().unwrap().is_none(),
            "released once every byte was served"
        );
        // Later reads go to the store.
        assert_eq!(src.read_range(3..5).await.unwrap(), &data[3..5]);
        assert_eq!(src.stats().snapshot().requests, parts + 1);
    }

    /// An in-memory store whose first GET of a range starting at `stall_from` or later hangs.
    #[derive(Debug)]
    struct StallOnce {
        inner: InMemory,
        stall_from: u64,
        stalled: std::sync::atomic::AtomicBool,
    }

    impl std::fmt::Display for StallOnce {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "StallOnce")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for StallOnce {
        async fn put_opts(
            &self,
            location: &Path,
            payload: object_store::PutPayload,
            opts: object_store::PutOptions,
        ) -> object_store::Result<object_store::PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }

        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: object_store::PutMultipartOptions,
        ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }

        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<object_store::GetResult> {
            let late =
                matches!(&options.range, Some(GetRange::Bounded(r)) if r.start >= self.stall_from);
            if late && !self.stalled.swap(true, std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            self.inner.get_opts(location, options).await
        }

        fn delete_stream(
            &self,
            locations: futures::stream::BoxStream<'static, object_store::Result<Path>>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }

        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }

        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<object_store::ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }

        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: object_store::CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    #[tokio::test]
    async fn a_stalled_part_of_the_first_read_does_not_hold_the_open() {
        let parts = DEFAULT_FIRST_READ / FIRST_READ_PART;
        let data: Vec<u8> = (0..(parts * FIRST_READ_PART + 9))
            .map(|i| (i % 251) as u8)
            .collect();
        let inner = InMemory::new();
        inner
            .put(&Path::from("a.h5"), Bytes::from(data.clone()).into())
            .await
            .unwrap();
        let store = Arc::new(StallOnce {
            inner,
            stall_from: (parts - 1) * FIRST_READ_PART,
            stalled: Default::default(),
        });
        let src = ObjectStoreSource::new(store, Path::from("a.h5"), "memory:///a.h5");
        let t0 = Instant::now();
        assert_eq!(src.size().await.unwrap(), data.len() as u64);
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert_eq!(
            src.stats().snapshot().requests,
            parts,
            "the cancelled part is counted too"
        );
        let kept = src.prefetched.lock().unwrap().as_ref().unwrap().bytes.len() as u64;
        assert_eq!(
            kept,
            (parts - 1) * FIRST_READ_PART,
            "the parts before the stalled one"
        );
        // The rest is fetched when read, and the read is whole.
        let all = src.read_range(0..data.len() as u64).await.unwrap();
        assert_eq!(&all[..], &data[..]);
    }

    #[tokio::test]
    async fn first_read_zero_uses_a_head_and_empty_objects_work() {
        let store = store_with("a.h5", b"abc").await;
        let src =
            ObjectStoreSource::new(store, Path::from("a.h5"), "memory:///a.h5").with_first_read(0);
        assert_eq!(src.size().await.unwrap(), 3);
        assert_eq!(src.stats().snapshot().bytes, 0);
        let store = store_with("e.h5", b"").await;
        let src = ObjectStoreSource::new(store, Path::from("e.h5"), "memory:///e.h5");
        assert_eq!(src.size().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_replaced_object_is_a_changed_error() {
        let store = store_with("a.h5", b"abcdefghij").await;
        let src = ObjectStoreSource::new(store.clone(), Path::from("a.h5"), "memory:///a.h5")
            .with_first_read(4);
        assert_eq!(src.read_range(0..2).await.unwrap(), &b"ab"[..]);
        store
            .put(
                &Path::from("a.h5"),
                Bytes::from_static(b"ABCDEFGHIJ").into(),
            )
            .await
            .unwrap();
        let e = src.read_range(5..8).await.unwrap_err();
        assert!(matches!(e, Error::ObjectChanged { .. }), "{e}");
        assert!(e.to_string().contains("object changed during read"), "{e}");
        assert_eq!(src.stats().snapshot().retries, 0, "not retried");
        store.delete(&Path::from("a.h5")).await.unwrap();
        let e = src.read_range(5..8).await.unwrap_err();
        assert!(e.to_string().contains("deleted"), "{e}");
    }

    #[tokio::test]
    async fn known_size_skips_the_first_request_and_bounds_are_checked() {
        let store = store_with("a.h5", b"abcdefghij").await;
        let src = ObjectStoreSource::new(store, Path::from("a.h5"), "memory:///a.h5").with_size(10);
        let e = src.read_range(5..11).await.unwrap_err();
        assert!(matches!(e, Error::OutOfBounds { size: 10, .. }), "{e}");
        assert!(e.to_string().contains("memory:///a.h5"), "{e}");
        assert_eq!(src.stats().snapshot().requests, 0);
    }

    #[tokio::test]
    async fn missing_object_is_not_found() {
        let store = store_with("a.h5", b"x").await;
        let src = ObjectStoreSource::new(store, Path::from("b.h5"), "memory:///b.h5");
        let e = src.read_range(0..1).await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        assert!(
            e.to_string().starts_with("memory:///b.h5: not found"),
            "{e}"
        );
    }
}
