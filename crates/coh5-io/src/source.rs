//! The `ByteSource` trait: random-access, read-only, async access to one object (a local file, an
//! in-memory buffer, a cloud object, or a layer such as a cache over another source).

use std::ops::Range;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::{Result, Stats};

/// How many requests [`ByteSource::read_ranges`] keeps in flight by default. Enough to hide cloud
/// latency, few enough not to trip request-rate limits or exhaust connection pools.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// [`ByteSource::read_ahead`] of sources with next to no latency (local files, memory): enough
/// to keep decoders fed, small enough that a read's memory stays close to its output.
pub const LOCAL_READ_AHEAD: u64 = 12 << 20;

/// An immutable object read by byte ranges.
///
/// Implementations check every range against [`size`](ByteSource::size) and return exactly the
/// requested bytes or an error; callers never see short reads.
#[async_trait::async_trait]
pub trait ByteSource: Send + Sync + std::fmt::Debug {
    /// Where the bytes come from (path or URL), for errors and `--stats`.
    fn location(&self) -> &str;

    /// Object size in bytes (one HEAD or stat, cached after the first call).
    async fn size(&self) -> Result<u64>;

    /// Exactly these bytes; a range past the end is an error naming location and range.
    async fn read_range(&self, range: Range<u64>) -> Result<Bytes>;

    /// Several ranges, at most [`DEFAULT_CONCURRENCY`] in flight; results in input order. The
    /// first error wins and the remaining requests are dropped.
    async fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        stream::iter(ranges.iter().cloned())
            .map(|r| self.read_range(r))
            .buffered(DEFAULT_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Bytes a reader should keep requested ahead of what it consumes to keep this source busy:
    /// about its latency × bandwidth product. Readers bound their memory by it.
    fn read_ahead(&self) -> u64 {
        LOCAL_READ_AHEAD
    }

    /// Counters of what this source has fetched.
    fn stats(&self) -> &Stats;
}
