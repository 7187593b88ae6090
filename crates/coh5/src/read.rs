//! Reading dataset values: the stored bytes of the selected elements, in C order of the
//! selection, with storage that was never written read as the fill value.
//!
//! A read of several datasets is planned as one: every dataset's selection is turned into the
//! byte ranges it needs (contiguous spans, intersecting chunks), and all ranges of all datasets
//! are fetched in batches, several batches in flight together, each through the range planner
//! (`coh5_io::read_planned_each`: neighbouring chunks merged, large spans split across
//! connections). Each fetched piece is decoded on the rayon pool as soon as the requests
//! holding it are in, whichever batch it belongs to, so fetching overlaps decoding and a slow
//! request delays only its own pieces; a window of fetched-but-undecoded bytes bounds memory to
//! the outputs plus that window. A whole chunk is
//! decoded straight into its run of the output; other pieces are scattered into their disjoint
//! parts of it. Over an object store this makes a read of N small datasets cost about one round
//! trip instead of N. A single-dataset read is the case N = 1.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use coh5_filters::{decode_pipeline, decode_pipeline_into};
use coh5_format::dataspace::{Dataspace, SpaceKind};
use coh5_format::datatype::Datatype;
use coh5_format::message::fill_value::WRITE_TIME_NEVER;
use coh5_format::message::filter_pipeline::Filter;
use coh5_format::message::kind;
use coh5_format::message::layout::{Layout, FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS};
use coh5_format::{Error as FormatError, UNDEF_ADDR};
use coh5_io::{read_planned_each, trace, ByteSource, PlanOptions};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::chunks::{stored, Chunk, ChunkedLayout};
use crate::error::{Error, Result};
use crate::object::Dataset;
use crate::runtime::block_on;
use crate::selection::{DimSelection, Part, Selection};
use crate::value::canonical_bytes;

/// Batches fetched ahead of the one being handed to the decoders; a batch is an eighth of the
/// window, planned and fetched as one (`read_planned_each`).
const FETCH_AHEAD: usize = 8;

/// The canonical encoding (SPEC.md §8) of every element of `d`.
pub(crate) fn read_canonical(d: &Dataset, dt: &Datatype, space: &Dataspace) -> Result<Vec<u8>> {
    let sel = Selection::all(&space.dims);
    let raw = read_many(&[(d, &sel)])?.pop().unwrap_or_default();
    let count = sel.shape().iter().product();
    canonical_bytes(&d.file().inner, dt, &raw, count).map_err(|e| d.file().inner.err(d.path(), e))
}

pub(crate) fn object_err(d: &Dataset, detail: impl Into<String>) -> Error {
    Error::Object {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: detail.into(),
    }
}

