//! `MemorySource`: a byte source over a `bytes::Bytes` buffer. Reads are zero-copy slices. An
//! optional artificial latency makes it a stand-in for a remote object in tests and benchmarks.

use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::check_range;
use crate::{ByteSource, Result, Stats};

/// An object held in memory.
#[derive(Debug)]
pub struct MemorySource {
    data: Bytes,
    location: String,
    latency: Duration,
    stats: Stats,
}

impl MemorySource {
    /// A source over `data`, named `location` in errors.
    pub fn new(data: impl Into<Bytes>, location: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            location: location.into(),
            latency: Duration::ZERO,
            stats: Stats::new(),
        }
    }

    /// Makes every read sleep `latency` first (on the tokio timer), like a network round trip.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The whole buffer.
    pub fn data(&self) -> &Bytes {
        &self.data
    }
}

#[async_trait::async_trait]
impl ByteSource for MemorySource {
    fn location(&self) -> &str {
        &self.location
    }

    async fn size(&self) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        check_range(&self.location, &range, self.data.len() as u64)?;
        let started = Instant::now();
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        // Both bounds are <= data.len(), a usize, so the conversions cannot fail.
        let (Ok(start), Ok(end)) = (usize::try_from(range.start), usize::try_from(range.end))
        else {
            return Err(crate::Error::OutOfBounds {
                location: self.location.clone(),
                range,
                size: self.data.len() as u64,
            });
        };
        let out = self.data.slice(start..end);
        self.stats.request(
            &self.location,
            range.clone(),
            started,
            out.len() as u64,
            1,
            None,
        );
        self.stats.delivered(&self.location, range);
        Ok(out)
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[tokio::test]
    async fn reads_exact_ranges_and_counts() {
        let src = MemorySource::new(Bytes::from_static(b"0123456789"), "mem");
        assert_eq!(src.size().await.unwrap(), 10);
        assert_eq!(
            src.read_range(2..5).await.unwrap(),
            Bytes::from_static(b"234")
        );
        assert_eq!(src.read_range(10..10).await.unwrap(), Bytes::new());
        let parts = src.read_ranges(&[8..10, 0..1, 3..3]).await.unwrap();
        assert_eq!(parts, vec![&b"89"[..], &b"0"[..], &b""[..]]);
        let s = src.stats().snapshot();
        assert_eq!((s.requests, s.bytes), (5, 6));
    }

    #[tokio::test]
    async fn out_of_range_is_an_error_naming_location() {
        let src = MemorySource::new(vec![0u8; 10], "mem://x");
        let e = src.read_range(5..11).await.unwrap_err();
        assert!(matches!(e, Error::OutOfBounds { size: 10, .. }), "{e}");
        assert!(e.to_string().contains("mem://x"), "{e}");
        assert!(e.to_string().contains("5..11"), "{e}");
        assert!(matches!(
            src.read_range(11..11).await,
            Err(Error::OutOfBounds { .. })
        ));
        assert!(matches!(
            src.read_range(u64::MAX..u64::MAX).await,
            Err(Error::OutOfBounds { .. })
        ));
        let bad = Range { start: 6, end: 5 };
        assert!(matches!(
            src.read_range(bad).await,
            Err(Error::InvalidRange { .. })
        ));
        assert!(src.read_ranges(&[0..1, 9..12]).await.is_err());
        // Failed checks issue no request.
        assert_eq!(src.stats().snapshot().requests, 1);
    }

    #[tokio::test]
    async fn latency_is_applied_and_counted_as_busy_time() {
        let src = MemorySource::new(vec![1u8; 4], "mem").with_latency(Duration::from_millis(20));
        let t = Instant::now();
        src.read_range(0..4).await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert!(src.stats().snapshot().busy >= Duration::from_millis(20));
    }
}
