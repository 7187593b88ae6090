//! Metadata bytes for the decoders: a [`ReadAt`] over a cached byte source.
//!
//! Metadata is read in small dependent pieces (a header points at a heap that points at a
//! B-tree), so every piece goes through the block cache: one fetch serves the many structures
//! that libhdf5 writes next to each other.
//!
//! A file closed with a metadata cache image keeps some metadata only in that image; its entries
//! are overlaid here, winning over the file's bytes as they do when libhdf5 loads the image.

use std::cell::Cell;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use coh5_format::cache_image::CacheImage;
use coh5_format::{Error as FormatError, ReadAt};
use coh5_io::{read_planned, BlockCache, ByteSource, PlanOptions};

use crate::runtime::block_on;

/// Block size of the metadata cache for files that do not declare a page size. Every missing
/// block costs a dependent round trip, and libhdf5 writes a group's header, tree, heap and
/// symbol nodes within some tens of KiB of each other: 128 KiB brings such a cluster in one
/// request. Larger blocks mostly fetch the raw data between objects (listing an ATL03
/// granule's `original` layout: 30 MB at 512 KiB, 13 MB at 128 KiB, in as many round trips),
/// smaller ones split clusters (64 KiB: two more round trips for that listing, and for one
/// variable of it).
pub const DEFAULT_BLOCK: u64 = 128 * 1024;
/// Bytes fetched by the first round trip of an open: the superblock and whatever metadata
/// follows it, in parallel parts of 1 MiB (about the latency-bandwidth product of a cloud read,
/// 20 ms × 50 MB/s), so the speculation costs about one part's transfer time. libhdf5 keeps a
/// file's metadata near its start when it aggregates it (always in paged files): 4 MiB holds
/// all of it for most granules, so opening and walking every object take no further round
/// trip. An object store source fetches these bytes with the size, in the same round trip.
pub const FIRST_READ: u64 = coh5_io::DEFAULT_FIRST_READ;
/// The first read of an open for a few paths ([`crate::Access::Paths`]): 1 MiB, in four
/// parallel GETs.
/// libhdf5 lays metadata out in the order objects were made, so it holds the root group and
/// an ATL03 granule's first beam; what a path needs beyond it comes in blocks. A read of one
/// 13 MB photon variable then fetches a tenth of that again in metadata, not a third.
pub const PATHS_FIRST_READ: u64 = coh5_io::FIRST_READ_PART;
/// The first read of an open for reading some datasets whole ([`crate::File::open_to_read`]):
/// 2 MiB, in parallel GETs of a quarter MiB, so about a MiB's transfer time more than
/// [`PATHS_FIRST_READ`] at 50 MB/s per connection. In an ATL03 granule with paged aggregation
/// it holds the root group's names and, with them, where the first beam's variables keep their
/// chunks.
pub const READ_FIRST_READ: u64 = 2 << 20;
/// When the superblock extension (which names a paged file's page size) lies before this
/// offset, the file's first bytes through the extension are its metadata: libhdf5 writes the
/// extension at the end of the metadata, which in a paged file is still page 0 (8 MiB is the
/// largest page NASA's cloud-optimized granules use).
pub const FIRST_PAGE_GUESS: u64 = 8 << 20;
/// Metadata block of paged files once their metadata is read (or, for a subset, wanted piece
/// by piece): a quarter MiB brings a cluster of headers in one request without reaching far
/// into a raw-data page, and divides every page size libhdf5 allows past 256 KiB.
pub const PAGED_BLOCK: u64 = 256 * 1024;
/// Metadata block of paged files opened to read a few datasets whole
/// ([`crate::File::open_to_read`]): past [`READ_FIRST_READ`] such a read lacks only a few KiB
/// of names and the continuations libhdf5 writes at close next to the extension, and small
/// blocks keep a 13 MB variable's metadata over-read well under a fifth of it.
pub const READ_BLOCK: u64 = 32 * 1024;

