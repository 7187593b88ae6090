//! An open HDF5 file: the superblock, the metadata cache, and the per-file caches of decoded
//! structures that every object shares.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use coh5_format::btree::v1::{chunk_child_spans, symbol_node_spans, GROUP_NODE_PREFETCH};
use coh5_format::cache_image::{CacheImage, CacheImageMessage};
use coh5_format::heap::fractal::FractalHeap;
use coh5_format::heap::global::GlobalHeapCollection;
use coh5_format::heap::local::LocalHeap;
use coh5_format::limits::MAX_METADATA_BLOCK;
use coh5_format::message::file_space_info::FileSpaceInfo;
use coh5_format::message::kind;
use coh5_format::message::layout::{ChunkIndex, Layout, LayoutMessage};
use coh5_format::message::shared_message_table::SharedMessageTableMessage;
use coh5_format::message::SharedRef;
use coh5_format::object_header::{ObjectHeader, RawMessage};
use coh5_format::sohm::SharedMessageTable;
use coh5_format::superblock::Superblock;
use coh5_format::{root_hint, Context, Cursor, Error as FormatError, ReadAt, Reader};
use coh5_io::{read_planned, trace, Ahead, ByteSource, PlanOptions, SourceOptions};

use crate::error::{Error, Result};
use crate::meta::{
    through_extension, InHand, MetaSource, DEFAULT_BLOCK, FIRST_READ, MAX_PAGE_BLOCK, PAGED_BLOCK,
    PATHS_FIRST_READ, READ_BLOCK, READ_FIRST_READ,
};
use crate::object::Group;
use crate::runtime::block_on;

/// Metadata block of [`Access::Sparse`] in files without pages: a v1 chunk B-tree node of
/// 64 entries is about 2.5 KiB, so 16 KiB reads little beyond the node that needs it.
const SPARSE_BLOCK: u64 = 16 * 1024;

/// Shared messages may point at another object header's message; a chain longer than this is a
/// loop in a corrupt file (libhdf5 never writes chains at all).
const MAX_SHARED_HOPS: usize = 4;

/// What an open file's metadata will be used for, which decides how much of it the open
/// fetches ahead: round trips against bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Every object will be visited (a listing, a manifest, xarray's open): a metadata prefix
    /// the superblock extension reveals is fetched whole at open, in the round trip that reads
    /// the extension, so the walk needs no further one.
    #[default]
    Walk,
    /// A few objects reached by path (reading some variables): a first read of 1 MiB, then the
    /// metadata in blocks as the objects touch it (256 KiB in paged files, 128 KiB otherwise),
    /// so reading a 13 MB variable of a granule with 2.7 MB of metadata does not fetch all of it.
    Paths,
    /// Many objects, little of each (a subset of some beams of a granule): the metadata prefix
    /// at open as for a walk, otherwise a paged file's metadata in 256 KiB blocks and an
    /// unpaged file's in 16 KiB blocks instead of 128 KiB, since the chunk-index nodes a subset
    /// needs lie scattered among the chunks.
    Sparse,
}

impl Access {
    /// Bytes of the open's first round trip.
    fn first_read(self) -> u64 {
        match self {
            Access::Paths => PATHS_FIRST_READ,
            Access::Walk | Access::Sparse => FIRST_READ,
        }
    }
}