/// Stored bytes (file byte order) of the selected elements of each dataset, in C order of its
/// selection, fetched and decoded as one plan. Every dataset must belong to one file.
pub(crate) fn read_many(items: &[(&Dataset, &Selection)]) -> Result<Vec<Vec<u8>>> {
    let Some((first, _)) = items.first() else {
        return Ok(Vec::new());
    };
    let file = &first.file().inner;
    if let Some((d, _)) = items
        .iter()
        .find(|(d, _)| !Arc::ptr_eq(&d.file().inner, file))
    {
        return Err(object_err(
            d,
            "datasets of one planned read must belong to one file",
        ));
    }
    let (mut jobs, pieces) = plan_all(items)?;
    let outs: Vec<OutPtr> = jobs
        .iter_mut()
        .map(|j| OutPtr(j.out.as_mut_ptr(), j.out.len()))
        .collect();
    let base = file.reader().absolute(0);
    let source = file.meta.source().clone();
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let fail = |e: Error| {
        let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    };
    let failed = || failure.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    // Fetched bytes that may wait for decoding at once: the source's read-ahead, which bounds a
    // read's memory to its output plus this window while fetching overlaps decoding.
    let window_bytes = source.read_ahead().max(FETCH_AHEAD as u64);
    let batches = batches(&pieces, window_bytes / FETCH_AHEAD as u64);
    // Fetching runs ahead of decoding, bounded by the semaphore: a batch takes permits for its
    // compressed bytes before it is fetched and gives them back once every piece of it has been
    // decoded, so compressed data waiting in memory never exceeds the window (or one piece).
    let window = Arc::new(Semaphore::new(window_bytes as usize));
    let on_worker = rayon::current_thread_index().is_some();
    rayon::in_place_scope(|scope| {
        block_on(async {
            // Every batch in flight reports on one channel, so a piece goes to the decoders
            // as soon as its request is in, whichever batch it belongs to. A batch's
            // `Fetched::Done` follows all of its pieces.
            let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
            // The window's permit of each batch in flight; its decoders hold clones.
            let mut permits: Vec<Option<Arc<OwnedSemaphorePermit>>> = vec![None; batches.len()];
            // Each batch's permits: its compressed bytes, at most the whole window.
            let wants: Vec<u32> = batches
                .iter()
                .map(|r| {
                    pieces[r.clone()]
                        .iter()
                        .map(|p| p.range.end - p.range.start)
                        .sum::<u64>()
                        .min(window_bytes) as u32
                })
                .collect();
            // Past the last batch nothing is asked for (the branch that would is disabled).
            let want = |b: usize| wants.get(b).copied().unwrap_or(0);
            let mut in_flight = 0;
            let mut next = 0;
            let mut room = None;
            while !failed() {
                while next < batches.len() && in_flight < FETCH_AHEAD {
                    let permit = match room.take() {
                        Some(permit) => permit,
                        None => match window.clone().try_acquire_many_owned(want(next)) {
                            Ok(permit) => permit,
                            Err(_) => break,
                        },
                    };
                    let ranges: Vec<Range<u64>> = pieces[batches[next].clone()]
                        .iter()
                        // Addresses come from the file: saturate, and let the source refuse
                        // ranges past the end.
                        .map(|p| {
                            base.saturating_add(p.range.start)..base.saturating_add(p.range.end)
                        })
                        .collect();
                    fetch_batch(source.clone(), next, ranges, tx.clone());
                    permits[next] = Some(Arc::new(permit));
                    in_flight += 1;
                    next += 1;
                }
                let more = next < batches.len() && in_flight < FETCH_AHEAD;
                tokio::select! {
                    biased;
                    Some(event) = events.recv(), if in_flight > 0 => match event {
                        Fetched::Piece { batch, index, data } => {
                            let p = &pieces[batches[batch].start + index];
                            let (jobs, outs, fail, failed) = (&jobs, &outs, &fail, &failed);
                            let permit = permits[batch].clone();
                            let decode = move || {
                                if !failed() {
                                    if let Err(e) = jobs[p.job].decode(p, data, outs[p.job]) {
                                        fail(e);
                                    }
                                }
                                drop(permit);
                            };
                            // On a rayon worker (a caller that is itself parallel) this thread
                            // cannot help run the scope's tasks while it waits, so it decodes
                            // itself.
                            if on_worker {
                                decode();
                            } else {
                                scope.spawn(move |_| decode());
                            }
                        }
                        Fetched::Done { batch, result } => {
                            in_flight -= 1;
                            permits[batch] = None;
                            if let Err(e) = result {
                                fail(e);
                            }
                        }
                    },
                    // Room the decoders give back starts the next batch even while nothing
                    // arrives (a stalled request).
                    permit = window.clone().acquire_many_owned(want(next)), if more => {
                        match permit {
                            Ok(permit) => room = Some(permit),
                            Err(_) => break,
                        }
                    }
                    // Every batch fetched and handed over.
                    else => break,
                }
            }
        })
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(jobs.into_iter().map(|j| j.out).collect())
}

/// What the fetch of one batch reports to [`read_many`].
enum Fetched {
    /// The bytes of the batch's piece `index`.
    Piece {
        batch: usize,
        index: usize,
        data: Bytes,
    },
    /// The fetch has ended, after handing over every piece it got.
    Done { batch: usize, result: Result<()> },
}

/// Fetches the ranges of batch `batch` as one plan on the runtime, reporting each piece as its
/// requests complete and then the outcome (a panic of the fetch included) on `tx`.
fn fetch_batch(
    source: Arc<dyn ByteSource>,
    batch: usize,
    ranges: Vec<Range<u64>>,
    tx: UnboundedSender<Fetched>,
) {
    let location = source.location().to_string();
    let pieces = tx.clone();
    let fetch = tokio::spawn(trace::with_purpose(trace::RAW_DATA, async move {
        let opts = PlanOptions::for_source(source.as_ref());
        read_planned_each(source.as_ref(), &ranges, &opts, |index, data| {
            // The receiver goes only when the read has failed.
            let _ = pieces.send(Fetched::Piece { batch, index, data });
        })
        .await
    }));
    tokio::spawn(async move {
        let result = match fetch.await {
            Ok(r) => r.map_err(Error::from),
            Err(e) => Err(Error::Io(coh5_io::Error::Task {
                location,
                reason: e.to_string(),
            })),
        };
        let _ = tx.send(Fetched::Done { batch, result });
    });
}

/// Splits the pieces into consecutive batches of about `batch_bytes` (at least one piece each).
fn batches(pieces: &[Piece], batch_bytes: u64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < pieces.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < pieces.len() && (end == start || bytes < batch_bytes) {
            bytes = bytes.saturating_add(pieces[end].range.end - pieces[end].range.start);
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// One dataset's part of a planned read: its output buffer and what decoding its pieces needs.
struct Job<'a> {
    d: &'a Dataset,
    dims: Vec<u64>,
    esize: u64,
    out_shape: Vec<u64>,
    out: Vec<u8>,
    chunking: Option<Chunking>,
}

/// How the chunks of a chunked dataset are decoded.
struct Chunking {
    chunk_dims: Vec<u64>,
    chunk_bytes: u64,
    filters: Vec<Filter>,
    skip_edge_filters: bool,
}

/// A byte range of the file (relative address) that one dataset needs, and what it holds.
struct Piece {
    job: usize,
    range: Range<u64>,
    kind: PieceKind,
}

enum PieceKind {
    /// Contiguous storage; the range starts at this byte offset of the dataset's storage.
    Span {
        storage_offset: u64,
        parts: Vec<Part>,
    },
    /// One stored chunk.
    Chunk { chunk: Chunk, parts: Vec<Part> },
}

/// Threads that plan the items of one read: planning walks each dataset's chunk index, a
/// chain of dependent reads in a file without pages, and the walks of many datasets (a subset
/// reads dozens) then wait on the store together instead of one after another.
const PLAN_THREADS: usize = 32;

/// One item's job and the pieces it needs fetched.
type Planned<'a> = Result<(Job<'a>, Vec<Piece>)>;

/// Plans every item (see [`plan`]), on up to [`PLAN_THREADS`] threads when there are several.
/// Jobs and pieces come back in item order; the first item that fails gives the error.
fn plan_all<'a>(items: &[(&'a Dataset, &Selection)]) -> Result<(Vec<Job<'a>>, Vec<Piece>)> {
    let one = |i: usize| -> (usize, Planned<'a>) {
        let (d, sel) = items[i];
        let mut pieces = Vec::new();
        (i, plan(d, sel, i, &mut pieces).map(|job| (job, pieces)))
    };
    let threads = items.len().min(PLAN_THREADS);
    let mut planned: Vec<(usize, Planned<'a>)> = if threads <= 1 {
        (0..items.len()).map(one).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let take = || next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        std::iter::from_fn(|| Some(take()).filter(|&i| i < items.len()))
                            .map(one)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    planned.sort_unstable_by_key(|(i, _)| *i);
    let mut jobs = Vec::with_capacity(items.len());
    let mut pieces = Vec::new();
    for (_, r) in planned {
        let (job, p) = r?;
        jobs.push(job);
        pieces.extend(p);
    }
    Ok((jobs, pieces))
}

/// Checks the selection, allocates the output, does whatever needs no fetch from the file
/// (compact data, external files, fill values) and adds the ranges to fetch to `pieces`.
fn plan<'a>(
    d: &'a Dataset,
    sel: &Selection,
    index: usize,
    pieces: &mut Vec<Piece>,
) -> Result<Job<'a>> {
    let space = d.dataspace()?;
    if space.kind == SpaceKind::Null {
        return Err(object_err(
            d,
            "the dataspace is null: there are no elements",
        ));
    }
    let dt = d.datatype()?;
    sel.check(&space.dims)?;
    let esize = u64::from(dt.size);
    let out_shape = sel.shape();
    let out_len = out_shape
        .iter()
        .try_fold(esize, |a, &n| a.checked_mul(n))
        .filter(|&n| n <= isize::MAX as u64)
        .ok_or_else(|| object_err(d, "selection too large for memory"))?;
    // The element count and size come from the file, so the buffer may be absurd (a dataspace
    // of 2^60 elements): ask for it fallibly and report a typed error instead of aborting.
    let out = zeroed(out_len as usize).ok_or_else(|| {
        d.file().inner.err(
            d.path(),
            FormatError::limit(
                "dataset read",
                d.address(),
                format!("the selection needs {out_len} bytes, more than can be allocated"),
            ),
        )
    })?;
    let mut job = Job {
        d,
        dims: space.dims.clone(),
        esize,
        out_shape,
        out,
        chunking: None,
    };
    if out_len == 0 {
        return Ok(job);
    }
    let message = d.layout_message()?;
    let inner = &d.file().inner;
    let whole_selection = || parts(sel, &space.dims, &vec![0; space.dims.len()]);
    match &message.layout {
        Layout::Compact { data } => {
            let whole = whole_bytes(&space, esize).ok_or_else(|| object_err(d, "too large"))?;
            if (data.len() as u64) < whole {
                return Err(inner.err(
                    d.path(),
                    FormatError::corrupt("compact data", d.address(), "shorter than the dataspace"),
                ));
            }
            let out = OutPtr(job.out.as_mut_ptr(), job.out.len());
            scatter(
                data,
                0,
                &job.dims,
                &whole_selection(),
                out,
                &job.out_shape,
                esize as usize,
            );
        }
        Layout::Contiguous { address, .. } => {
            let (first, last) = span(&space, sel);
            let storage = first * esize..(last + 1) * esize;
            if d.header().first(kind::EXTERNAL_FILES).is_some() {
                let bytes = crate::external::read(d, storage.clone())?;
                let out = OutPtr(job.out.as_mut_ptr(), job.out.len());
                let p = whole_selection();
                scatter(
                    &bytes,
                    storage.start,
                    &job.dims,
                    &p,
                    out,
                    &job.out_shape,
                    esize as usize,
                );
            } else if *address == UNDEF_ADDR {
                fill(d, esize, &mut job.out)?;
            } else {
                // The address and extent come from the file: the whole extent must fit in the
                // address space, which also covers every part of it.
                let beyond = || {
                    inner.err(
                        d.path(),
                        FormatError::corrupt(
                            "contiguous data",
                            *address,
                            "extends beyond the address space",
                        ),
                    )
                };
                whole_bytes(&space, esize)
                    .and_then(|n| inner.reader().absolute(*address).checked_add(n))
                    .ok_or_else(beyond)?;
                let range = address + storage.start..address + storage.end;
                pieces.push(Piece {
                    job: index,
                    range,
                    kind: PieceKind::Span {
                        storage_offset: storage.start,
                        parts: whole_selection(),
                    },
                });
            }
        }
        Layout::Chunked {
            chunk_dims,
            flags,
            index: chunk_index,
            ..
        } => {
            let filters = d.filters()?;
            let layout = ChunkedLayout {
                version: message.version,
                chunk_dims,
                index: chunk_index,
            };
            let (chunk_bytes, chunks) = stored(d, &space, &layout, esize, !filters.is_empty())?;
            let before = pieces.len();
            for chunk in chunks
                .into_iter()
                .filter(|c| c.coords.len() == space.dims.len())
            {
                let origin: Vec<u64> = chunk
                    .coords
                    .iter()
                    .zip(chunk_dims)
                    .map(|(&i, &n)| i.saturating_mul(n))
                    .collect();
                if origin.iter().zip(&space.dims).any(|(&o, &n)| o >= n) {
                    continue;
                }
                let p = parts(sel, chunk_dims, &origin);
                if p.iter().any(Part::is_empty) {
                    continue;
                }
                let end = inner
                    .reader()
                    .absolute(chunk.address)
                    .checked_add(chunk.size)
                    .ok_or_else(|| {
                        inner.err(
                            d.path(),
                            FormatError::corrupt(
                                "chunk",
                                chunk.address,
                                format!("{} bytes do not fit in the address space", chunk.size),
                            ),
                        )
                    })?;
                let range = chunk.address..end - inner.reader().absolute(0);
                pieces.push(Piece {
                    job: index,
                    range,
                    kind: PieceKind::Chunk { chunk, parts: p },
                });
            }
            if ((pieces.len() - before) as u64) < touched_chunks(sel, chunk_dims) {
                fill(d, esize, &mut job.out)?;
            }
            job.chunking = Some(Chunking {
                chunk_dims: chunk_dims.clone(),
                chunk_bytes,
                filters,
                skip_edge_filters: flags & FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS != 0,
            });
        }
        Layout::Virtual { .. } => {
            crate::virtual_ds::read(d, &dt, sel, &mut job.out, &job.out_shape)?
        }
    }
    Ok(job)
}

