//! Reading dataset values: the stored bytes of the selected elements, in C order of the
//! selection, with storage that was never written read as the fill value.
//!
//! Chunked data is planned first (which chunks intersect the selection), fetched in bounded
//! batches with all requests of a batch in flight together, then decoded on the rayon pool,
//! each chunk scattered straight into its disjoint part of the output.

use bytes::Bytes;
use coh5_filters::decode_pipeline;
use coh5_format::dataspace::Dataspace;
use coh5_format::datatype::Datatype;
use coh5_format::message::filter_pipeline::Filter;
use coh5_format::message::kind;
use coh5_format::message::layout::{Layout, FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS};
use coh5_format::{Error as FormatError, UNDEF_ADDR};
use rayon::prelude::*;

use crate::chunks::{list, Chunk, Grid};
use crate::error::{Error, Result};
use crate::object::Dataset;
use crate::runtime::block_on;
use crate::selection::{Part, Selection};
use crate::value::canonical_bytes;

/// Compressed bytes fetched per batch: bounds memory while keeping many requests in flight.
const BATCH_BYTES: u64 = 64 << 20;

/// The canonical encoding (SPEC.md §8) of every element of `d`.
pub(crate) fn read_canonical(d: &Dataset, dt: &Datatype, space: &Dataspace) -> Result<Vec<u8>> {
    let sel = Selection::all(&space.dims);
    let raw = read_raw(d, dt, space, &sel)?;
    let count = sel.shape().iter().product();
    canonical_bytes(&d.file().inner, dt, &raw, count).map_err(|e| d.file().inner.err(d.path(), e))
}

fn object_err(d: &Dataset, detail: impl Into<String>) -> Error {
    Error::Object {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: detail.into(),
    }
}