/// An open HDF5 file. Cheap to clone; all clones share one metadata cache.
#[derive(Clone)]
pub struct File {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub location: String,
    /// How the file was reached; files it refers to (external raw data, VDS sources) are
    /// opened the same way, so a granule in a private bucket can name its neighbours.
    pub options: SourceOptions,
    pub meta: MetaSource,
    pub superblock: Superblock,
    /// The root group's (B-tree, local heap): the superblock's record, or else where libhdf5
    /// puts them (see [`root_hint`]); used only to fetch the root's names early.
    root_symbol_table: Option<(u64, u64)>,
    pub sohm: Option<SharedMessageTable>,
    pub file_space: Option<FileSpaceInfo>,
    headers: Mutex<HashMap<u64, Arc<ObjectHeader>>>,
    global_heaps: Mutex<HashMap<u64, Arc<GlobalHeapCollection>>>,
    fractal_heaps: Mutex<HashMap<u64, Arc<FractalHeap>>>,
    /// Object address → the path libhdf5 would name it by (storage-order search), built on first use.
    pub storage_paths: OnceLock<HashMap<u64, String>>,
    /// Object address → (group address, link name) of the first hard link to it read so far:
    /// names reference targets without the whole tree's index (`paths::unique_path`).
    pub parents: Mutex<HashMap<u64, (u64, Vec<u8>)>>,
    /// This file itself, for work that needs a [`File`] handle (building the path index
    /// prefetches the tree through [`Group`]s).
    pub me: Weak<Inner>,
    /// For a file opened to read datasets whole: where data is fetched before the metadata
    /// that confirms it.
    early: Option<EarlyData>,
}

/// Data fetched ahead of the metadata that confirms it ([`File::open_to_read`]).
struct EarlyData {
    ahead: Arc<Ahead>,
    /// Bytes that may still be fetched early (the source's read-ahead window, less what has
    /// been, so guesses cannot hold more in memory than one read may), and the headers whose
    /// data was, so paths resolved side by side to one dataset fetch it once.
    budget: Mutex<(u64, HashSet<u64>)>,
}

impl EarlyData {
    /// Fetches `ranges` early if the budget allows all of them (and, with `header`, if that
    /// header's data was not fetched early before).
    fn fetch(&self, ranges: &[Range<u64>], header: Option<u64>) {
        let bytes = ranges
            .iter()
            .fold(0u64, |n, r| n.saturating_add(r.end - r.start));
        {
            let mut budget = lock(&self.budget);
            let (left, headers) = &mut *budget;
            if ranges.is_empty() || bytes > *left || header.is_some_and(|h| !headers.insert(h)) {
                return;
            }
            *left -= bytes;
        }
        block_on(async { self.ahead.fetch(ranges) });
    }
}

impl File {
    /// Opens a local path or a URL (`s3://`, `gs://`, `az://`, `http(s)://`, `file://`) with
    /// options taken from the environment.
    pub fn open(location: &str) -> Result<File> {
        File::open_with(location, &SourceOptions::new())
    }

    /// Opens with explicit source options (credentials, endpoint, anonymous access...).
    pub fn open_with(location: &str, options: &SourceOptions) -> Result<File> {
        // Opening a remote object fetches its first bytes with its size (see coh5_io::open).
        File::open_as(location, options, Access::Walk)
    }

    /// Opens an HDF5 file held by any byte source.
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<File> {
        File::from_source_with(source, SourceOptions::new())
    }

    /// Opens an HDF5 file held by a byte source; `options` reach the files it refers to.
    pub fn from_source_with(source: Arc<dyn ByteSource>, options: SourceOptions) -> Result<File> {
        File::open_source(source, options, false)
    }

    /// Opens a path or URL for the given use of its metadata ([`File::open_with`] is
    /// [`Access::Walk`]). Past the first read, [`Access::Paths`] fetches a paged file's
    /// metadata in 256 KiB blocks as objects need it, instead of the whole metadata prefix (or,
    /// when it is not known where the metadata ends, the rest of the first page) at open: with
    /// 8 MiB pages of which a few MiB hold metadata, a read that needs part of it fetches
    /// several times fewer bytes for one or two more round trips.
    pub fn open_as(location: &str, options: &SourceOptions, access: Access) -> Result<File> {
        let _purpose = trace::enter(trace::SUPERBLOCK);
        let options = options.clone().first_read(access.first_read());
        let source = block_on(coh5_io::open(location, &options))?;
        File::open_source_as(source, options, false, access, None)
    }