/// `len` zero bytes, or `None` when they cannot be allocated. Large zeroed blocks come from
/// the allocator as fresh pages, so nothing writes the zeros: a read of hundreds of MB would
/// otherwise spend a memset pass over its outputs before its first request goes out.
fn zeroed(len: usize) -> Option<Vec<u8>> {
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    if layout.size() == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the layout's size is not zero; a non-null result points to `len` zero (hence
    // initialized) bytes from the global allocator with `u8`'s alignment, exactly what
    // `Vec::from_raw_parts` needs for a length and capacity of `len`.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout);
        (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len))
    }
}

fn whole_bytes(space: &Dataspace, esize: u64) -> Option<u64> {
    space.dims.iter().try_fold(esize, |a, &n| a.checked_mul(n))
}

/// Per-dimension selected parts within the block that starts at `origin` with `extent`.
fn parts(sel: &Selection, extent: &[u64], origin: &[u64]) -> Vec<Part> {
    sel.dims
        .iter()
        .zip(origin.iter().zip(extent))
        .map(|(s, (&o, &e))| s.within(o, o + e))
        .collect()
}

/// The first and last selected element, as storage-order element indexes.
fn span(space: &Dataspace, sel: &Selection) -> (u64, u64) {
    let strides: Vec<u64> = (0..space.dims.len())
        .map(|i| space.dims[i + 1..].iter().product())
        .collect();
    let first = sel
        .dims
        .iter()
        .zip(&strides)
        .map(|(s, st)| lo(s) * st)
        .sum();
    let last = sel
        .dims
        .iter()
        .zip(&strides)
        .map(|(s, st)| hi(s) * st)
        .sum();
    (first, last)
}