/// Stored bytes of the selected elements in C order (file byte order).
pub(crate) fn read_raw(
    d: &Dataset,
    dt: &Datatype,
    space: &Dataspace,
    sel: &Selection,
) -> Result<Vec<u8>> {
    sel.check(&space.dims)?;
    let esize = u64::from(dt.size);
    let out_shape = sel.shape();
    let out_len = out_shape
        .iter()
        .try_fold(esize, |a, &n| a.checked_mul(n))
        .filter(|&n| n <= isize::MAX as u64)
        .ok_or_else(|| object_err(d, "selection too large for memory"))?;
    let inner = &d.file().inner;
    // The element count and size come from the file, so the buffer may be absurd (a dataspace
    // of 2^60 elements): ask for it fallibly and report a typed error instead of aborting.
    let mut out = Vec::new();
    out.try_reserve_exact(out_len as usize).map_err(|_| {
        inner.err(
            d.path(),
            FormatError::limit(
                "dataset read",
                d.address(),
                format!("the selection needs {out_len} bytes, more than can be allocated"),
            ),
        )
    })?;
    out.resize(out_len as usize, 0);
    if out_len == 0 {
        return Ok(out);
    }
    let message = d.layout_message()?;
    match &message.layout {
        Layout::Compact { data } => {
            let whole = whole_bytes(space, esize).ok_or_else(|| object_err(d, "too large"))?;
            if (data.len() as u64) < whole {
                return Err(inner.err(
                    d.path(),
                    FormatError::corrupt("compact data", d.address(), "shorter than the dataspace"),
                ));
            }
            let p = parts(sel, &space.dims, &vec![0; space.dims.len()]);
            scatter(
                data,
                0,
                &space.dims,
                &p,
                OutPtr(out.as_mut_ptr(), out.len()),
                &out_shape,
                esize as usize,
            );
        }
        Layout::Contiguous { address, .. } => {
            if d.header().first(kind::EXTERNAL_FILES).is_some() {
                read_external(d, space, sel, esize, &mut out, &out_shape)?;
            } else if *address == UNDEF_ADDR {
                fill(d, esize, &mut out)?;
            } else {
                read_contiguous(d, *address, space, sel, esize, &mut out, &out_shape)?;
            }
        }
        Layout::Chunked {
            chunk_dims,
            flags,
            index,
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
            let chunks = list(&inner.reader(), index, &grid).map_err(|e| inner.err(d.path(), e))?;
            let plan = Plan {
                d,
                sel,
                dims: &space.dims,
                chunk_dims,
                chunk_bytes,
                esize,
                filters: &filters,
                skip_edge_filters: flags & FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS != 0,
                out_shape: &out_shape,
            };
            plan.run(chunks, &mut out)?;
        }
        Layout::Virtual { .. } => {
            return Err(object_err(d, "virtual datasets are not readable yet"))
        }
    }
    Ok(out)
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

fn read_contiguous(
    d: &Dataset,
    address: u64,
    space: &Dataspace,
    sel: &Selection,
    esize: u64,
    out: &mut [u8],
    out_shape: &[u64],
) -> Result<()> {
    let inner = &d.file().inner;
    // The address and extent come from the file: with the whole extent's size known to fit in
    // a u64, every element offset below does too, leaving only the sum with the address.
    let beyond = || {
        inner.err(
            d.path(),
            FormatError::corrupt(
                "contiguous data",
                address,
                "extends beyond the address space",
            ),
        )
    };
    let base = inner.reader().absolute(address);
    whole_bytes(space, esize)
        .and_then(|n| base.checked_add(n))
        .ok_or_else(beyond)?;
    // Fetch only the span from the first to the last selected element in storage order.
    let (first, last) = span(space, sel);
    let start = base + first * esize;
    let end = base + (last + 1) * esize;
    let bytes = block_on(inner.meta.source().read_range(start..end))?;
    let p = parts(sel, &space.dims, &vec![0; space.dims.len()]);
    scatter(
        &bytes,
        first * esize,
        &space.dims,
        &p,
        OutPtr(out.as_mut_ptr(), out.len()),
        out_shape,
        esize as usize,
    );
    Ok(())
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

fn read_external(
    d: &Dataset,
    space: &Dataspace,
    sel: &Selection,
    esize: u64,
    out: &mut [u8],
    out_shape: &[u64],
) -> Result<()> {
    let (first, last) = span(space, sel);
    let bytes = crate::external::read(d, first * esize..(last + 1) * esize)?;
    let p = parts(sel, &space.dims, &vec![0; space.dims.len()]);
    let dest = OutPtr(out.as_mut_ptr(), out.len());
    scatter(
        &bytes,
        first * esize,
        &space.dims,
        &p,
        dest,
        out_shape,
        esize as usize,
    );
    Ok(())
}

fn lo(s: &crate::selection::DimSelection) -> u64 {
    match s {
        crate::selection::DimSelection::Strided { start, .. } => *start,
        crate::selection::DimSelection::Indices(v) => v.iter().copied().min().unwrap_or(0),
    }
}

fn hi(s: &crate::selection::DimSelection) -> u64 {
    match s {
        crate::selection::DimSelection::Strided { start, count, step } => {
            start + count.saturating_sub(1) * step
        }
        crate::selection::DimSelection::Indices(v) => v.iter().copied().max().unwrap_or(0),
    }
}

/// Fills `out` with the dataset's fill value (zero bytes when none is defined).
fn fill(d: &Dataset, esize: u64, out: &mut [u8]) -> Result<()> {
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

struct Plan<'a> {
    d: &'a Dataset,
    sel: &'a Selection,
    dims: &'a [u64],
    chunk_dims: &'a [u64],
    chunk_bytes: u64,
    esize: u64,
    filters: &'a [Filter],
    skip_edge_filters: bool,
    out_shape: &'a [u64],
}

/// The output buffer shared by the decoding threads.
#[derive(Clone, Copy)]
struct OutPtr(*mut u8, usize);
// SAFETY: every chunk writes only the output elements whose source indices lie inside that chunk;
// chunks do not overlap, so no two threads write the same byte, and the buffer outlives the
// parallel loop that uses the pointer.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl Plan<'_> {
    fn run(&self, chunks: Vec<Chunk>, out: &mut [u8]) -> Result<()> {
        let rank = self.dims.len();
        // Keep chunks inside the extent that the selection touches.
        let wanted: Vec<(Chunk, Vec<Part>)> = chunks
            .into_iter()
            .filter(|c| c.coords.len() == rank)
            .filter_map(|c| {
                let origin: Vec<u64> = c
                    .coords
                    .iter()
                    .zip(self.chunk_dims)
                    .map(|(&i, &n)| i.saturating_mul(n))
                    .collect();
                if origin.iter().zip(self.dims).any(|(&o, &n)| o >= n) {
                    return None;
                }
                let p = parts(self.sel, self.chunk_dims, &origin);
                (!p.iter().any(Part::is_empty)).then_some((c, p))
            })
            .collect();
        if (wanted.len() as u64) < self.touched_chunks() {
            fill(self.d, self.esize, out)?;
        }
        let inner = &self.d.file().inner;
        let base = inner.reader().absolute(0);
        let ptr = OutPtr(out.as_mut_ptr(), out.len());
        let mut batch: Vec<(Chunk, Vec<Part>)> = Vec::new();
        let mut batch_bytes = 0u64;
        let flush = |batch: &mut Vec<(Chunk, Vec<Part>)>| -> Result<()> {
            // Addresses and sizes come from the chunk index; the source refuses ranges past
            // the end of the file, but the sums themselves must not overflow.
            let ranges = batch
                .iter()
                .map(|(c, _)| {
                    let start = base.checked_add(c.address);
                    start
                        .and_then(|s| Some(s..s.checked_add(c.size)?))
                        .ok_or_else(|| {
                            inner.err(
                                self.d.path(),
                                FormatError::corrupt(
                                    "chunk",
                                    c.address,
                                    format!("{} bytes do not fit in the address space", c.size),
                                ),
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let fetched = block_on(inner.meta.source().read_ranges(&ranges))?;
            batch
                .par_iter()
                .zip(fetched.into_par_iter())
                .try_for_each(|((chunk, p), bytes)| self.decode_into(chunk, bytes, p, ptr))?;
            batch.clear();
            Ok(())
        };
        for item in wanted {
            batch_bytes = batch_bytes.saturating_add(item.0.size);
            batch.push(item);
            if batch_bytes >= BATCH_BYTES {
                flush(&mut batch)?;
                batch_bytes = 0;
            }
        }
        if !batch.is_empty() {
            flush(&mut batch)?;
        }
        Ok(())
    }

    /// How many chunk positions the selection touches (allocated or not).
    fn touched_chunks(&self) -> u64 {
        self.sel
            .dims
            .iter()
            .zip(self.chunk_dims)
            .map(|(s, &c)| {
                let c = c.max(1);
                match s {
                    crate::selection::DimSelection::Strided { start, count, step } => {
                        if *count == 0 {
                            0
                        } else if *step <= c {
                            (start + (count - 1) * step) / c - start / c + 1
                        } else {
                            *count
                        }
                    }
                    crate::selection::DimSelection::Indices(v) => {
                        let mut ids: Vec<u64> = v.iter().map(|i| i / c).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids.len() as u64
                    }
                }
            })
            .product()
    }

    fn decode_into(&self, chunk: &Chunk, bytes: Bytes, p: &[Part], out: OutPtr) -> Result<()> {
        let inner = &self.d.file().inner;
        let edge = chunk
            .coords
            .iter()
            .zip(self.chunk_dims.iter().zip(self.dims))
            .any(|(&i, (&c, &n))| (i + 1).saturating_mul(c) > n);
        let data: Bytes = if self.filters.is_empty() || (edge && self.skip_edge_filters) {
            bytes
        } else {
            decode_pipeline(
                &crate::filters::specs(self.filters),
                chunk.filter_mask,
                bytes.to_vec(),
                self.esize as usize,
                self.chunk_bytes as usize,
            )
            .map_err(|source| Error::Filter {
                location: inner.location.clone(),
                path: self.d.path().to_string(),
                offset: chunk.address,
                source,
            })?
            .into()
        };
        if (data.len() as u64) < self.chunk_bytes {
            return Err(inner.err(
                self.d.path(),
                FormatError::corrupt(
                    "chunk",
                    chunk.address,
                    format!(
                        "{} bytes after filters, {} expected",
                        data.len(),
                        self.chunk_bytes
                    ),
                ),
            ));
        }
        scatter(
            &data,
            0,
            self.chunk_dims,
            p,
            out,
            self.out_shape,
            self.esize as usize,
        );
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