    /// [`File::open_as`] with [`Access::Paths`], for reading the datasets at `paths` whole.
    /// The first read is 2 MiB; when the bytes it brings already show where the
    /// datasets keep their data, that data is fetched with the metadata that confirms it,
    /// which saves a read of a granule's variable a round trip (see `crate::guess`).
    pub fn open_to_read(location: &str, options: &SourceOptions, paths: &[String]) -> Result<File> {
        let _purpose = trace::enter(trace::SUPERBLOCK);
        let options = options.clone().first_read(READ_FIRST_READ);
        let source = block_on(coh5_io::open(location, &options))?;
        File::from_source_to_read(source, options, paths)
    }

    /// [`File::open_to_read`] over a byte source.
    pub fn from_source_to_read(
        source: Arc<dyn ByteSource>,
        options: SourceOptions,
        paths: &[String],
    ) -> Result<File> {
        let ahead = Arc::new(Ahead::new(source));
        File::open_source_as(
            ahead.clone(),
            options,
            false,
            Access::Paths,
            Some((ahead, paths)),
        )
    }

    /// [`File::open_as`] with [`Access::Sparse`]: for a subset of some beams of a granule.
    pub fn open_sparse(location: &str, options: &SourceOptions) -> Result<File> {
        File::open_as(location, options, Access::Sparse)
    }

    /// Opens a byte source; with `logged`, every metadata read is recorded (for inspection).
    pub(crate) fn open_source(
        source: Arc<dyn ByteSource>,
        options: SourceOptions,
        logged: bool,
    ) -> Result<File> {
        File::open_source_as(source, options, logged, Access::Walk, None)
    }