/// Bytes read past the superblock extension's address: its header, and what libhdf5 writes
/// after it when it closes a file (in the ATL03 granules written with paged aggregation, the
/// last metadata ends 85 KiB past the extension).
const EXTENSION_ROOM: u64 = 128 * 1024;

/// Where the metadata prefix of a file ends when its superblock extension (at absolute offset
/// `at`) lies within [`FIRST_PAGE_GUESS`]: a little past the extension, on a boundary of the
/// metadata cache's `block` so the whole prefix stays cached. An open for a walk reads what of
/// it the first read lacks.
pub fn through_extension(at: u64, block: u64) -> Option<u64> {
    (at < FIRST_PAGE_GUESS).then(|| at.saturating_add(EXTENSION_ROOM).next_multiple_of(block))
}

/// Pages larger than this are not used as cache blocks (a corrupt page size must not make one
/// metadata read fetch gigabytes).
pub const MAX_PAGE_BLOCK: u64 = 64 << 20;
/// Bound on cached metadata per open file.
pub const CACHE_CAPACITY: u64 = 256 << 20;

/// A logged prefetch: how many reads were logged before it, and the ranges it asked for.
pub(crate) type Prefetch = (usize, Vec<Range<u64>>);

pub(crate) struct MetaSource {
    cache: BlockCache,
    size: u64,
    /// Cache-image entries as (absolute offset, bytes), sorted and non-overlapping.
    overlay: Vec<(u64, Bytes)>,
    /// Every metadata read in order (absolute ranges), when the file was opened for
    /// `coh5 inspect`, which derives metadata extents and request counts from it.
    log: Option<Mutex<Vec<Range<u64>>>>,
    /// Prefetches made while logging, as (reads logged before it, ranges): the cost model
    /// replays them where they happened.
    prefetch_log: Option<Mutex<Vec<Prefetch>>>,
}

impl MetaSource {
    pub fn new(source: Arc<dyn ByteSource>, size: u64, block: u64, logged: bool) -> Self {
        let cache = BlockCache::new(source, block, CACHE_CAPACITY);
        cache.set_size(size);
        MetaSource {
            cache,
            size,
            overlay: Vec::new(),
            log: logged.then(Mutex::default),
            prefetch_log: logged.then(Mutex::default),
        }
    }

    /// Seeds the cache with bytes fetched by other means (the speculative first read).
    pub fn seed(&self, offset: u64, data: Bytes) {
        self.cache.insert(offset, data);
    }

    /// Makes whole pages of `page` bytes the unit of metadata reads, as a paged file is laid
    /// out. `first` holds the file's first bytes; the rest of page 0, which holds the file's
    /// metadata while it fits one page, is fetched now in parallel parts through the range
    /// planner (one round trip even for an 8 MiB page at one connection's bandwidth).
    pub fn use_pages(&mut self, page: u64, first: Bytes) -> coh5_io::Result<()> {
        if page == self.cache.block_size() {
            return Ok(());
        }
        let page0 = self.extend_prefix(first, page)?;
        self.set_block_size(page, page0);
        Ok(())
    }

    /// Makes `block` bytes the unit of metadata reads, keeping `seed` (the file's first bytes).
    pub fn set_block_size(&mut self, block: u64, seed: Bytes) {
        if block == self.cache.block_size() {
            return;
        }
        let cache = BlockCache::new(self.cache.source().clone(), block, CACHE_CAPACITY);
        cache.set_size(self.size);
        cache.insert(0, seed);
        self.cache = cache;
    }

    /// The file's first `end` bytes (clipped to its size), given its first bytes `first`: the
    /// rest is fetched in parallel parts through the range planner, so even 8 MiB cost about
    /// one round trip. The new bytes are also seeded into the cache.
    pub fn extend_prefix(&self, first: Bytes, end: u64) -> coh5_io::Result<Bytes> {
        let have = first.len() as u64;
        let end = end.min(self.size);
        if have >= end {
            return Ok(first);
        }
        let source = self.cache.source().clone();
        let rest = have..end;
        let parts = block_on(coh5_io::trace::widened(read_planned(
            source.as_ref(),
            std::slice::from_ref(&rest),
            &PlanOptions::default(),
        )))?;
        let mut whole = BytesMut::with_capacity(end as usize);
        whole.extend_from_slice(&first);
        for p in parts {
            whole.extend_from_slice(&p);
        }
        let whole = whole.freeze();
        self.cache.insert(0, whole.clone());
        Ok(whole)
    }