fn lo(s: &DimSelection) -> u64 {
    match s {
        DimSelection::Strided { start, .. } => *start,
        DimSelection::Indices(v) => v.iter().copied().min().unwrap_or(0),
    }
}

fn hi(s: &DimSelection) -> u64 {
    match s {
        DimSelection::Strided { start, count, step } => start + count.saturating_sub(1) * step,
        DimSelection::Indices(v) => v.iter().copied().max().unwrap_or(0),
    }
}

/// Fills `out`, elements whose storage was never written, with the dataset's fill value (zero
/// bytes when none is defined). Under fill time "never" such elements are undefined: libhdf5
/// leaves the caller's buffer untouched, so a fresh one reads as zeros, and so does coh5.
pub(crate) fn fill(d: &Dataset, esize: u64, out: &mut [u8]) -> Result<()> {
    let value = d
        .fill_value()?
        .filter(|f| f.write_time != WRITE_TIME_NEVER)
        .and_then(|f| f.value);
    if let Some(v) = value.filter(|v| v.len() as u64 == esize && esize > 0) {
        if v.iter().any(|&b| b != 0) {
            for (o, b) in out.iter_mut().zip(v.iter().cycle()) {
                *o = *b;
            }
            return Ok(());
        }
    }
    out.fill(0);
    Ok(())
}