    /// Opens a byte source for `access`; with `reading`, also fetches early what the datasets
    /// at those paths store, as far as the first read shows it.
    fn open_source_as(
        source: Arc<dyn ByteSource>,
        options: SourceOptions,
        logged: bool,
        access: Access,
        reading: Option<(Arc<Ahead>, &[String])>,
    ) -> Result<File> {
        let location = source.location().to_string();
        let (size, first) = {
            let _purpose = trace::enter(trace::SUPERBLOCK);
            let size = block_on(source.size())?;
            // One speculative round trip brings the superblock, the root group and, in a file
            // whose metadata is aggregated, usually all of it. Its bytes count as used only as
            // the decoders read them from the cache it seeds.
            let first_read = 0..size.min(match reading {
                Some(_) => READ_FIRST_READ,
                None => access.first_read(),
            });
            let first = block_on(trace::widened(read_planned(
                source.as_ref(),
                std::slice::from_ref(&first_read),
                &PlanOptions::for_source(source.as_ref()),
            )))?
            .pop()
            .unwrap_or_default();
            (size, first)
        };
        let mut meta = MetaSource::new(source, size, DEFAULT_BLOCK, logged);
        meta.seed(0, first.clone());
        let fail = |source: FormatError| Error::Format {
            location: location.clone(),
            path: "/".into(),
            source,
        };
        let superblock = Superblock::read(&meta).map_err(fail)?;
        let extension = superblock
            .extension
            .map(|a| superblock.ctx.base_address.saturating_add(a));
        // Blocks of the metadata cache once the first read is in, in a file with pages.
        let block = match reading {
            Some(_) => READ_BLOCK,
            None => PAGED_BLOCK,
        };
        // libhdf5 writes the superblock extension at close, after nearly all of a file's
        // metadata: the bytes up to a little past it are the metadata. For a walk, what of them
        // the first read lacks is fetched now, in the same round trip that reads the extension.
        // In a paged file these are the used part of page 0, so the rest of the page is not
        // read. Otherwise blocks dividing the prefix are fetched as objects need them, starting
        // with the prefix's tail from the extension on: libhdf5 writes it at close, with the
        // continuations of headers that grew (an ATL03 group's links among them).
        let through_extension = extension.and_then(|at| through_extension(at, block));
        let root_symbol_table = superblock.root_symbol_table.or_else(|| {
            root_hint::root_symbol_table(
                &Reader::new(&first, superblock.ctx),
                superblock.root_object_header,
            )
        });
        // Before the names and the extension are asked for (which waits for them), so the
        // guessed data is fetched in the same round trip.
        let early = reading.map(|(ahead, paths)| {
            let early = EarlyData {
                budget: Mutex::new((ahead.read_ahead(), HashSet::new())),
                ahead,
            };
            let in_hand = InHand(&meta);
            let r = Reader::new(&in_hand, superblock.ctx);
            let ranges = crate::guess::stored_ranges(&r, superblock.root_object_header, paths);
            early.fetch(&ranges, None);
            early
        });
        let first = match (through_extension, extension) {
            (Some(end), Some(at)) if access == Access::Paths => {
                meta.set_block_size(block, first.clone());
                // The root's names go out with the tail: every path starts with them.
                let ctx = superblock.ctx;
                let mut spans = root_symbol_table
                    .map(|(btree, heap)| group_name_spans(&Reader::new(&first, ctx), btree, heap))
                    .unwrap_or_default();
                spans.push((at.saturating_sub(ctx.base_address), end - at));
                Reader::new(&meta, ctx).prefetch_spans(&spans);
                first
            }
            (Some(end), _) if end > first.len() as u64 => {
                let prefix = meta.extend_prefix(first, end)?;
                // Blocks the prefix ends on, so all of it stays cached.
                meta.set_block_size(block, prefix.clone());
                prefix
            }
            _ => first,
        };
        let mut file = Inner {
            location: location.clone(),
            options,
            meta,
            superblock,
            root_symbol_table,
            sohm: None,
            file_space: None,
            headers: Mutex::default(),
            global_heaps: Mutex::default(),
            fractal_heaps: Mutex::default(),
            storage_paths: OnceLock::new(),
            parents: Mutex::default(),
            me: Weak::new(),
            early,
        };
        file.read_extension().map_err(fail)?;
        // A paged file (File Space Info, strategy PAGE) aggregates metadata into whole pages:
        // fetch metadata a page at a time. Raw data goes through the read planner by chunk.
        // A page size no writer uses keeps the default blocks.
        let page = file
            .file_space
            .as_ref()
            .and_then(|f| f.page_size())
            .filter(|p| (DEFAULT_BLOCK..=MAX_PAGE_BLOCK).contains(p));
        if let Some(page) = page {
            if (access != Access::Walk || through_extension.is_some()) && page % block == 0 {
                // The metadata is in hand (or, for a subset, wanted piece by piece): what is
                // still missing is fetched in blocks that divide the page, so none straddles a
                // metadata and a raw-data page.
                file.meta.set_block_size(block, first);
            } else {
                // Complete the first page, which holds the file's metadata, in one round trip.
                file.meta.use_pages(page, first)?;
            }
        } else if access == Access::Sparse {
            // Outside the first read, an unpaged file's metadata a subset needs is mostly
            // chunk-index B-tree nodes of a few KiB scattered among the chunks: small blocks
            // keep from fetching the raw data around each.
            file.meta.set_block_size(SPARSE_BLOCK, first);
        }
        Ok(File {
            inner: Arc::new_cyclic(|me| Inner {
                me: me.clone(),
                ..file
            }),
        })
    }

    /// The path or URL the file was opened from.
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    pub fn superblock(&self) -> &Superblock {
        &self.inner.superblock
    }

    /// The File Space Info message of the superblock extension (strategy, page size), if any.
    pub fn file_space(&self) -> Option<&FileSpaceInfo> {
        self.inner.file_space.as_ref()
    }

    /// The byte source, with its request and byte counters.
    pub fn source(&self) -> &Arc<dyn ByteSource> {
        self.inner.meta.source()
    }

    /// The root group.
    pub fn root(&self) -> Result<Group> {
        let addr = self.inner.superblock.root_object_header;
        if let Some((btree, heap)) = self.inner.root_symbol_table {
            if !lock(&self.inner.headers).contains_key(&addr) {
                self.inner.read_root_header(addr, btree, heap);
            }
        }
        Group::open(self.clone(), "/".into(), addr)
    }
}

/// Relative (address, length) spans of the symbol nodes and the names of the old-style group
/// with this tree and heap, as far as `r` tells them: a caller asks for them together with a
/// read it makes anyway.
fn group_name_spans(r: &Reader, btree: u64, heap: u64) -> Vec<(u64, u64)> {
    let mut spans = symbol_node_spans(r, btree).unwrap_or_default();
    spans.extend(LocalHeap::data_span(r, heap).ok());
    spans
}

