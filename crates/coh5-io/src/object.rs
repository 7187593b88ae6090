//! `ObjectStoreSource`: a byte source over any `object_store::ObjectStore` (S3, GCS, Azure, HTTP,
//! or a test store) and one object path. Each range is one ranged GET; the size comes from one
//! HEAD, cached. Coalescing of nearby ranges is deliberately left to the layers above
//! (`BlockCache`, the range planner) so that `Stats` counts exactly the round trips issued.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::OnceCell;

use crate::error::check_range;
use crate::{ByteSource, Error, Result, Stats};

/// One object in an object store.
#[derive(Debug)]
pub struct ObjectStoreSource {
    store: Arc<dyn ObjectStore>,
    path: Path,
    location: String,
    size: OnceCell<u64>,
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
            stats: Stats::new(),
        }
    }

    /// Supplies the size when it is already known (from a listing, a manifest), saving the HEAD.
    pub fn with_size(self, size: u64) -> Self {
        Self {
            size: OnceCell::new_with(Some(size)),
            ..self
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object's path within the store.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl ByteSource for ObjectStoreSource {
    fn location(&self) -> &str {
        &self.location
    }

    async fn size(&self) -> Result<u64> {
        self.size
            .get_or_try_init(|| async {
                let started = Instant::now();
                let meta = self
                    .store
                    .head(&self.path)
                    .await
                    .map_err(|e| Error::object_store(&self.location, None, e))?;
                self.stats.record(0, started.elapsed());
                tracing::debug!(location = %self.location, size = meta.size, "HEAD");
                Ok(meta.size)
            })
            .await
            .copied()
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        // Knowing the size first turns a past-the-end range into a precise error instead of a
        // backend-specific 416 or a silently clipped body. The HEAD happens once per source.
        let size = self.size().await?;
        check_range(&self.location, &range, size)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let started = Instant::now();
        let data = self
            .store
            .get_range(&self.path, range.clone())
            .await
            .map_err(|e| Error::object_store(&self.location, Some(range.clone()), e))?;
        let elapsed = started.elapsed();
        self.stats.record(data.len() as u64, elapsed);
        tracing::trace!(location = %self.location, ?range, ?elapsed, "GET");
        if data.len() as u64 != range.end - range.start {
            return Err(Error::ShortRead {
                location: self.location.clone(),
                range,
                got: data.len() as u64,
            });
        }
        Ok(data)
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
    async fn ranged_gets_and_one_head() {
        let store = store_with("dir/a.h5", b"abcdefghij").await;
        let src = ObjectStoreSource::new(store, Path::from("dir/a.h5"), "memory:///dir/a.h5");
        assert_eq!(src.size().await.unwrap(), 10);
        assert_eq!(src.size().await.unwrap(), 10);
        assert_eq!(src.read_range(1..4).await.unwrap(), &b"bcd"[..]);
        assert_eq!(src.read_range(10..10).await.unwrap(), Bytes::new());
        let got = src.read_ranges(&[8..10, 0..2]).await.unwrap();
        assert_eq!(got, vec![&b"ij"[..], &b"ab"[..]]);
        let s = src.stats().snapshot();
        assert_eq!((s.requests, s.bytes), (1 + 3, 7), "one HEAD, three GETs");
    }

    #[tokio::test]
    async fn known_size_skips_head_and_bounds_are_checked() {
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