/// How many chunk positions the selection touches (allocated or not).
fn touched_chunks(sel: &Selection, chunk_dims: &[u64]) -> u64 {
    sel.dims
        .iter()
        .zip(chunk_dims)
        .map(|(s, &c)| {
            let c = c.max(1);
            match s {
                DimSelection::Strided { start, count, step } => {
                    if *count == 0 {
                        0
                    } else if *step <= c {
                        (start + (count - 1) * step) / c - start / c + 1
                    } else {
                        *count
                    }
                }
                DimSelection::Indices(v) => {
                    let mut ids: Vec<u64> = v.iter().map(|i| i / c).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    ids.len() as u64
                }
            }
        })
        .product()
}

/// One output buffer shared by the decoding threads.
#[derive(Clone, Copy)]
struct OutPtr(*mut u8, usize);
// SAFETY: every piece writes only the output elements whose source indices lie inside that
// piece (a chunk, or the one span of a contiguous dataset); pieces of one dataset do not
// overlap, so no two threads write the same byte, and the buffers outlive the parallel loops
// that use the pointers (they are moved out only after every batch is done).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl Job<'_> {
    fn decode(&self, piece: &Piece, bytes: Bytes, out: OutPtr) -> Result<()> {
        let esize = self.esize as usize;
        match &piece.kind {
            PieceKind::Span {
                storage_offset,
                parts,
            } => {
                if (bytes.len() as u64) < piece.range.end - piece.range.start {
                    return Err(self.d.file().inner.err(
                        self.d.path(),
                        FormatError::corrupt(
                            "contiguous data",
                            piece.range.start,
                            "extends past the end of the file",
                        ),
                    ));
                }
                let dims = &self.dims;
                scatter(
                    &bytes,
                    *storage_offset,
                    dims,
                    parts,
                    out,
                    &self.out_shape,
                    esize,
                );
                Ok(())
            }
            PieceKind::Chunk { chunk, parts } => match &self.chunking {
                Some(c) => self.decode_chunk(c, chunk, bytes, parts, out),
                None => Err(object_err(self.d, "chunk piece of an unchunked dataset")),
            },
        }
    }

    fn decode_chunk(
        &self,
        c: &Chunking,
        chunk: &Chunk,
        bytes: Bytes,
        p: &[Part],
        out: OutPtr,
    ) -> Result<()> {
        let inner = &self.d.file().inner;
        let edge = chunk
            .coords
            .iter()
            .zip(c.chunk_dims.iter().zip(&self.dims))
            .any(|(&i, (&c, &n))| (i + 1).saturating_mul(c) > n);
        let filtered = !(c.filters.is_empty() || edge && c.skip_edge_filters);
        let filter_err = |source| Error::Filter {
            location: inner.location.clone(),
            path: self.d.path().to_string(),
            offset: chunk.address,
            source,
        };
        let short = |got: usize| {
            inner.err(
                self.d.path(),
                FormatError::corrupt(
                    "chunk",
                    chunk.address,
                    format!("{got} bytes after filters, {} expected", c.chunk_bytes),
                ),
            )
        };
        if let (true, Some(at)) = (filtered, self.direct_target(c, p)) {
            let len = c.chunk_bytes as usize;
            if at + len > out.1 {
                return Err(object_err(self.d, "chunk lies outside the output"));
            }
            // SAFETY: in bounds (checked above); this chunk's elements occupy exactly this run of
            // the output and no other piece writes there (see `OutPtr`).
            let target = unsafe { std::slice::from_raw_parts_mut(out.0.add(at), len) };
            let written = decode_pipeline_into(
                &crate::filters::specs(&c.filters),
                chunk.filter_mask,
                Vec::from(bytes),
                self.esize as usize,
                target,
            )
            .map_err(filter_err)?;
            return if written < len {
                Err(short(written))
            } else {
                Ok(())
            };
        }
        let data: Bytes = if filtered {
            decode_pipeline(
                &crate::filters::specs(&c.filters),
                chunk.filter_mask,
                // Takes over the fetched buffer without copying when nothing else holds it.
                Vec::from(bytes),
                self.esize as usize,
                c.chunk_bytes as usize,
            )
            .map_err(filter_err)?
            .into()
        } else {
            bytes
        };
        if (data.len() as u64) < c.chunk_bytes {
            return Err(short(data.len()));
        }
        let esize = self.esize as usize;
        scatter(&data, 0, &c.chunk_dims, p, out, &self.out_shape, esize);
        Ok(())
    }
}

