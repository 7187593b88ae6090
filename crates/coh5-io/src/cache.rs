//! `BlockCache`: an aligned-block read cache over any byte source, meant for HDF5 metadata, which
//! is read as many small scattered pieces that cluster within a few regions of the file.
//!
//! - Reads are widened to `block_size`-aligned blocks, so neighbouring small reads hit the cache.
//! - The missing blocks of one read that are adjacent are fetched in a single request.
//! - Concurrent reads of a block share one fetch (single-flight): the first reader registers the
//!   fetch, the others await it. The fetch is a shared future, so it keeps going as long as any
//!   reader awaits it, and a later reader resumes it if all earlier ones were cancelled.
//! - Cached bytes are bounded by `capacity_bytes`, least recently used blocks evicted first. Blocks
//!   being fetched are not counted until they arrive; readers keep the bytes they asked for even
//!   if the blocks are evicted at once.
//!
//! `BlockCache` is itself a [`ByteSource`], so further layers can stack on top of it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use bytes::{Bytes, BytesMut};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, StreamExt};

use crate::error::check_range;
use crate::plan::{read_planned, PlanOptions};
use crate::{ByteSource, Error, Result, Stats};

/// Prefetch requests in flight at once: metadata blocks are small, so more of them than data
/// requests can share the connections without one hogging the bandwidth.
pub const PREFETCH_CONCURRENCY: usize = 32;

/// The blocks of one completed fetch, indexed from `first`.
#[derive(Debug)]
struct Run {
    first: u64,
    blocks: Vec<Bytes>,
}

/// A fetch in flight, awaitable by any number of readers.
type Fetch = Shared<BoxFuture<'static, Result<Arc<Run>>>>;

enum Slot {
    Ready { data: Bytes, tick: u64 },
    Pending { id: u64, fetch: Fetch },
}

#[derive(Default)]
struct State {
    blocks: HashMap<u64, Slot>,
    /// Ready blocks by last use; the smallest tick is evicted first.
    lru: BTreeMap<u64, u64>,
    tick: u64,
    cached_bytes: u64,
    next_fetch: u64,
}

impl State {
    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    /// Marks a ready block as just used and returns its bytes.
    fn touch(&mut self, index: u64) -> Option<Bytes> {
        let tick = self.next_tick();
        match self.blocks.get_mut(&index) {
            Some(Slot::Ready { data, tick: old }) => {
                self.lru.remove(old);
                *old = tick;
                self.lru.insert(tick, index);
                Some(data.clone())
            }
            _ => None,
        }
    }

    /// Stores a ready block unless the slot is taken by another fetch or already ready.
    fn put(&mut self, index: u64, data: Bytes, fetch_id: Option<u64>) {
        let replace = match self.blocks.get(&index) {
            None => fetch_id.is_none(),
            Some(Slot::Pending { id, .. }) => Some(*id) == fetch_id,
            Some(Slot::Ready { .. }) => false,
        };
        if replace {
            let tick = self.next_tick();
            self.cached_bytes = self.cached_bytes.saturating_add(data.len() as u64);
            self.lru.insert(tick, index);
            self.blocks.insert(index, Slot::Ready { data, tick });
        }
    }

    fn evict_to(&mut self, capacity: u64) {
        while self.cached_bytes > capacity {
            let Some((_, index)) = self.lru.pop_first() else {
                break;
            };
            if let Some(Slot::Ready { data, .. }) = self.blocks.remove(&index) {
                self.cached_bytes = self.cached_bytes.saturating_sub(data.len() as u64);
            }
        }
    }
}

struct Inner {
    source: Arc<dyn ByteSource>,
    block_size: u64,
    capacity: u64,
    state: Mutex<State>,
    /// The source size once a read has asked for it; lets `insert` accept the short last block.
    size: OnceLock<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock; recover the data even if something did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the outcome of fetch `id`: blocks become ready, or the pending slots are freed so
    /// the next reader retries.
    fn complete(&self, id: u64, first: u64, count: u64, outcome: &Result<Arc<Run>>) {
        let mut state = self.lock();
        match outcome {
            Ok(run) => {
                for (index, data) in (run.first..).zip(&run.blocks) {
                    state.put(index, data.clone(), Some(id));
                }
                state.evict_to(self.capacity);
            }
            Err(_) => {
                for index in first..first.saturating_add(count) {
                    if matches!(state.blocks.get(&index), Some(Slot::Pending { id: p, .. }) if *p == id)
                    {
                        state.blocks.remove(&index);
                    }
                }
            }
        }
    }
}

