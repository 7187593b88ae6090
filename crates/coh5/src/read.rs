//! Reading dataset values: the stored bytes of the selected elements, in C order of the
//! selection, with storage that was never written read as the fill value.
//!
//! A read of several datasets is planned as one: every dataset's selection is turned into the
//! byte ranges it needs (contiguous spans, intersecting chunks), all ranges of all datasets are
//! fetched in bounded batches with every request of a batch in flight together, and the pieces
//! are then decoded on the rayon pool, each scattered straight into its disjoint part of its
//! dataset's output. The range planner (`coh5_io::read_planned`) merges neighbouring chunks and
//! splits large spans across connections; the next batch is fetched while one decodes. Over an object store this makes a read of N small datasets cost about one
//! round trip instead of N. A single-dataset read is the case N = 1.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use coh5_filters::decode_pipeline;
use coh5_format::dataspace::{Dataspace, SpaceKind};
use coh5_format::datatype::Datatype;
use coh5_format::message::filter_pipeline::Filter;
use coh5_format::message::kind;
use coh5_format::message::layout::{Layout, FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS};
use coh5_format::{Error as FormatError, UNDEF_ADDR};
use coh5_io::{read_planned, PlanOptions};
use rayon::prelude::*;

use crate::chunks::{list, Chunk, Grid};
use crate::error::{Error, Result};
use crate::object::Dataset;
use crate::runtime::block_on;
use crate::selection::{DimSelection, Part, Selection};
use crate::value::canonical_bytes;

/// Compressed bytes fetched per batch: bounds memory while keeping many requests in flight.
const BATCH_BYTES: u64 = 64 << 20;

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
    let mut jobs = Vec::with_capacity(items.len());
    let mut pieces = Vec::new();
    for (i, &(d, sel)) in items.iter().enumerate() {
        if !Arc::ptr_eq(&d.file().inner, file) {
            return Err(object_err(
                d,
                "datasets of one planned read must belong to one file",
            ));
        }
        jobs.push(plan(d, sel, i, &mut pieces)?);
    }
    let outs: Vec<OutPtr> = jobs
        .iter_mut()
        .map(|j| OutPtr(j.out.as_mut_ptr(), j.out.len()))
        .collect();
    let base = file.reader().absolute(0);
    // Batches take pieces until they hold BATCH_BYTES (at least one piece each).
    let mut batches: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    while start < pieces.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < pieces.len() && (end == start || bytes < BATCH_BYTES) {
            bytes = bytes.saturating_add(pieces[end].range.end - pieces[end].range.start);
            end += 1;
        }
        batches.push(start..end);
        start = end;
    }
    let fetch = |batch: &[Piece]| -> Result<Vec<Bytes>> {
        let ranges: Vec<Range<u64>> = batch
            .iter()
            // Addresses come from the file: saturate, and let the source refuse ranges past the end.
            .map(|p| base.saturating_add(p.range.start)..base.saturating_add(p.range.end))
            .collect();
        let source = file.meta.source().as_ref();
        Ok(block_on(read_planned(
            source,
            &ranges,
            &PlanOptions::default(),
        ))?)
    };
    let decode = |batch: &[Piece], fetched: Vec<Bytes>| -> Result<()> {
        batch
            .par_iter()
            .zip(fetched.into_par_iter())
            .try_for_each(|(p, data)| jobs[p.job].decode(p, data, outs[p.job]))
    };
    // The next batch is fetched while this one decodes, so the network and the cores both work.
    let mut fetched = match batches.first() {
        Some(b) => Some(fetch(&pieces[b.clone()])?),
        None => None,
    };
    for (k, batch) in batches.iter().enumerate() {
        let current = fetched.take().unwrap_or_default();
        let next = batches.get(k + 1);
        fetched = std::thread::scope(|s| -> Result<Option<Vec<Bytes>>> {
            let ahead = next.map(|b| s.spawn(|| fetch(&pieces[b.clone()])));
            decode(&pieces[batch.clone()], current)?;
            match ahead.map(|h| h.join()) {
                None => Ok(None),
                Some(Ok(r)) => r.map(Some),
                Some(Err(panic)) => std::panic::resume_unwind(panic),
            }
        })?;
    }
    Ok(jobs.into_iter().map(|j| j.out).collect())
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
    let mut out = Vec::new();
    out.try_reserve_exact(out_len as usize).map_err(|_| {
        d.file().inner.err(
            d.path(),
            FormatError::limit(
                "dataset read",
                d.address(),
                format!("the selection needs {out_len} bytes, more than can be allocated"),
            ),
        )
    })?;
    out.resize(out_len as usize, 0);
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
            let chunk_bytes = chunk_dims
                .iter()
                .try_fold(esize, |a, &n| a.checked_mul(n))
                .filter(|&n| n <= u32::MAX as u64 * 16)
                .ok_or_else(|| object_err(d, "chunk size overflows"))?;
            let max_dims = space.max_dims.clone().unwrap_or_else(|| space.dims.clone());
            let grid = Grid {
                dims: &space.dims,
                max_dims: &max_dims,
                chunk: chunk_dims,
                chunk_bytes,
                layout_version: message.version,
                filtered: !filters.is_empty(),
            };
            let chunks =
                list(&inner.reader(), chunk_index, &grid).map_err(|e| inner.err(d.path(), e))?;
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

/// Fills `out` with the dataset's fill value (zero bytes when none is defined).
pub(crate) fn fill(d: &Dataset, esize: u64, out: &mut [u8]) -> Result<()> {
    let value = d.fill_value()?.and_then(|f| f.value);
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
        let data: Bytes = if c.filters.is_empty() || (edge && c.skip_edge_filters) {
            bytes
        } else {
            decode_pipeline(
                &crate::filters::specs(&c.filters),
                chunk.filter_mask,
                // Takes over the fetched buffer without copying when nothing else holds it.
                Vec::from(bytes),
                self.esize as usize,
                c.chunk_bytes as usize,
            )
            .map_err(|source| Error::Filter {
                location: inner.location.clone(),
                path: self.d.path().to_string(),
                offset: chunk.address,
                source,
            })?
            .into()
        };
        if (data.len() as u64) < c.chunk_bytes {
            return Err(inner.err(
                self.d.path(),
                FormatError::corrupt(
                    "chunk",
                    chunk.address,
                    format!(
                        "{} bytes after filters, {} expected",
                        data.len(),
                        c.chunk_bytes
                    ),
                ),
            ));
        }
        let esize = self.esize as usize;
        scatter(&data, 0, &c.chunk_dims, p, out, &self.out_shape, esize);
        Ok(())
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