impl Job<'_> {
    /// Where in the output a whole chunk lands as one run in its own C order, if it does: the
    /// selection takes every element of the chunk, and past the chunk's outermost dimension of
    /// more than one element the output has the chunk's extents. Such a chunk is decoded straight
    /// into the output; any other is decoded to a buffer and scattered.
    fn direct_target(&self, c: &Chunking, parts: &[Part]) -> Option<usize> {
        let whole = parts.iter().zip(&c.chunk_dims).all(|(p, &n)| {
            matches!(p, Part::Strided { src: 0, step, count, .. } if *count == n && (*step == 1 || n == 1))
        });
        let outer = c.chunk_dims.iter().position(|&n| n > 1).unwrap_or(0);
        let same_rows =
            (outer + 1..c.chunk_dims.len()).all(|d| self.out_shape[d] == c.chunk_dims[d]);
        if !whole || !same_rows {
            return None;
        }
        let mut at = 0u64;
        let mut stride = self.esize;
        for (d, p) in parts.iter().enumerate().rev() {
            if let Part::Strided { out, .. } = p {
                at = at.checked_add(out.checked_mul(stride)?)?;
            }
            stride = stride.checked_mul(self.out_shape[d])?;
        }
        usize::try_from(at).ok()
    }
}

/// Copies the selected elements of a block (`src`, C order over `src_dims`, whose first byte is
/// element byte offset `src_base`) to their places in `out` (C order over `out_dims`).
fn scatter(
    src: &[u8],
    src_base: u64,
    src_dims: &[u64],
    parts: &[Part],
    out: OutPtr,
    out_dims: &[u64],
    esize: usize,
) {
    let rank = src_dims.len();
    if rank == 0 {
        let ctx = Scatter {
            src,
            src_base,
            parts,
            out_strides: &[],
            src_strides: &[],
            esize,
        };
        ctx.copy(0, 0, esize, out);
        return;
    }
    let src_strides: Vec<u64> = (0..rank)
        .map(|i| src_dims[i + 1..].iter().product::<u64>() * esize as u64)
        .collect();
    let out_strides: Vec<u64> = (0..rank)
        .map(|i| out_dims[i + 1..].iter().product::<u64>() * esize as u64)
        .collect();
    let ctx = Scatter {
        src,
        src_base,
        parts,
        out_strides: &out_strides,
        src_strides: &src_strides,
        esize,
    };
    ctx.dim(0, 0, 0, out);
}