/// An aligned-block, single-flight, LRU-bounded read cache over a [`ByteSource`].
#[derive(Clone)]
pub struct BlockCache {
    inner: Arc<Inner>,
}

/// Where one block of a read comes from.
enum Part {
    Ready(Bytes),
    Wait { index: u64, fetch_id: u64 },
}

impl BlockCache {
    /// A cache over `source` with blocks of `block_size` bytes (at least 1) holding at most
    /// `capacity_bytes` of data. A capacity of 0 caches nothing but still aligns, coalesces and
    /// shares concurrent fetches.
    pub fn new(source: Arc<dyn ByteSource>, block_size: u64, capacity_bytes: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                block_size: block_size.max(1),
                capacity: capacity_bytes,
                state: Mutex::new(State::default()),
                size: OnceLock::new(),
            }),
        }
    }

    /// The wrapped source.
    pub fn source(&self) -> &Arc<dyn ByteSource> {
        &self.inner.source
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u64 {
        self.inner.block_size
    }

    /// Bytes currently held (never more than the capacity once a read has returned).
    pub fn cached_bytes(&self) -> u64 {
        self.inner.lock().cached_bytes
    }

    /// Records the source's size when the caller already knows it: saves a size request and
    /// lets [`BlockCache::insert`] keep the short last block.
    pub fn set_size(&self, size: u64) {
        self.inner.size.get_or_init(|| size);
    }

    async fn source_size(&self) -> Result<u64> {
        if let Some(size) = self.inner.size.get() {
            return Ok(*size);
        }
        let size = self.inner.source.size().await?;
        Ok(*self.inner.size.get_or_init(|| size))
    }

    /// Exactly the bytes of `range`, from cached blocks where possible. A range past the end of
    /// the source is an error.
    pub async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        let size = self.source_size().await?;
        let location = self.inner.source.location();
        check_range(location, &range, size)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let blocks = self.blocks(&range, size).await?;
        let data =
            assemble(&blocks, self.inner.block_size, &range).ok_or_else(|| Error::ShortRead {
                location: location.to_owned(),
                range: range.clone(),
                got: 0,
            })?;
        self.inner.source.stats().delivered(location, range);
        Ok(data)
    }

    /// The blocks holding the non-empty, in-bounds `range`, in order: cached ones at once,
    /// missing runs fetched (one request per run), blocks in flight awaited (single-flight).
    async fn blocks(&self, range: &Range<u64>, size: u64) -> Result<Vec<Bytes>> {
        let bs = self.inner.block_size;
        let first = range.start / bs;
        let last = (range.end - 1) / bs;

        let mut parts = Vec::new();
        let mut fetches: HashMap<u64, Fetch> = HashMap::new();
        {
            let mut state = self.inner.lock();
            let mut missing_from: Option<u64> = None;
            for index in first..=last {
                let present = state.blocks.contains_key(&index);
                if present {
                    if let Some(start) = missing_from.take() {
                        self.start_fetch(
                            &mut state,
                            start,
                            index - 1,
                            size,
                            &mut parts,
                            &mut fetches,
                        );
                    }
                    if let Some(data) = state.touch(index) {
                        parts.push(Part::Ready(data));
                    } else if let Some(Slot::Pending { id, fetch }) = state.blocks.get(&index) {
                        fetches.entry(*id).or_insert_with(|| fetch.clone());
                        parts.push(Part::Wait {
                            index,
                            fetch_id: *id,
                        });
                    }
                } else if missing_from.is_none() {
                    missing_from = Some(index);
                }
            }
            if let Some(start) = missing_from {
                self.start_fetch(&mut state, start, last, size, &mut parts, &mut fetches);
            }
        }

        let ids: Vec<u64> = fetches.keys().copied().collect();
        let outcomes = futures::future::join_all(fetches.into_values()).await;
        let mut runs: HashMap<u64, Arc<Run>> = HashMap::with_capacity(ids.len());
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            runs.insert(id, outcome?);
        }

        let short = || Error::ShortRead {
            location: self.inner.source.location().to_owned(),
            range: range.clone(),
            got: 0,
        };
        parts
            .iter()
            .map(|part| match part {
                Part::Ready(data) => Some(data.clone()),
                Part::Wait { index, fetch_id } => {
                    let run = runs.get(fetch_id)?;
                    let offset = usize::try_from(index.checked_sub(run.first)?).ok()?;
                    run.blocks.get(offset).cloned()
                }
            })
            .map(|block| block.ok_or_else(short))
            .collect()
    }

    /// The bytes of `range` when every block holding them is already cached, without fetching
    /// or waiting: for hints worked out from what is in hand. Not counted as used.
    pub fn peek(&self, range: Range<u64>) -> Option<Bytes> {
        let size = *self.inner.size.get()?;
        if range.start >= range.end || range.end > size {
            return None;
        }
        let bs = self.inner.block_size;
        let (first, last) = (range.start / bs, (range.end - 1) / bs);
        let blocks = {
            let mut state = self.inner.lock();
            (first..=last)
                .map(|index| state.touch(index))
                .collect::<Option<Vec<Bytes>>>()?
        };
        assemble(&blocks, bs, &range)
    }

    /// [`BlockCache::peek`] for a reader that uses the bytes: counted as used, like a read.
    pub fn read_cached(&self, range: Range<u64>) -> Option<Bytes> {
        let data = self.peek(range.clone())?;
        self.inner
            .source
            .stats()
            .delivered(self.inner.source.location(), range);
        Some(data)
    }

    /// Whether every block holding `range` (clipped to the source) is cached, so reading it
    /// would neither fetch nor wait. Empty ranges are held; before the size is known, nothing.
    pub fn holds(&self, range: &Range<u64>) -> bool {
        let Some(&size) = self.inner.size.get() else {
            return false;
        };
        let end = range.end.min(size);
        if range.start >= end {
            return true;
        }
        let bs = self.inner.block_size;
        let state = self.inner.lock();
        (range.start / bs..=(end - 1) / bs)
            .all(|index| matches!(state.blocks.get(&index), Some(Slot::Ready { .. })))
    }

    /// Registers one fetch for the missing blocks `first..=last` and records them as parts.
    fn start_fetch(
        &self,
        state: &mut State,
        first: u64,
        last: u64,
        size: u64,
        parts: &mut Vec<Part>,
        fetches: &mut HashMap<u64, Fetch>,
    ) {
        let bs = self.inner.block_size;
        let id = state.next_fetch;
        state.next_fetch = state.next_fetch.wrapping_add(1);
        let count = last - first + 1;
        let byte_range = first * bs..last.saturating_add(1).saturating_mul(bs).min(size);
        let source = Arc::clone(&self.inner.source);
        let cache: Weak<Inner> = Arc::downgrade(&self.inner);
        let fetch = async move {
            // Through the planner: a run of blocks (whole pages of a paged file) is split into
            // parts fetched in parallel instead of crawling over one connection.
            // A fill is wider than what readers asked for; `read` reports what they use.
            let opts = PlanOptions::for_source(source.as_ref());
            let outcome = crate::trace::widened(read_planned(
                source.as_ref(),
                std::slice::from_ref(&byte_range),
                &opts,
            ))
            .await
            .and_then(|mut data| {
                let data = data.pop().unwrap_or_default();
                split(source.location(), byte_range, data, first, bs)
            })
            .map(Arc::new);
            if let Some(cache) = cache.upgrade() {
                cache.complete(id, first, count, &outcome);
            }
            outcome
        }
        .boxed()
        .shared();
        for index in first..=last {
            state.blocks.insert(
                index,
                Slot::Pending {
                    id,
                    fetch: fetch.clone(),
                },
            );
            parts.push(Part::Wait {
                index,
                fetch_id: id,
            });
        }
        fetches.insert(id, fetch);
    }

    /// Brings the blocks of every range into the cache, all missing runs of blocks requested at
    /// once (at most [`PREFETCH_CONCURRENCY`] in flight): one round trip for a whole level of
    /// metadata, such as the object headers of all children of a group, instead of one per
    /// structure. Failures are not reported here; the reads that need the bytes report them.
    pub async fn prefetch(&self, ranges: &[Range<u64>]) {
        let Ok(size) = self.source_size().await else {
            return;
        };
        let bs = self.inner.block_size;
        let mut runs: Vec<Range<u64>> = ranges
            .iter()
            .filter(|r| r.start < r.end && r.start < size)
            .map(|r| r.start / bs..(r.end.min(size) - 1) / bs + 1)
            .collect();
        runs.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(runs.len());
        for r in runs {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        // Only what decoders then read counts as used, not the whole blocks asked for here.
        // The blocks are only waited for, not copied into one buffer as a read would.
        let _ = stream::iter(merged)
            .map(|b| {
                let range = b.start * bs..b.end.saturating_mul(bs).min(size);
                async move { crate::trace::widened(self.blocks(&range, size)).await }
            })
            .buffer_unordered(PREFETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
    }

    /// Seeds the cache with `data` found at `offset` (bytes fetched by other means, such as the
    /// first read of a file). Only whole aligned blocks are kept, plus the short last block of the
    /// source once its size is known. Blocks already cached or being fetched are left alone.
    pub fn insert(&self, offset: u64, data: Bytes) {
        let bs = self.inner.block_size;
        let Some(end) = offset.checked_add(data.len() as u64) else {
            return;
        };
        let size = self.inner.size.get().copied();
        let mut state = self.inner.lock();
        let mut index = offset.div_ceil(bs);
        while let Some(block_start) = index.checked_mul(bs) {
            let Some(full_end) = block_start.checked_add(bs) else {
                break;
            };
            let block_end = match size {
                Some(size) if block_start >= size => break,
                Some(size) => full_end.min(size),
                None => full_end,
            };
            if block_end > end {
                break;
            }
            let (Ok(lo), Ok(hi)) = (
                usize::try_from(block_start - offset),
                usize::try_from(block_end - offset),
            ) else {
                break;
            };
            if let Some(piece) = data.get(lo..hi) {
                state.put(index, Bytes::copy_from_slice(piece), None);
            }
            let Some(next) = index.checked_add(1) else {
                break;
            };
            index = next;
        }
        state.evict_to(self.inner.capacity);
    }
}

/// The bytes of the non-empty `range` from `blocks`, the aligned blocks of `block_size` bytes
/// that hold it, in order: a slice of the block when one holds it all, else one copy. `None`
/// when a block is shorter than the range needs.
fn assemble(blocks: &[Bytes], block_size: u64, range: &Range<u64>) -> Option<Bytes> {
    let first = range.start / block_size;
    let piece = |(index, block): (u64, &Bytes)| {
        let block_start = index * block_size;
        let lo = usize::try_from(range.start.max(block_start) - block_start).ok()?;
        let hi =
            usize::try_from(range.end.min(block_start.saturating_add(block_size)) - block_start)
                .ok()?;
        block.get(lo..hi).map(|_| block.slice(lo..hi))
    };
    if let [one] = blocks {
        return piece((first, one));
    }
    let mut out = BytesMut::with_capacity(usize::try_from(range.end - range.start).ok()?);
    for part in (first..).zip(blocks) {
        out.extend_from_slice(&piece(part)?);
    }
    (out.len() as u64 == range.end - range.start).then(|| out.freeze())
}

/// Cuts a fetched run into blocks. Each block gets its own allocation so that evicting a block
/// really frees its memory (a slice would pin the whole run).
fn split(location: &str, range: Range<u64>, data: Bytes, first: u64, bs: u64) -> Result<Run> {
    if data.len() as u64 != range.end - range.start {
        return Err(Error::ShortRead {
            location: location.to_owned(),
            got: data.len() as u64,
            range,
        });
    }
    let step = usize::try_from(bs).unwrap_or(usize::MAX);
    let blocks = if data.len() <= step {
        vec![data]
    } else {
        data.chunks(step).map(Bytes::copy_from_slice).collect()
    };
    Ok(Run { first, blocks })
}

impl fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockCache")
            .field("source", &self.inner.source.location())
            .field("block_size", &self.inner.block_size)
            .field("capacity", &self.inner.capacity)
            .field("cached_bytes", &self.cached_bytes())
            .finish()
    }
}