/// The nodes of the second level of the chunk tree of the dataset whose first header chunk is
/// `first`, as far as `r` shows them; none for other objects, chunk indexes and layouts.
fn chunk_tree_spans(r: &Reader, first: &ObjectHeader) -> Vec<(u64, u64)> {
    let Some(m) = first.first(kind::LAYOUT) else {
        return Vec::new();
    };
    match LayoutMessage::parse(&mut m.cursor(), &r.ctx) {
        Ok(LayoutMessage {
            layout:
                Layout::Chunked {
                    chunk_dims,
                    index: ChunkIndex::BTreeV1 { address },
                    ..
                },
            ..
        }) => chunk_child_spans(r, address, chunk_dims.len() + 1).unwrap_or_default(),
        _ => Vec::new(),
    }
}

impl Inner {
    /// A byte source for a file this one refers to, reached with this file's options.
    pub fn open_related(&self, location: &str) -> Result<Arc<dyn ByteSource>> {
        Ok(block_on(coh5_io::open(location, &self.options))?)
    }

    pub fn ctx(&self) -> Context {
        self.superblock.ctx
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader::new(&self.meta, self.superblock.ctx)
    }

    /// Wraps a decoding error with this file's location and the object path.
    pub fn err(&self, path: &str, source: FormatError) -> Error {
        Error::Format {
            location: self.location.clone(),
            path: path.to_string(),
            source,
        }
    }

    fn read_extension(&mut self) -> coh5_format::Result<()> {
        let Some(addr) = self.superblock.extension else {
            return Ok(());
        };
        let ext = self.header(addr)?;
        // Before anything else is decoded: the image's entries replace the file's bytes.
        if let Some(m) = ext.first(kind::METADATA_CACHE_IMAGE) {
            let msg = CacheImageMessage::parse(&mut m.cursor(), &self.ctx())?;
            let image = CacheImage::read(&self.reader(), &msg)?;
            let base = self.ctx().base_address;
            self.meta.set_overlay(image, base)?;
            lock(&self.headers).clear();
        }
        if let Some(m) = ext.first(kind::SHARED_MESSAGE_TABLE) {
            let table = SharedMessageTableMessage::parse(&mut m.cursor(), &self.ctx())?;
            self.sohm = Some(SharedMessageTable::read(
                &self.reader(),
                table.table_address,
                table.num_indexes,
            )?);
        }
        // libhdf5 ignores a message it once marked as unknown; some files carry such a
        // file-space message whose body does not match its version.
        if let Some(m) = ext
            .first(kind::FILE_SPACE_INFO)
            .filter(|m| !m.was_unknown())
        {
            self.file_space = Some(FileSpaceInfo::parse(&mut m.cursor(), &self.ctx())?);
        }
        Ok(())
    }

    /// Every object header decoded so far (address, header), for `coh5 inspect`.
    pub fn decoded_headers(&self) -> Vec<(u64, Arc<ObjectHeader>)> {
        lock(&self.headers)
            .iter()
            .map(|(a, h)| (*a, h.clone()))
            .collect()
    }

    /// Reads the root group's header into the cache, with the group's names and symbol nodes
    /// (from the tree and heap a version 0/1 superblock caches, or [`root_hint`] found) fetched
    /// in the round trip of the header's continuations: libhdf5 moves the part of a root header
    /// that grows (its attributes) to where the file ended, so listing the root would otherwise
    /// wait for that read and then for its own. The hint only fetches; the links still come from
    /// the header's symbol table message. Errors are left for the reads that follow.
    fn read_root_header(&self, addr: u64, btree: u64, heap: u64) {
        let r = self.reader();
        r.prefetch_spans(&[
            (addr, coh5_format::object_header::SPECULATIVE_READ),
            (heap, LocalHeap::header_len(&r.ctx)),
            (btree, GROUP_NODE_PREFETCH),
        ]);
        let _ = self.header_with(addr, &group_name_spans(&r, btree, heap));
    }