struct Scatter<'a> {
    src: &'a [u8],
    src_base: u64,
    parts: &'a [Part],
    src_strides: &'a [u64],
    out_strides: &'a [u64],
    esize: usize,
}

impl Scatter<'_> {
    fn dim(&self, d: usize, src_off: u64, out_off: u64, out: OutPtr) {
        let last = d + 1 == self.parts.len();
        match &self.parts[d] {
            Part::Strided {
                out: o,
                src: s,
                step,
                count,
            } => {
                if last && *step == 1 {
                    let from = src_off + s * self.src_strides[d];
                    let to = out_off + o * self.out_strides[d];
                    self.copy(from, to, *count as usize * self.esize, out);
                    return;
                }
                for k in 0..*count {
                    let from = src_off + (s + k * step) * self.src_strides[d];
                    let to = out_off + (o + k) * self.out_strides[d];
                    if last {
                        self.copy(from, to, self.esize, out);
                    } else {
                        self.dim(d + 1, from, to, out);
                    }
                }
            }
            Part::List(pairs) => {
                for &(o, s) in pairs {
                    let from = src_off + s * self.src_strides[d];
                    let to = out_off + o * self.out_strides[d];
                    if last {
                        self.copy(from, to, self.esize, out);
                    } else {
                        self.dim(d + 1, from, to, out);
                    }
                }
            }
        }
    }

    /// Copies `n` bytes; both ranges are in bounds by construction (chunk data was checked to
    /// hold a whole chunk, output offsets come from the selection), and are checked again here
    /// so that a planning bug can never write outside the buffer.
    fn copy(&self, from: u64, to: u64, n: usize, out: OutPtr) {
        let from = (from - self.src_base.min(from)) as usize;
        let to = to as usize;
        let Some(src) = self.src.get(from..from + n) else {
            return;
        };
        if to + n <= out.1 {
            // SAFETY: in bounds (checked above); see `OutPtr` for why writes never race.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out.0.add(to), n) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Object;

    /// A contiguous dataset whose dataspace claims 2^60 one-byte elements
    /// (tests/fixtures/make_crafted.py): the output buffer is refused with a typed error
    /// naming the dataset's header, where an infallible allocation would abort the process.
    #[test]
    fn absurd_selection_is_a_limit_error_not_an_abort() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/dataspace_2_60.h5"
        );
        let file = crate::File::open(path).unwrap();
        let Ok(Object::Dataset(d)) = file.object("/d") else {
            panic!("/d is a dataset");
        };
        let (dt, space) = (d.datatype().unwrap(), d.dataspace().unwrap());
        match read_canonical(&d, &dt, &space) {
            Err(Error::Format {
                path,
                source: FormatError::Limit { offset, .. },
                ..
            }) => assert_eq!((path.as_str(), offset), ("/d", d.address())),
            other => panic!("expected a limit error, got {:?}", other.map(|v| v.len())),
        }
    }

    /// A fuzzer-found file whose chunk index puts a chunk at an address where address + size
    /// overflows: the dataset gets a read error naming the chunk, not an arithmetic panic.
    #[test]
    fn chunk_range_overflow_is_a_read_error() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/chunk_address_overflow.h5"
        );
        let file = crate::File::open(path).unwrap();
        let m = crate::manifest::manifest(&file, Default::default()).unwrap();
        let errors: Vec<&str> = m["objects"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|o| o["read_error"].as_str())
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("corrupt chunk at offset") && e.contains("address space")),
            "{errors:?}"
        );
    }

    /// A fuzzer-found file whose contiguous dataset sits at an address where address + size
    /// overflows: a read error naming the data's address, not an arithmetic panic.
    #[test]
    fn contiguous_range_overflow_is_a_read_error() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/contiguous_address_overflow.h5"
        );
        let file = crate::File::open(path).unwrap();
        let m = crate::manifest::manifest(&file, Default::default()).unwrap();
        let errors: Vec<&str> = m["objects"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|o| o["read_error"].as_str())
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("corrupt contiguous data at offset")),
            "{errors:?}"
        );
    }
}