    /// Brings the metadata at `ranges` into the cache, all missing blocks requested together:
    /// callers that know the next level of structures (the children of a group) ask for it
    /// before decoding each piece, so the level costs one round trip.
    pub fn prefetch(&self, ranges: &[Range<u64>]) {
        if IN_HAND.get().is_some() {
            if !ranges.iter().all(|r| self.cache.holds(r)) {
                IN_HAND.set(Some(true));
            }
            return;
        }
        if let Some(log) = &self.prefetch_log {
            let at = self.log_len();
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((at, ranges.to_vec()));
        }
        block_on(self.cache.prefetch(ranges));
    }

    pub fn block_size(&self) -> u64 {
        self.cache.block_size()
    }

    /// Whether the bytes of `range` are cached, so reading them would not fetch.
    pub fn holds(&self, range: &Range<u64>) -> bool {
        self.cache.holds(range)
    }

    /// How many metadata reads have been logged (0 unless opened with logging).
    pub fn log_len(&self) -> usize {
        self.log.as_ref().map_or(0, |l| lock_log(l).len())
    }

    /// The logged prefetches, each with the number of reads logged before it.
    pub fn prefetches(&self) -> Vec<Prefetch> {
        self.prefetch_log
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// The logged metadata reads from the `start`-th on.
    pub fn log_from(&self, start: usize) -> Vec<Range<u64>> {
        self.log
            .as_ref()
            .map(|l| lock_log(l).get(start..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    /// Serves the entries of a metadata cache image instead of the file bytes they cover.
    /// `base` is the superblock's base address (image entries carry relative addresses).
    pub fn set_overlay(&mut self, image: CacheImage, base: u64) -> coh5_format::Result<()> {
        let mut overlay = Vec::with_capacity(image.entries.len());
        for e in image.entries {
            let start = e.address.checked_add(base);
            let end = start.and_then(|s| s.checked_add(e.image.len() as u64));
            if end.is_none_or(|end| end > self.size) {
                return Err(FormatError::corrupt(
                    "metadata cache image",
                    e.address,
                    "entry lies beyond the end of the file",
                ));
            }
            overlay.push((e.address + base, e.image));
        }
        self.overlay = overlay;
        Ok(())
    }

    /// Patches overlay entries into `bytes`, which were read at `offset`.
    fn apply_overlay(&self, offset: u64, bytes: Bytes) -> Bytes {
        let end = offset + bytes.len() as u64;
        // Entries are sorted and disjoint: those ending after `offset` start at this index.
        let first = self
            .overlay
            .partition_point(|(start, image)| start + image.len() as u64 <= offset);
        let hits = self.overlay[first..]
            .iter()
            .take_while(|(start, _)| *start < end);
        let mut patched: Option<BytesMut> = None;
        for (start, image) in hits {
            // One entry covering the whole read needs no copy.
            if *start <= offset && start + image.len() as u64 >= end {
                let from = (offset - start) as usize;
                return image.slice(from..from + bytes.len());
            }
            let out = patched.get_or_insert_with(|| BytesMut::from(&bytes[..]));
            let lo = (*start).max(offset);
            let hi = (start + image.len() as u64).min(end);
            out[(lo - offset) as usize..(hi - offset) as usize]
                .copy_from_slice(&image[(lo - start) as usize..(hi - start) as usize]);
        }
        patched.map_or(bytes, BytesMut::freeze)
    }

    pub fn source(&self) -> &Arc<dyn ByteSource> {
        self.cache.source()
    }

    /// Exactly the bytes of `ranges` (within the file), fetched together through the range
    /// planner instead of the block cache: for structures read whole and then kept decoded
    /// (global heap collections), which libhdf5 puts among the raw data, so that blocks
    /// around them would fetch that data. `None` while logging for `coh5 inspect`, whose cost
    /// model prices metadata in blocks.
    pub fn fetch_exact(&self, ranges: &[Range<u64>]) -> Option<coh5_io::Result<Vec<Bytes>>> {
        if self.log.is_some() {
            return None;
        }
        let source = self.cache.source();
        let plan = PlanOptions::for_source(source.as_ref());
        let parts = block_on(read_planned(source.as_ref(), ranges, &plan));
        Some(parts.map(|parts| {
            parts
                .into_iter()
                .zip(ranges)
                .map(|(bytes, r)| self.apply_overlay(r.start, bytes))
                .collect()
        }))
    }

    /// Bytes of `range`, through the cache (used for small raw data such as contiguous datasets
    /// read for the manifest).
    pub fn fetch(&self, range: Range<u64>) -> coh5_io::Result<Bytes> {
        block_on(self.cache.read(range))
    }
}

impl ReadAt for MetaSource {
    fn read_at(&self, offset: u64, len: u64) -> coh5_format::Result<Bytes> {
        let end = offset.checked_add(len).filter(|&e| e <= self.size);
        let Some(end) = end else {
            return Err(FormatError::Truncated {
                structure: "file",
                offset,
                need: len,
                have: self.size.saturating_sub(offset),
            });
        };
        let bytes = if IN_HAND.get().is_some() {
            self.cache.read_cached(offset..end).ok_or_else(|| {
                IN_HAND.set(Some(true));
                FormatError::Io {
                    offset,
                    len,
                    detail: "not fetched yet".into(),
                }
            })?
        } else {
            self.fetch(offset..end).map_err(|e| FormatError::Io {
                offset,
                len,
                detail: e.to_string(),
            })?
        };
        if let Some(log) = &self.log {
            lock_log(log).push(offset..end);
        }
        Ok(self.apply_overlay(offset, bytes))
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn prefetch(&self, ranges: &[Range<u64>]) {
        MetaSource::prefetch(self, ranges);
    }
}

thread_local! {
    /// `Some(missed)` while this thread works from the metadata in hand alone ([`in_hand_only`]).
    static IN_HAND: Cell<Option<bool>> = const { Cell::new(None) };
}

/// `f()` worked out on this thread from the metadata already cached: its metadata reads fail
/// rather than fetch, and its prefetches of anything not cached are dropped. `None` if any
/// was, so the caller runs `f` again where it may fetch: work whose bytes are all in hand is
/// then done without the threads that overlap the misses of work whose bytes are not.
pub(crate) fn in_hand_only<R>(f: impl FnOnce() -> R) -> Option<R> {
    /// Restores the outer mode even if `f` panics; a miss inside also counts for an outer
    /// `in_hand_only` on this thread.
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let missed = IN_HAND.replace(self.0) == Some(true);
            if missed && self.0.is_some() {
                IN_HAND.set(Some(true));
            }
        }
    }
    let restore = Restore(IN_HAND.replace(Some(false)));
    let out = f();
    let missed = IN_HAND.get() == Some(true);
    drop(restore);
    (!missed).then_some(out)
}

/// The metadata in hand: reads are answered from cached blocks only and fail rather than
/// fetch. For hints about what to ask for next, worked out without a round trip of their own.
pub(crate) struct InHand<'a>(pub &'a MetaSource);

impl ReadAt for InHand<'_> {
    fn read_at(&self, offset: u64, len: u64) -> coh5_format::Result<Bytes> {
        let meta = self.0;
        offset
            .checked_add(len)
            .filter(|&end| end <= meta.size)
            .and_then(|end| meta.cache.peek(offset..end))
            .map(|bytes| meta.apply_overlay(offset, bytes))
            .ok_or_else(|| FormatError::Io {
                offset,
                len,
                detail: "not fetched yet".into(),
            })
    }

    fn size(&self) -> u64 {
        self.0.size
    }
}

/// A panic elsewhere cannot leave a plain list inconsistent, so poisoning is ignored.
fn lock_log(log: &Mutex<Vec<Range<u64>>>) -> std::sync::MutexGuard<'_, Vec<Range<u64>>> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coh5_format::cache_image::CacheImageEntry;
    use coh5_io::MemorySource;

