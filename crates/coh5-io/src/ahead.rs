//! `Ahead`: a byte source that can be asked to fetch ranges before anyone reads them.
//!
//! A reader that can guess what it will read (the chunks of a dataset whose chunk index is
//! already in hand, while the metadata that confirms the guess is still on its way) asks for
//! those ranges early; a later read of bytes inside them waits for that fetch instead of making
//! its own request. What is read is still decided by the reader from confirmed metadata, so a
//! wrong guess costs bytes, never correctness. Fetched bytes are let go once reads have taken
//! every byte of them.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::future::{BoxFuture, FutureExt, Shared};

use crate::plan::{Plan, PlanOptions};
use crate::{trace, ByteSource, Result, Stats};

/// The outcome of an early request, awaited by every read that takes bytes of it.
type EarlyBytes = Shared<BoxFuture<'static, Option<Bytes>>>;

/// One early request: its range, its outcome (`None` when it failed: the bytes are then read
/// again on demand), and how many of its bytes reads have taken.
struct Early {
    range: Range<u64>,
    bytes: EarlyBytes,
    taken: u64,
}

/// A source whose ranges can be fetched ahead of their reads.
pub struct Ahead {
    inner: Arc<dyn ByteSource>,
    early: Mutex<Vec<Early>>,
}

impl std::fmt::Debug for Ahead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ahead").field("inner", &self.inner).finish()
    }
}

impl Ahead {
    pub fn new(inner: Arc<dyn ByteSource>) -> Ahead {
        Ahead {
            inner,
            early: Mutex::default(),
        }
    }