    /// The header of an object reached by a path, which is usually read next. When its first
    /// chunk names continuations to fetch, the second level of its chunk tree (as far as the
    /// bytes in hand show it) is asked for in the same round trip: where metadata is not
    /// aggregated, libhdf5 writes a dataset's continuation far from its header, and the walk of
    /// the tree would otherwise wait for that read before asking for its own. For a file
    /// opened to read datasets whole, the data the first chunk locates is fetched in that
    /// round trip too (the read takes it once the whole header confirms it).
    pub fn header_to_read(&self, addr: u64) -> coh5_format::Result<Arc<ObjectHeader>> {
        if let Some(h) = lock(&self.headers).get(&addr) {
            return Ok(h.clone());
        }
        let _purpose = trace::enter(trace::OBJECT_HEADER);
        let (first, continuations) = ObjectHeader::read_first_chunk(&self.reader(), addr)?;
        let in_hand = InHand(&self.meta);
        let r = Reader::new(&in_hand, self.ctx());
        let also = chunk_tree_spans(&r, &first);
        if let Some(early) = &self.early {
            // Only when the rest of the header is still to come: otherwise the read follows
            // at once and asks for the data itself.
            let missing = continuations
                .iter()
                .any(|&(at, len)| r.read(at, len, "continuation").is_err());
            if missing {
                let ranges = crate::guess::header_ranges(&r, &first).unwrap_or_default();
                early.fetch(&ranges, Some(addr));
            }
        }
        self.header_with(addr, &also)
    }

    /// The object header at `addr`, decoded once per file.
    pub fn header(&self, addr: u64) -> coh5_format::Result<Arc<ObjectHeader>> {
        self.header_with(addr, &[])
    }

    /// [`Inner::header`], asking for the spans `also` with the header's continuations when it
    /// is read (see [`ObjectHeader::read_with`]).
    fn header_with(
        &self,
        addr: u64,
        also: &[(u64, u64)],
    ) -> coh5_format::Result<Arc<ObjectHeader>> {
        if let Some(h) = lock(&self.headers).get(&addr) {
            return Ok(h.clone());
        }
        let h = {
            let _purpose = trace::enter(trace::OBJECT_HEADER);
            Arc::new(ObjectHeader::read_with(&self.reader(), addr, also)?)
        };
        lock(&self.headers).insert(addr, h.clone());
        Ok(h)
    }