/// The cache as a source: same location and size; `stats` are those of the wrapped source, i.e.
/// what was really fetched.
#[async_trait::async_trait]
impl ByteSource for BlockCache {
    fn location(&self) -> &str {
        self.inner.source.location()
    }

    async fn size(&self) -> Result<u64> {
        self.source_size().await
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        self.read(range).await
    }

    fn read_ahead(&self) -> u64 {
        self.inner.source.read_ahead()
    }

    fn stats(&self) -> &Stats {
        self.inner.source.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySource;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn pattern(n: usize) -> Bytes {
        (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
    }

    fn cache_over(n: usize, bs: u64, cap: u64, latency_ms: u64) -> (BlockCache, Bytes) {
        let data = pattern(n);
        let src = MemorySource::new(data.clone(), "mem://blocks")
            .with_latency(Duration::from_millis(latency_ms));
        (BlockCache::new(Arc::new(src), bs, cap), data)
    }

    fn counts(cache: &BlockCache) -> (u64, u64) {
        let s = cache.stats().snapshot();
        (s.requests, s.bytes)
    }

    #[tokio::test]
    async fn reads_are_widened_to_aligned_blocks() {
        let (cache, data) = cache_over(1000, 64, 1 << 20, 0);
        assert_eq!(cache.read(10..20).await.unwrap(), data.slice(10..20));
        assert_eq!(counts(&cache), (1, 64));
        // Same block: served from the cache.
        assert_eq!(cache.read(0..64).await.unwrap(), data.slice(0..64));
        assert_eq!(cache.read(63..64).await.unwrap(), data.slice(63..64));
        assert_eq!(counts(&cache), (1, 64));
        // Crossing into the next block fetches only that block.
        assert_eq!(cache.read(60..70).await.unwrap(), data.slice(60..70));
        assert_eq!(counts(&cache), (2, 128));
        assert_eq!(cache.cached_bytes(), 128);
    }

    #[tokio::test]
    async fn prefetch_fetches_a_level_in_one_wave() {
        let (cache, data) = cache_over(10_000, 64, 1 << 20, 50);
        cache.read(0..10).await.unwrap();
        let started = std::time::Instant::now();
        // Block 0 is cached; 70..80 and 100..130 share block 1; 5000.. and 9990..10_005 are
        // apart (the latter clipped at the end); an empty range needs nothing.
        let ranges = [5..9, 70..80, 100..130, 5000..5200, 9990..10_005, 300..300];
        cache.prefetch(&ranges).await;
        assert!(
            started.elapsed() < Duration::from_millis(140),
            "one wave, not three"
        );
        assert_eq!(counts(&cache), (4, 64 + 128 + 256 + 16));
        assert_eq!(
            cache.read(5000..5200).await.unwrap(),
            data.slice(5000..5200)
        );
        assert_eq!(
            cache.read(9990..10_000).await.unwrap(),
            data.slice(9990..10_000)
        );
        assert_eq!(counts(&cache).0, 4, "everything was cached");
    }

    #[tokio::test]
    async fn peek_answers_from_cached_blocks_only() {
        let (cache, data) = cache_over(1000, 64, 1 << 20, 0);
        assert_eq!(cache.peek(0..10), None, "size unknown, nothing cached");
        cache.read(70..200).await.unwrap();
        assert_eq!(counts(&cache), (1, 192));
        assert_eq!(
            cache.peek(64..256),
            Some(data.slice(64..256)),
            "across blocks"
        );
        assert_eq!(cache.peek(100..110), Some(data.slice(100..110)));
        assert_eq!(cache.peek(60..70), None, "block 0 is missing");
        assert_eq!(cache.peek(250..260), None, "block 4 is missing");
        assert_eq!(cache.peek(100..100), None);
        assert_eq!(cache.peek(990..1001), None, "past the end");
        assert_eq!(counts(&cache), (1, 192), "peeking never fetches");
    }

    #[tokio::test]
    async fn holds_and_read_cached_never_fetch() {
        let (cache, data) = cache_over(1000, 64, 1 << 20, 0);
        assert!(!cache.holds(&(0..10)), "size unknown, nothing held");
        cache.read(70..200).await.unwrap();
        let used = cache.stats().snapshot().used;
        assert!(cache.holds(&(64..256)));
        assert!(cache.holds(&(300..300)), "empty");
        assert!(!cache.holds(&(60..70)), "block 0 is missing");
        assert!(!cache.holds(&(200..260)), "block 4 is missing");
        assert_eq!(cache.read_cached(60..70), None);
        assert_eq!(cache.stats().snapshot().used, used, "a miss uses nothing");
        assert_eq!(cache.read_cached(200..256), Some(data.slice(200..256)));
        assert_eq!(cache.stats().snapshot().used, used + 56, "a hit is used");
        assert_eq!(counts(&cache), (1, 192), "neither ever fetches");
    }

    #[tokio::test]
    async fn adjacent_missing_blocks_are_one_request() {
        let (cache, data) = cache_over(1000, 64, 1 << 20, 0);
        assert_eq!(cache.read(100..300).await.unwrap(), data.slice(100..300));
        assert_eq!(counts(&cache), (1, 256), "blocks 1..=4 in one request");
        // Blocks 0 and 5..=6 missing around cached 1..=4: two requests, one per gap.
        assert_eq!(cache.read(0..420).await.unwrap(), data.slice(0..420));
        assert_eq!(counts(&cache), (3, 256 + 64 + 128));
        let cached = cache.read(0..448).await.unwrap();
        assert_eq!(cached, data.slice(0..448));
        assert_eq!(counts(&cache).0, 3);
    }

    #[tokio::test]
    async fn end_of_file_blocks_are_short_and_past_end_is_an_error() {
        let (cache, data) = cache_over(100, 64, 1 << 20, 0);
        assert_eq!(cache.read(90..100).await.unwrap(), data.slice(90..100));
        assert_eq!(counts(&cache), (1, 36));
        assert_eq!(cache.read(100..100).await.unwrap(), Bytes::new());
        let e = cache.read(90..101).await.unwrap_err();
        assert!(matches!(e, Error::OutOfBounds { size: 100, .. }), "{e}");
        assert!(e.to_string().contains("mem://blocks"), "{e}");
        assert!(matches!(
            cache.read(101..101).await,
            Err(Error::OutOfBounds { .. })
        ));
        assert!(matches!(
            cache.read(u64::MAX - 1..u64::MAX).await,
            Err(Error::OutOfBounds { .. })
        ));
        assert_eq!(counts(&cache).0, 1);
        assert_eq!(cache.size().await.unwrap(), 100);
        assert_eq!(cache.location(), "mem://blocks");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_readers_share_one_fetch() {
        let (cache, data) = cache_over(4096, 512, 1 << 20, 50);
        let mut tasks = Vec::new();
        for i in 0..16u64 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                let start = 1024 + i * 7;
                (start, cache.read(start..start + 100).await.unwrap())
            }));
        }
        for t in tasks {
            let (start, got) = t.await.unwrap();
            assert_eq!(got, data.slice(start as usize..start as usize + 100));
        }
        assert_eq!(counts(&cache), (1, 512));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_waits_for_blocks_in_flight_and_fetches_the_rest() {
        let (cache, data) = cache_over(4096, 64, 1 << 20, 80);
        let slow = tokio::spawn({
            let cache = cache.clone();
            async move { cache.read(64..128).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Block 1 is in flight: this read fetches block 0 and blocks 2..=3 and awaits block 1.
        assert_eq!(cache.read(0..256).await.unwrap(), data.slice(0..256));
        assert_eq!(slow.await.unwrap().unwrap(), data.slice(64..128));
        assert_eq!(counts(&cache), (3, 256));
    }

    #[tokio::test]
    async fn cancelled_leader_does_not_strand_waiters() {
        let (cache, data) = cache_over(1024, 64, 1 << 20, 30);
        // Start a fetch and abandon it before it completes.
        let abandoned = tokio::time::timeout(Duration::from_millis(5), cache.read(0..10)).await;
        assert!(abandoned.is_err());
        // The pending fetch is resumed by the next reader rather than deadlocking or refetching.
        assert_eq!(cache.read(0..64).await.unwrap(), data.slice(0..64));
        assert_eq!(counts(&cache), (1, 64));
    }

    #[tokio::test]
    async fn lru_bounds_cached_bytes() {
        let (cache, data) = cache_over(1024, 64, 128, 0);
        cache.read(0..1).await.unwrap(); // block 0
        cache.read(64..65).await.unwrap(); // block 1
        cache.read(0..1).await.unwrap(); // touch 0: block 1 is now least recent
        cache.read(128..129).await.unwrap(); // block 2 evicts block 1
        assert_eq!(counts(&cache).0, 3);
        assert_eq!(cache.cached_bytes(), 128);
        cache.read(0..1).await.unwrap();
        cache.read(128..129).await.unwrap();
        assert_eq!(counts(&cache).0, 3, "blocks 0 and 2 stayed");
        cache.read(64..65).await.unwrap();
        assert_eq!(counts(&cache).0, 4, "block 1 was evicted");
        // A read bigger than the capacity still returns all its bytes.
        assert_eq!(cache.read(0..1024).await.unwrap(), data);
        assert!(cache.cached_bytes() <= 128);
        for i in 0..100u64 {
            let start = (i * 97) % 1000;
            assert_eq!(
                cache.read(start..start + 20).await.unwrap(),
                data.slice(start as usize..start as usize + 20)
            );
            assert!(cache.cached_bytes() <= 128);
        }
    }

    #[tokio::test]
    async fn zero_capacity_and_zero_block_size_still_work() {
        let (cache, data) = cache_over(100, 0, 0, 0);
        assert_eq!(cache.block_size(), 1);
        assert_eq!(cache.read(5..50).await.unwrap(), data.slice(5..50));
        assert_eq!(cache.read(5..50).await.unwrap(), data.slice(5..50));
        assert_eq!(counts(&cache), (2, 90));
        assert_eq!(cache.cached_bytes(), 0);
    }

    #[tokio::test]
    async fn insert_seeds_whole_blocks_and_the_last_short_block() {
        let (cache, data) = cache_over(200, 64, 1 << 20, 0);
        // 10..150 covers blocks 1 (64..128) entirely; 0 and 2 only partly.
        cache.insert(10, data.slice(10..150));
        assert_eq!(cache.read(64..128).await.unwrap(), data.slice(64..128));
        assert_eq!(counts(&cache).0, 0);
        cache.read(0..1).await.unwrap();
        assert_eq!(counts(&cache).0, 1, "partial block 0 was not seeded");
        // Now the size is known, the short block 3 (192..200) can be seeded.
        cache.insert(192, data.slice(192..200));
        assert_eq!(cache.read(195..200).await.unwrap(), data.slice(195..200));
        assert_eq!(counts(&cache).0, 1);
        // Seeding never overrides cached data and tolerates absurd offsets.
        cache.insert(64, Bytes::from(vec![0xFFu8; 64]));
        assert_eq!(cache.read(64..128).await.unwrap(), data.slice(64..128));
        cache.insert(u64::MAX - 3, Bytes::from_static(b"12345678"));
        cache.insert(u64::MAX - 64, Bytes::from(vec![0u8; 64]));
        cache.insert(1 << 40, Bytes::from(vec![0u8; 128]));
        assert_eq!(cache.cached_bytes(), 64 + 64 + 8);
    }

    /// Fails its first `fail` reads, then behaves.
    #[derive(Debug)]
    struct Flaky {
        inner: MemorySource,
        fail: AtomicU32,
    }

    #[async_trait::async_trait]
    impl ByteSource for Flaky {
        fn location(&self) -> &str {
            self.inner.location()
        }
        async fn size(&self) -> Result<u64> {
            self.inner.size().await
        }
        async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let failing = self
                .fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(Error::io(
                    self.location(),
                    Some(range),
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"),
                ));
            }
            self.inner.read_range(range).await
        }
        fn stats(&self) -> &Stats {
            self.inner.stats()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_fetch_reaches_every_waiter_and_is_retried_later() {
        let data = pattern(256);
        let src = Flaky {
            inner: MemorySource::new(data.clone(), "mem://flaky"),
            fail: AtomicU32::new(1),
        };
        let cache = BlockCache::new(Arc::new(src), 64, 1 << 20);
        let (a, b) = tokio::join!(cache.read(0..10), cache.read(5..60));
        for r in [a, b] {
            let e = r.unwrap_err();
            assert!(
                e.to_string().contains("mem://flaky (bytes 0..64): reset"),
                "{e}"
            );
        }
        assert_eq!(cache.cached_bytes(), 0);
        assert_eq!(cache.read(0..10).await.unwrap(), data.slice(0..10));
    }

    #[tokio::test]
    async fn reads_through_a_real_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/hdf5/test/testfiles/deflate.h5"
        );
        let want = Bytes::from(std::fs::read(path).unwrap());
        let cache = BlockCache::new(Arc::new(crate::LocalFile::open(path).unwrap()), 1024, 4096);
        let n = want.len() as u64;
        let ranges = [0..8, 800..900, 1000..1100, n - 10..n, 0..n, 4000..4100];
        let got = cache.read_ranges(&ranges).await.unwrap();
        for (r, g) in ranges.iter().zip(got) {
            assert_eq!(g, want.slice(r.start as usize..r.end as usize));
        }
        assert!(cache.cached_bytes() <= 4096);
    }
}