    /// Starts fetching `ranges` (planned as a read of them would be) on the current tokio
    /// runtime, labelled raw data in traces.
    pub fn fetch(&self, ranges: &[Range<u64>]) {
        let plan = Plan::new(ranges, &PlanOptions::for_source(self.inner.as_ref()));
        let mut early = self.lock();
        for request in plan.requests {
            let inner = self.inner.clone();
            let range = request.range.clone();
            let task = tokio::spawn(trace::with_purpose(trace::RAW_DATA, async move {
                inner.read_range(range).await.ok()
            }));
            early.push(Early {
                range: request.range,
                bytes: async move { task.await.ok().flatten() }.boxed().shared(),
                taken: 0,
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Early>> {
        self.early.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The early requests that together cover `range`, in order, each with the part of it
    /// that the read takes (parts follow one another without overlap); `None` unless they
    /// cover all of it. Requests whose every byte has been taken are let go.
    fn covering(&self, range: &Range<u64>) -> Option<Vec<(EarlyBytes, Range<u64>, u64)>> {
        let mut early = self.lock();
        let mut by_start: Vec<usize> = (0..early.len())
            .filter(|&i| early[i].range.start < range.end && range.start < early[i].range.end)
            .collect();
        by_start.sort_by_key(|&i| early[i].range.start);
        // Each request takes over where the one before it ended.
        let mut parts = Vec::new();
        let mut at = range.start;
        for i in by_start {
            let r = &early[i].range;
            if at >= range.end || r.end <= at {
                continue;
            }
            if r.start > at {
                return None;
            }
            let hi = range.end.min(r.end);
            parts.push((i, at..hi));
            at = hi;
        }
        if at < range.end {
            return None;
        }
        let out = parts
            .into_iter()
            .map(|(i, take)| {
                let e = &mut early[i];
                e.taken += take.end - take.start;
                (
                    e.bytes.clone(),
                    take.start - e.range.start..take.end - e.range.start,
                    e.range.end - e.range.start,
                )
            })
            .collect();
        early.retain(|e| e.taken < e.range.end - e.range.start);
        Some(out)
    }
}

#[async_trait::async_trait]
impl ByteSource for Ahead {
    fn location(&self) -> &str {
        self.inner.location()
    }

    async fn size(&self) -> Result<u64> {
        self.inner.size().await
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        if range.start < range.end {
            if let Some(parts) = self.covering(&range) {
                let mut pieces = Vec::with_capacity(parts.len());
                for (bytes, within, len) in parts {
                    match bytes.await {
                        Some(b) if b.len() as u64 == len => {
                            pieces.push(b.slice(within.start as usize..within.end as usize))
                        }
                        // The early request failed: read the range as if it had not been made.
                        _ => return self.inner.read_range(range).await,
                    }
                }
                if let [one] = &pieces[..] {
                    return Ok(one.clone());
                }
                let mut joined = BytesMut::with_capacity((range.end - range.start) as usize);
                for p in &pieces {
                    joined.extend_from_slice(p);
                }
                return Ok(joined.freeze());
            }
        }
        self.inner.read_range(range).await
    }

    fn read_ahead(&self) -> u64 {
        self.inner.read_ahead()
    }

    fn stats(&self) -> &Stats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySource;

    fn source(len: usize) -> (Arc<MemorySource>, Ahead, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let memory = Arc::new(MemorySource::new(data.clone(), "mem"));
        let ahead = Ahead::new(memory.clone());
        (memory, ahead, data)
    }

    #[tokio::test]
    async fn reads_inside_fetched_ranges_make_no_request_of_their_own() {
        let (memory, ahead, data) = source(1 << 20);
        ahead.fetch(std::slice::from_ref(&(1000..9000)));
        assert_eq!(
            &ahead.read_range(1000..2000).await.unwrap()[..],
            &data[1000..2000]
        );
        assert_eq!(
            &ahead.read_range(2000..9000).await.unwrap()[..],
            &data[2000..9000]
        );
        assert_eq!(memory.stats().snapshot().requests, 1);
        assert_eq!(
            &ahead.read_range(500..1500).await.unwrap()[..],
            &data[500..1500]
        );
        assert_eq!(
            memory.stats().snapshot().requests,
            2,
            "not all of it was fetched early"
        );
    }

    #[tokio::test]
    async fn a_read_across_two_early_requests_is_joined() {
        let (memory, ahead, data) = source(1 << 20);
        ahead.fetch(std::slice::from_ref(&(0..1000)));
        ahead.fetch(std::slice::from_ref(&(1000..3000)));
        assert_eq!(
            &ahead.read_range(500..2500).await.unwrap()[..],
            &data[500..2500]
        );
        assert_eq!(memory.stats().snapshot().requests, 2);
    }

    #[tokio::test]
    async fn overlapping_early_requests_give_each_byte_once() {
        let (memory, ahead, data) = source(1 << 20);
        ahead.fetch(std::slice::from_ref(&(0..1000)));
        ahead.fetch(std::slice::from_ref(&(500..1500)));
        assert_eq!(&ahead.read_range(0..1500).await.unwrap()[..], &data[..1500]);
        assert_eq!(
            &ahead.read_range(700..1200).await.unwrap()[..],
            &data[700..1200]
        );
        assert_eq!(memory.stats().snapshot().requests, 2);
    }

    #[tokio::test]
    async fn early_bytes_are_let_go_once_every_byte_is_read() {
        let (_, ahead, _) = source(1 << 20);
        ahead.fetch(std::slice::from_ref(&(0..1000)));
        ahead.read_range(0..600).await.unwrap();
        assert_eq!(ahead.lock().len(), 1);
        ahead.read_range(600..1000).await.unwrap();
        assert!(ahead.lock().is_empty());
    }

    #[tokio::test]
    async fn a_failed_early_request_is_made_again_when_read() {
        let (memory, ahead, data) = source(4096);
        // Past the end: the early request fails, the read of its valid part does not.
        ahead.fetch(std::slice::from_ref(&(4000..5000)));
        assert_eq!(
            &ahead.read_range(4000..4096).await.unwrap()[..],
            &data[4000..]
        );
        assert_eq!(
            memory.stats().snapshot().requests,
            1,
            "the failed request is not counted"
        );
        assert!(ahead.read_range(4000..5000).await.is_err());
    }
}