    /// Brings the global heap collections at `addrs` that are not decoded yet in together:
    /// their first 4 KiB (libhdf5's smallest collection), then the rest of those that are
    /// larger. A few collections far apart and not cached (attribute values, which libhdf5
    /// puts among the raw data) are fetched exactly and decoded, since metadata blocks around
    /// them would fetch mostly raw data; others come through the metadata cache, whose blocks
    /// cover a dataset's many neighbouring collections together. Errors are left for the
    /// reads that follow.
    pub fn prefetch_global_heaps(&self, addrs: &[u64]) {
        let mut missing: Vec<u64> = {
            let decoded = lock(&self.global_heaps);
            addrs
                .iter()
                .filter(|a| !decoded.contains_key(a))
                .copied()
                .collect()
        };
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return;
        }
        let _purpose = trace::enter(trace::GLOBAL_HEAP);
        let r = self.reader();
        let min = GlobalHeapCollection::MIN_SIZE;
        let far: Vec<u64> = missing
            .iter()
            .copied()
            .filter(|&a| !self.meta.holds(&self.span(a, min)))
            .collect();
        let block = self.meta.block_size();
        if !far.is_empty()
            && far.len() <= EXACT_HEAPS
            && far.windows(2).all(|w| w[1].saturating_sub(w[0]) >= block)
        {
            self.fetch_global_heaps(far.iter().map(|&a| (a, min)).collect());
            let decoded = lock(&self.global_heaps);
            missing.retain(|a| !decoded.contains_key(a));
        }
        r.prefetch(&missing, min);
        let whole: Vec<(u64, u64)> = missing
            .iter()
            .filter_map(|&a| {
                let size = GlobalHeapCollection::stored_len(&r, a).ok()?;
                (size > GlobalHeapCollection::MIN_SIZE).then_some((a, size))
            })
            .collect();
        r.prefetch_spans(&whole);
    }

    /// Fetches exactly the (collection address, length) spans of `wanted`, the first bytes
    /// of collections, and decodes each collection they hold whole; those that turn out larger
    /// are fetched again whole, together.
    fn fetch_global_heaps(&self, mut wanted: Vec<(u64, u64)>) {
        let ctx = self.ctx();
        for _ in 0..2 {
            if wanted.is_empty() {
                return;
            }
            let ranges: Vec<Range<u64>> =
                wanted.iter().map(|&(a, len)| self.span(a, len)).collect();
            let Some(Ok(fetched)) = self.meta.fetch_exact(&ranges) else {
                return;
            };
            let mut larger = Vec::new();
            for (&(a, _), bytes) in wanted.iter().zip(fetched) {
                match GlobalHeapCollection::parse(a, bytes, &ctx) {
                    Ok(h) => {
                        lock(&self.global_heaps).insert(a, Arc::new(h));
                    }
                    Err(FormatError::Truncated { need, .. }) if need <= MAX_METADATA_BLOCK => {
                        larger.push((a, need));
                    }
                    Err(_) => {}
                }
            }
            wanted = larger;
        }
    }

    /// The file bytes of `len` at relative address `a`, clipped to the file.
    fn span(&self, a: u64, len: u64) -> Range<u64> {
        let size = self.meta.size();
        let start = self.reader().absolute(a).min(size);
        start..start.saturating_add(len).min(size)
    }

    pub fn global_heap(&self, addr: u64) -> coh5_format::Result<Arc<GlobalHeapCollection>> {
        if let Some(h) = lock(&self.global_heaps).get(&addr) {
            return Ok(h.clone());
        }
        let h = {
            let _purpose = trace::enter(trace::GLOBAL_HEAP);
            Arc::new(GlobalHeapCollection::read(&self.reader(), addr)?)
        };
        lock(&self.global_heaps).insert(addr, h.clone());
        Ok(h)
    }

    pub fn fractal_heap(&self, addr: u64) -> coh5_format::Result<Arc<FractalHeap>> {
        if let Some(h) = lock(&self.fractal_heaps).get(&addr) {
            return Ok(h.clone());
        }
        let h = Arc::new(FractalHeap::read(&self.reader(), addr)?);
        lock(&self.fractal_heaps).insert(addr, h.clone());
        Ok(h)
    }

    /// The body of a header message, following a shared-message reference to the object header
    /// or shared-message heap that holds it.
    pub fn message_body(&self, msg: &RawMessage) -> coh5_format::Result<Bytes> {
        if !msg.is_shared() {
            return Ok(msg.data.clone());
        }
        self.shared_body(msg.kind, &msg.data, msg.address)
    }

    /// Resolves a shared-message reference stored in `data` (at `addr`) for a message of `kind`.
    pub fn shared_body(&self, kind: u16, data: &[u8], addr: u64) -> coh5_format::Result<Bytes> {
        let mut reference =
            SharedRef::parse(&mut Cursor::new(data, addr, "shared message"), &self.ctx())?;
        for _ in 0..MAX_SHARED_HOPS {
            match reference {
                SharedRef::Heap(id) => return self.sohm_object(kind, &id, addr),
                SharedRef::ObjectHeader(target) => {
                    let header = self.header(target)?;
                    let msg = header.first(kind).ok_or_else(|| {
                        FormatError::corrupt(
                            "shared message",
                            target,
                            format!("object header holds no message of type {kind:#x}"),
                        )
                    })?;
                    if !msg.is_shared() {
                        return Ok(msg.data.clone());
                    }
                    reference = SharedRef::parse(&mut msg.cursor(), &self.ctx())?;
                }
            }
        }
        Err(FormatError::Cycle {
            structure: "shared message",
            offset: addr,
        })
    }

    /// An object of the shared-message heap that indexes messages of `kind`.
    pub fn sohm_object(&self, kind: u16, id: &[u8], addr: u64) -> coh5_format::Result<Bytes> {
        let heap = self
            .sohm
            .as_ref()
            .and_then(|t| t.heap_for(kind))
            .ok_or_else(|| {
                FormatError::corrupt(
                    "shared message",
                    addr,
                    format!("message type {kind:#x} is shared but the file has no index for it"),
                )
            })?;
        self.heap_object(heap, id)
    }

    /// An object of the fractal heap at `heap`, undoing the heap's I/O filters if it has any.
    pub fn heap_object(&self, heap: u64, id: &[u8]) -> coh5_format::Result<Bytes> {
        let heap = self.fractal_heap(heap)?;
        heap.object_with(&self.reader(), id, &|stored, pipeline, mask| {
            crate::filters::unfilter_heap_block(stored, pipeline, mask, heap.address, &self.ctx())
        })
    }
}