    fn source_with(entries: &[(u64, &'static [u8])]) -> MetaSource {
        let source = Arc::new(MemorySource::new(vec![b'.'; 32], "mem"));
        let mut meta = MetaSource::new(source, 32, 8, false);
        let image = CacheImage {
            entries: entries
                .iter()
                .map(|&(address, image)| CacheImageEntry {
                    address,
                    image: Bytes::from_static(image),
                })
                .collect(),
        };
        meta.set_overlay(image, 2).unwrap();
        meta
    }

    #[test]
    fn image_entries_win_over_file_bytes() {
        // Entries at absolute offsets 4..7 and 10..12 (relative 2 and 8, base 2).
        let meta = source_with(&[(2, b"abc"), (8, b"XY")]);
        let read = |o, n| meta.read_at(o, n).unwrap();
        assert_eq!(&read(0, 16)[..], b"....abc...XY....");
        assert_eq!(&read(5, 6)[..], b"bc...X");
        assert_eq!(&read(4, 3)[..], b"abc");
        assert_eq!(&read(5, 1)[..], b"b");
        assert_eq!(&read(12, 4)[..], b"....");
    }

    #[test]
    fn in_hand_only_never_fetches_and_reports_a_miss() {
        let data: Vec<u8> = (0..64).collect();
        let source = Arc::new(MemorySource::new(data, "mem"));
        let meta = MetaSource::new(source, 64, 8, false);
        meta.read_at(0, 12).unwrap();
        let requests = || meta.source().stats().snapshot().requests;
        assert_eq!(requests(), 1);
        let hit = in_hand_only(|| meta.read_at(2, 10).map(|b| b.to_vec()));
        assert_eq!(hit, Some(Ok((2..12).collect())));
        assert_eq!(in_hand_only(|| meta.read_at(12, 8).is_err()), None);
        assert_eq!(in_hand_only(|| meta.prefetch(&[0..8, 8..16])), Some(()));
        assert_eq!(in_hand_only(|| meta.prefetch(&[0..8, 12..20])), None);
        // A miss in a nested attempt also fails the outer one.
        let outer = in_hand_only(|| in_hand_only(|| meta.read_at(40, 1).is_err()));
        assert_eq!(outer, None);
        assert_eq!(requests(), 1, "nothing fetched in hand");
        // Outside, reads fetch again.
        assert_eq!(&meta.read_at(40, 1).unwrap()[..], &[40]);
        assert_eq!(requests(), 2);
    }

    #[test]
    fn entries_past_the_end_are_refused() {
        let source = Arc::new(MemorySource::new(vec![0; 32], "mem"));
        let mut meta = MetaSource::new(source, 32, 8, false);
        let image = CacheImage {
            entries: vec![CacheImageEntry {
                address: 30,
                image: Bytes::from_static(b"abc"),
            }],
        };
        let e = meta.set_overlay(image, 0).unwrap_err();
        assert!(matches!(e, FormatError::Corrupt { offset: 30, .. }), "{e}");
    }

    /// h5clear_mdc_image.h5 holds its object headers only in the cache image: it opens and its
    /// dataset reads as libhdf5 reads it (the golden manifest's hash).
    #[test]
    fn file_with_cache_image_opens() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/hdf5/tools/test/misc/testfiles/h5clear_mdc_image.h5"
        );
        let file = crate::File::open(path).unwrap();
        let m = crate::manifest::manifest(&file, Default::default()).unwrap();
        assert_eq!(m["errors"], serde_json::json!([]), "{m:#}");
        assert_eq!(
            m["objects"]["/DSET"]["data_sha256"],
            "114ee61187481711cbaa3cabc6c5ba587043ca349bcd7d03857af6edaba007e8"
        );
    }
}