/// Locks a cache map; a panic elsewhere cannot leave a plain map inconsistent, so poisoning
/// is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Global heap collections fetched exactly at most at once: one wave of requests. More are a
/// dataset's values, which lie together and come in blocks.
const EXACT_HEAPS: usize = 32;

/// Soft links followed while resolving one path; more means a loop.
const MAX_SOFT_HOPS: usize = 40;

impl File {
    /// The object at an absolute path, following hard and soft links as libhdf5 does
    /// (external and user-defined links are reported, not followed).
    pub fn object(&self, path: &str) -> Result<crate::object::Object> {
        self.resolve(path, 0)
    }

    /// The objects at several absolute paths, resolved together: each path is walked on a
    /// thread of its own, so the metadata reads of all the walks at one depth are in flight at
    /// once (the cache fetches a block once however many walks wait for it) instead of one path
    /// after another. Results are in the order of `paths`.
    pub fn objects<S: AsRef<str> + Sync>(&self, paths: &[S]) -> Vec<Result<crate::object::Object>> {
        crate::parallel::each(paths, |p| self.object(p.as_ref()))
            .into_iter()
            .zip(paths)
            .map(|(found, path)| {
                found.unwrap_or_else(|| {
                    Err(Error::Object {
                        location: self.location().to_string(),
                        path: path.as_ref().to_string(),
                        detail: "resolving the path panicked".into(),
                    })
                })
            })
            .collect()
    }

    fn resolve(&self, path: &str, hops: usize) -> Result<crate::object::Object> {
        use crate::link::LinkKind;
        use crate::object::Object;
        let not_found = || Error::NotFound {
            location: self.location().to_string(),
            path: path.to_string(),
        };
        let mut current = Object::Group(self.root()?);
        for name in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
            let Object::Group(group) = &current else {
                return Err(not_found());
            };
            // Only the named child is opened: no prefetch of its siblings' headers.
            let link = group
                .links_unprefetched()?
                .into_iter()
                .find(|l| l.name == name.as_bytes())
                .ok_or_else(not_found)?;
            current = match &link.kind {
                LinkKind::Hard(_) => group.open_link_to_read(&link)?,
                LinkKind::Soft(target) => {
                    if hops >= MAX_SOFT_HOPS {
                        return Err(Error::Object {
                            location: self.location().to_string(),
                            path: path.to_string(),
                            detail: "too many soft links (loop?)".into(),
                        });
                    }
                    let absolute = if target.starts_with('/') {
                        target.clone()
                    } else {
                        crate::object::child_path(group.path(), target)
                    };
                    self.resolve(&absolute, hops + 1)?
                }
                LinkKind::External { file, path: target } => {
                    return Err(Error::Object {
                        location: self.location().to_string(),
                        path: path.to_string(),
                        detail: format!("external link to {file}:{target} (not followed)"),
                    })
                }
                LinkKind::UserDefined(class) => {
                    return Err(Error::Object {
                        location: self.location().to_string(),
                        path: path.to_string(),
                        detail: format!("user-defined link of class {class} (not followed)"),
                    })
                }
            };
        }
        Ok(current)
    }
}
