//! Virtual datasets (VDS): a dataset whose elements are regions of other datasets, listed in a
//! mapping table (`coh5_format::vds`). This module resolves the mappings the way libhdf5 does
//! with its default view (`H5D_VDS_LAST_AVAILABLE`, what h5py shows): it recomputes the extent
//! from the sources that exist, reads each source region through the source dataset's normal
//! read path, and leaves everything no available source covers at the fill value.
//!
//! Source file `.` is the virtual dataset's own file; other names resolve beside it (the rule of
//! `external::resolve`). A missing source file or dataset is not an error: libhdf5 skips it.
//! Names may carry printf-style `%b` (block number) for mappings whose virtual selection repeats
//! without limit; blocks are probed from 0 until the first one whose source is missing
//! (libhdf5's default printf gap of 0).

use std::cell::RefCell;
use std::collections::HashMap;

use coh5_format::dataspace::Dataspace;
use coh5_format::datatype::{ByteOrder, Datatype, TypeClass};
use coh5_format::heap::global::GlobalHeapCollection;
use coh5_format::message::layout::Layout;
use coh5_format::selection::{Hyperslab, RegularDim, Selection as Stored, UNLIMITED};
use coh5_format::vds::{Mapping, VirtualMappings};
use coh5_format::{Cursor, Error as FormatError};

use crate::error::{Error, Result};
use crate::file::File;
use crate::object::{Dataset, Object};
use crate::selection::{DimSelection, Selection};

/// Virtual datasets whose sources are virtual datasets nest at most this deep.
const MAX_NESTING: usize = 8;
/// Missing printf blocks tolerated before the search stops (`H5Pset_virtual_printf_gap`,
/// default 0).
const PRINTF_GAP: u64 = 0;
/// Printf blocks probed at most, so that a name pattern matching a huge directory stays bounded.
const MAX_PRINTF_BLOCKS: u64 = 1 << 16;

thread_local! {
    /// The virtual datasets (file, header address) being resolved on this thread, outermost
    /// first.
    static RESOLVING: RefCell<Vec<(String, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Marks a virtual dataset as being resolved on this thread for as long as it lives, so that
/// a mapping reaching back to a dataset under resolution fails at once instead of recursing.
struct Nesting;

impl Nesting {
    fn enter(d: &Dataset) -> Result<Nesting> {
        let key = (d.file().location().to_string(), d.address());
        RESOLVING.with(|r| {
            let mut r = r.borrow_mut();
            if r.contains(&key) {
                return Err(object_err(d, "virtual dataset maps onto itself"));
            }
            if r.len() >= MAX_NESTING {
                return Err(object_err(d, "virtual dataset sources nest too deep"));
            }
            r.push(key);
            Ok(Nesting)
        })
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        RESOLVING.with(|r| r.borrow_mut().pop());
    }
}

fn object_err(d: &Dataset, detail: impl Into<String>) -> Error {
    Error::Object {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: detail.into(),
    }
}

/// The dataspace h5py reports for `d`: for a virtual dataset with unlimited mappings, the
/// stored extent recomputed from the available sources; otherwise `stored` unchanged.
pub(crate) fn current_space(d: &Dataset, stored: Dataspace) -> Result<Dataspace> {
    if !matches!(d.layout(), Ok(Layout::Virtual { .. })) || stored.dims.is_empty() {
        return Ok(stored);
    }
    let _nesting = Nesting::enter(d)?;
    let table = load(d)?;
    if !table
        .mappings
        .iter()
        .any(|m| unlimited_dim(&m.virtual_selection).is_some())
    {
        return Ok(stored);
    }
    let mut sources = Sources::new(d);
    let plan = plan(d, &table, &stored.dims, &mut sources, false)?;
    Ok(Dataspace {
        dims: plan.dims,
        ..stored
    })
}

/// Reads the selected elements of virtual dataset `d` (datatype `dt`) into `out`, C order over
/// `out_shape`, in the virtual dataset's own byte layout.
pub(crate) fn read(
    d: &Dataset,
    dt: &Datatype,
    sel: &Selection,
    out: &mut [u8],
    out_shape: &[u64],
) -> Result<()> {
    let _nesting = Nesting::enter(d)?;
    let esize = u64::from(dt.size);
    crate::read::fill(d, esize, out)?;
    let stored = d.stored_dataspace()?;
    let table = load(d)?;
    let mut sources = Sources::new(d);
    let plan = plan(d, &table, &stored.dims, &mut sources, true)?;
    for piece in &plan.pieces {
        read_piece(dt, piece, sel, out, out_shape).map_err(|e| match e {
            PieceError::Read(e) => e,
            PieceError::Mapping(detail) => object_err(
                d,
                format!(
                    "mapping from {}:{}: {detail}",
                    piece.source.file_name, piece.source.dataset_name
                ),
            ),
        })?;
    }
    Ok(())
}

/// The mapping table the layout message points at.
fn load(d: &Dataset) -> Result<VirtualMappings> {
    let inner = &d.file().inner;
    let fail = |e| inner.err(d.path(), e);
    let Layout::Virtual {
        heap_address,
        heap_index,
    } = d.layout()?
    else {
        return Err(object_err(d, "not a virtual dataset"));
    };
    let heap: std::sync::Arc<GlobalHeapCollection> =
        inner.global_heap(heap_address).map_err(fail)?;
    let body = u16::try_from(heap_index)
        .ok()
        .and_then(|i| heap.object(i))
        .ok_or_else(|| {
            fail(FormatError::corrupt(
                "virtual dataset mapping table",
                heap_address,
                format!("global heap has no object {heap_index}"),
            ))
        })?;
    VirtualMappings::parse(
        &mut Cursor::new(&body, heap_address, "virtual dataset mapping table"),
        &inner.ctx(),
    )
    .map_err(fail)
}

/// An opened source dataset.
#[derive(Clone)]
struct Source {
    file_name: String,
    dataset_name: String,
    dataset: Dataset,
    space: Dataspace,
    datatype: Datatype,
}

/// The source files opened while resolving one virtual dataset (a per-read cache: one file
/// usually holds the sources of many mappings).
struct Sources<'a> {
    vds: &'a Dataset,
    files: HashMap<String, Option<File>>,
}

impl<'a> Sources<'a> {
    fn new(vds: &'a Dataset) -> Self {
        Sources {
            vds,
            files: HashMap::new(),
        }
    }

    /// The source dataset, or `None` when its file or the dataset cannot be opened (libhdf5
    /// treats both as "not available yet", not as errors).
    fn open(&mut self, file: &[u8], dataset: &[u8]) -> Option<Source> {
        let file_name = crate::names::decode(file);
        let dataset_name = String::from_utf8_lossy(dataset).into_owned();
        let handle = if file == b"." {
            self.vds.file().clone()
        } else {
            let location = crate::external::resolve(self.vds.file().location(), &file_name);
            self.files
                .entry(location)
                .or_insert_with_key(|location| {
                    File::open_with(location, &self.vds.file().inner.options).ok()
                })
                .clone()?
        };
        let Ok(Object::Dataset(dataset)) = handle.object(&dataset_name) else {
            return None;
        };
        let space = dataset.dataspace().ok()?;
        let datatype = dataset.datatype().ok()?;
        Some(Source {
            file_name,
            dataset_name,
            dataset,
            space,
            datatype,
        })
    }
}

/// The elements selected along one dimension: `count` blocks of `block` indexes, `stride`
/// apart, from `start`, cut off at `limit` (where libhdf5 clipped an unlimited selection).
/// Blocks never overlap (`block <= stride`), so positions and indexes convert in O(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pattern {
    start: u64,
    stride: u64,
    count: u64,
    block: u64,
    limit: u64,
}

impl Pattern {
    fn whole(n: u64) -> Pattern {
        Pattern {
            start: 0,
            stride: n.max(1),
            count: 1,
            block: n,
            limit: u64::MAX,
        }
    }

    fn len(&self) -> u64 {
        if self.count == 0 || self.block == 0 || self.start >= self.limit {
            return 0;
        }
        let span = self.limit - self.start;
        let blocks = self.count.min(span.div_ceil(self.stride));
        let last = (blocks - 1).saturating_mul(self.stride);
        (blocks - 1)
            .saturating_mul(self.block)
            .saturating_add(self.block.min(span - last))
    }

    /// The index of the `k`-th selected element (`k < len()`).
    fn nth(&self, k: u64) -> u64 {
        self.start + (k / self.block) * self.stride + k % self.block
    }

    /// Where index `i` falls in the selection order, if it is selected.
    fn position(&self, i: u64) -> Option<u64> {
        if i < self.start || i >= self.limit {
            return None;
        }
        let off = i - self.start;
        let (b, r) = (off / self.stride, off % self.stride);
        (b < self.count && r < self.block).then(|| b * self.block + r)
    }

    /// Smallest index past the selection.
    fn end(&self) -> u64 {
        let len = self.len();
        if len == 0 {
            self.start
        } else {
            self.nth(len - 1) + 1
        }
    }
}

/// The dimension of a regular hyperslab whose count or block is unlimited.
fn unlimited_dim(sel: &Stored) -> Option<usize> {
    match sel {
        Stored::Hyperslab(Hyperslab::Regular(dims)) => dims
            .iter()
            .position(|d| d.count == UNLIMITED || d.block == UNLIMITED),
        _ => None,
    }
}

/// A stored selection as one [`Pattern`] per dimension of `dims` (which `all` selects), with an
/// unlimited dimension clipped to `clip` as `H5S_hyper_clip_unlim` does. `None` when nothing is
/// selected; an error for selections libhdf5 does not map (points) or that this reader cannot
/// (irregular hyperslabs of several blocks).
fn region(
    sel: &Stored,
    dims: &[u64],
    clip: Option<u64>,
) -> std::result::Result<Option<Vec<Pattern>>, String> {
    let rank_err = |n: usize| {
        format!(
            "selection of rank {n} on a dataspace of rank {}",
            dims.len()
        )
    };
    match sel {
        Stored::None => Ok(None),
        Stored::All => Ok(Some(dims.iter().map(|&n| Pattern::whole(n)).collect())),
        Stored::Points(_) => Err("point selections are not valid in virtual mappings".into()),
        Stored::Hyperslab(Hyperslab::Blocks(blocks)) => match blocks.as_slice() {
            [] => Ok(None),
            [(start, end)] => {
                if start.len() != dims.len() {
                    return Err(rank_err(start.len()));
                }
                Ok(Some(
                    start
                        .iter()
                        .zip(end)
                        .map(|(&s, &e)| {
                            // Ends are inclusive; the decoder guarantees e >= s.
                            let n = e.saturating_sub(s).saturating_add(1);
                            Pattern {
                                start: s,
                                stride: n,
                                count: 1,
                                block: n,
                                limit: u64::MAX,
                            }
                        })
                        .collect(),
                ))
            }
            _ => Err("irregular hyperslab mappings are not supported".into()),
        },
        Stored::Hyperslab(Hyperslab::Regular(regular)) => {
            if regular.len() != dims.len() {
                return Err(rank_err(regular.len()));
            }
            let mut out = Vec::with_capacity(regular.len());
            for d in regular {
                let unlimited = d.count == UNLIMITED || d.block == UNLIMITED;
                let p = if unlimited {
                    let clip = clip.ok_or("unlimited selection without an extent")?;
                    if d.start >= clip {
                        return Ok(None);
                    }
                    if d.block == UNLIMITED || d.block == d.stride {
                        let n = clip - d.start;
                        Pattern {
                            start: d.start,
                            stride: n,
                            count: 1,
                            block: n,
                            limit: u64::MAX,
                        }
                    } else {
                        checked(d, (clip - d.start).div_ceil(d.stride.max(1)), clip)?
                    }
                } else {
                    checked(d, d.count, u64::MAX)?
                };
                out.push(p);
            }
            Ok(Some(out))
        }
    }
}

/// A finite regular dimension, refused when its blocks overlap or its end overflows.
fn checked(d: &RegularDim, count: u64, limit: u64) -> std::result::Result<Pattern, String> {
    let stride = if count <= 1 { d.block.max(1) } else { d.stride };
    if count > 1 && (stride == 0 || d.block > stride) {
        return Err(format!(
            "hyperslab stride {} with block {} overlaps",
            d.stride, d.block
        ));
    }
    let reach = count
        .saturating_sub(1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(d.start))
        .and_then(|x| x.checked_add(d.block));
    if reach.is_none() {
        return Err("hyperslab extends past 2^64".into());
    }
    Ok(Pattern {
        start: d.start,
        stride,
        count,
        block: d.block,
        limit,
    })
}

/// Slices the unlimited dimension `m` of a source selection holds within a source extent
/// (`H5S_hyper_get_clip_extent_match`, first half).
fn slices_within(m: &RegularDim, extent: u64) -> u64 {
    if m.start >= extent {
        return 0;
    }
    let avail = extent - m.start;
    let (count, block) = if m.block == UNLIMITED || m.block == m.stride {
        (1, avail)
    } else {
        (avail.div_ceil(m.stride.max(1)), m.block)
    };
    if count == 1 || block == 0 {
        return block;
    }
    let reach = m.stride.saturating_mul(count - 1).saturating_add(block);
    let n = block.saturating_mul(count);
    n.saturating_sub(reach.saturating_sub(avail))
}

/// The extent the unlimited virtual dimension `v` reaches when it holds `n` slices, ending at
/// the last slice (`H5S__hyper_get_clip_extent_real` without trailing space).
fn extent_for_slices(v: &RegularDim, n: u64) -> u64 {
    if n == 0 {
        0
    } else if v.block == UNLIMITED || v.block == v.stride {
        v.start.saturating_add(n)
    } else {
        let block = v.block.max(1);
        let (full, rem) = (n / block, n % block);
        if rem > 0 {
            v.start
                .saturating_add(full.saturating_mul(v.stride))
                .saturating_add(rem)
        } else {
            v.start
                .saturating_add((full - 1).saturating_mul(v.stride))
                .saturating_add(v.block)
        }
    }
}

/// A source name with printf `%b` replaced by `block` and `%%` by `%`; `None` for any other
/// `%` sequence, which libhdf5 refuses.
fn substitute(name: &[u8], block: u64) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 8);
    let mut i = 0;
    while i < name.len() {
        if name[i] == b'%' {
            match name.get(i + 1) {
                Some(b'b') => out.extend(block.to_string().bytes()),
                Some(b'%') => out.push(b'%'),
                _ => return None,
            }
            i += 2;
        } else {
            out.push(name[i]);
            i += 1;
        }
    }
    Some(out)
}

/// One mapping made concrete: a finite virtual region and the source region it reads from.
struct Piece {
    virt: Vec<Pattern>,
    src: Vec<Pattern>,
    source: Source,
}

struct Plan {
    dims: Vec<u64>,
    pieces: Vec<Piece>,
}

/// What a mapping contributes once the extent is known.
enum Pending<'m> {
    Limited(&'m Mapping),
    Unlimited {
        mapping: &'m Mapping,
        clip: u64,
        source_dim: usize,
        source: Source,
    },
    Printf {
        mapping: &'m Mapping,
        dim: usize,
        blocks: Vec<(u64, Source)>,
    },
}

/// Computes the current extent (`H5D__virtual_set_extent_unlim`, last-available view) and,
/// when `for_read`, the pieces to read.
fn plan(
    d: &Dataset,
    table: &VirtualMappings,
    stored: &[u64],
    sources: &mut Sources,
    for_read: bool,
) -> Result<Plan> {
    let rank = stored.len();
    let bad = |detail: String| object_err(d, format!("virtual mapping: {detail}"));
    let mut grown: Vec<Option<u64>> = vec![None; rank];
    let mut min_dims = vec![0u64; rank];
    let mut pending = Vec::new();
    for m in &table.mappings {
        let Some(dim) = unlimited_dim(&m.virtual_selection) else {
            if let Some((_, end)) = m.virtual_selection.bounds(stored) {
                if end.len() != rank {
                    return Err(bad(format!("selection of rank {}", end.len())));
                }
                for (lo, e) in min_dims.iter_mut().zip(&end) {
                    *lo = (*lo).max(e.saturating_add(1));
                }
            }
            if for_read {
                pending.push(Pending::Limited(m));
            }
            continue;
        };
        let Stored::Hyperslab(Hyperslab::Regular(vdims)) = &m.virtual_selection else {
            continue;
        };
        if vdims.len() != rank {
            return Err(bad(format!("selection of rank {}", vdims.len())));
        }
        for (i, v) in vdims.iter().enumerate().filter(|&(i, _)| i != dim) {
            let p = checked(v, v.count, u64::MAX).map_err(bad)?;
            min_dims[i] = min_dims[i].max(p.end());
        }
        let v = &vdims[dim];
        let clip = if let Some(source_dim) = unlimited_dim(&m.source_selection) {
            let Stored::Hyperslab(Hyperslab::Regular(sdims)) = &m.source_selection else {
                continue;
            };
            let source = sources
                .open(&m.source_file, &m.source_dataset)
                .filter(|s| s.space.dims.len() == sdims.len());
            // A missing source holds no slices: the mapping asks for an extent of 0.
            let Some(source) = source else {
                grown[dim] = Some(grown[dim].unwrap_or(0));
                continue;
            };
            let clip = extent_for_slices(
                v,
                slices_within(&sdims[source_dim], source.space.dims[source_dim]),
            );
            if for_read {
                pending.push(Pending::Unlimited {
                    mapping: m,
                    clip,
                    source_dim,
                    source,
                });
            }
            clip
        } else {
            let mut blocks = Vec::new();
            let mut first_missing = 0u64;
            let mut j = 0u64;
            while j <= first_missing + PRINTF_GAP && j < MAX_PRINTF_BLOCKS {
                let (Some(file), Some(dset)) = (
                    substitute(&m.source_file, j),
                    substitute(&m.source_dataset, j),
                ) else {
                    return Err(bad("invalid printf specifier in a source name".into()));
                };
                if let Some(s) = sources.open(&file, &dset) {
                    first_missing = j + 1;
                    if for_read {
                        blocks.push((j, s));
                    }
                }
                j += 1;
            }
            if for_read {
                pending.push(Pending::Printf {
                    mapping: m,
                    dim,
                    blocks,
                });
            }
            if first_missing == 0 {
                0
            } else {
                v.start
                    .saturating_add((first_missing - 1).saturating_mul(v.stride))
                    .saturating_add(v.block)
            }
        };
        grown[dim] = Some(grown[dim].map_or(clip, |g| g.max(clip)));
    }
    let dims: Vec<u64> = (0..rank)
        .map(|i| grown[i].map_or(stored[i], |g| g.max(min_dims[i])))
        .collect();
    let mut pieces = Vec::new();
    for p in pending {
        match p {
            Pending::Limited(m) => {
                let Some(source) = sources.open(&m.source_file, &m.source_dataset) else {
                    continue;
                };
                let virt = region(&m.virtual_selection, &dims, None).map_err(bad)?;
                let src = region(&m.source_selection, &source.space.dims, None).map_err(bad)?;
                if let (Some(virt), Some(src)) = (virt, src) {
                    pieces.push(Piece { virt, src, source });
                }
            }
            Pending::Unlimited {
                mapping,
                clip,
                source_dim,
                source,
            } => {
                let virt = region(&mapping.virtual_selection, &dims, Some(clip)).map_err(bad)?;
                let extent = source.space.dims[source_dim];
                let src = region(&mapping.source_selection, &source.space.dims, Some(extent))
                    .map_err(bad)?;
                if let (Some(virt), Some(src)) = (virt, src) {
                    pieces.push(Piece { virt, src, source });
                }
            }
            Pending::Printf {
                mapping,
                dim,
                blocks,
            } => {
                let Stored::Hyperslab(Hyperslab::Regular(vdims)) = &mapping.virtual_selection
                else {
                    continue;
                };
                for (j, source) in blocks {
                    // Block j alone: libhdf5's H5S_hyper_get_unlim_block.
                    let mut one = vdims.clone();
                    one[dim].start = vdims[dim]
                        .start
                        .saturating_add(j.saturating_mul(vdims[dim].stride));
                    one[dim].count = 1;
                    let one = Stored::Hyperslab(Hyperslab::Regular(one));
                    let virt = region(&one, &dims, None).map_err(bad)?;
                    let src =
                        region(&mapping.source_selection, &source.space.dims, None).map_err(bad)?;
                    if let (Some(virt), Some(src)) = (virt, src) {
                        pieces.push(Piece { virt, src, source });
                    }
                }
            }
        }
    }
    Ok(Plan { dims, pieces })
}

enum PieceError {
    Read(Error),
    Mapping(String),
}

impl From<Error> for PieceError {
    fn from(e: Error) -> Self {
        PieceError::Read(e)
    }
}

/// Reads the part of `sel` that `piece` covers and places it in `out`.
///
/// The k-th element of the virtual region (C order) is the k-th element of the source region.
/// Both regions are products of per-dimension patterns; once dimensions holding a single
/// element are set aside, the remaining ones pair up in order with equal lengths (the shapes
/// libhdf5 and h5py write), so the correspondence is per dimension.
fn read_piece(
    dt: &Datatype,
    piece: &Piece,
    sel: &Selection,
    out: &mut [u8],
    out_shape: &[u64],
) -> std::result::Result<(), PieceError> {
    let total = |ps: &[Pattern]| {
        ps.iter()
            .try_fold(1u64, |a, p| a.checked_mul(p.len()))
            .unwrap_or(u64::MAX)
    };
    let (vn, sn) = (total(&piece.virt), total(&piece.src));
    if vn != sn {
        return Err(PieceError::Mapping(format!(
            "virtual selection has {vn} elements, source selection {sn}"
        )));
    }
    if vn == 0 {
        return Ok(());
    }
    let big =
        |ps: &[Pattern]| -> Vec<usize> { (0..ps.len()).filter(|&i| ps[i].len() > 1).collect() };
    let (vbig, sbig) = (big(&piece.virt), big(&piece.src));
    if vbig.len() != sbig.len()
        || vbig
            .iter()
            .zip(&sbig)
            .any(|(&a, &b)| piece.virt[a].len() != piece.src[b].len())
    {
        return Err(PieceError::Mapping(
            "source and virtual regions differ in shape; reshaping mappings are not supported"
                .into(),
        ));
    }
    // Per virtual dimension: (output position, position in the virtual pattern) of every
    // requested index the pattern selects.
    let mut hits: Vec<Vec<(u64, u64)>> = Vec::with_capacity(sel.dims.len());
    for (s, p) in sel.dims.iter().zip(&piece.virt) {
        let h = dim_hits(s, p);
        if h.is_empty() {
            return Ok(());
        }
        hits.push(h);
    }
    // The source selection: paired dimensions follow the hits, the others hold one element.
    let mut pair_of = vec![None; piece.src.len()];
    for (&v, &s) in vbig.iter().zip(&sbig) {
        pair_of[s] = Some(v);
    }
    let src_dims: Vec<DimSelection> = piece
        .src
        .iter()
        .zip(&pair_of)
        .map(|(p, pair)| match pair {
            Some(v) => compress(hits[*v].iter().map(|&(_, k)| p.nth(k)).collect()),
            None => DimSelection::Strided {
                start: p.nth(0),
                count: 1,
                step: 1,
            },
        })
        .collect();
    let src_shape: Vec<u64> = src_dims.iter().map(DimSelection::len).collect();
    let source = &piece.source;
    let selection = Selection { dims: src_dims };
    let raw = crate::read::read_many(&[(&source.dataset, &selection)])?
        .pop()
        .unwrap_or_default();
    let data = convert(&source.datatype, dt, raw).map_err(PieceError::Mapping)?;
    let esize = dt.size as usize;
    // Element strides of the source block, carried over to the virtual dimension each pairs with.
    let mut src_stride_of = vec![0u64; hits.len()];
    let mut stride = 1u64;
    for (s, n) in src_shape.iter().enumerate().rev() {
        if let Some(v) = pair_of[s] {
            src_stride_of[v] = stride;
        }
        stride = stride.saturating_mul(*n);
    }
    let mut out_stride = vec![0u64; out_shape.len()];
    let mut acc = 1u64;
    for (i, n) in out_shape.iter().enumerate().rev() {
        out_stride[i] = acc;
        acc = acc.saturating_mul(*n);
    }
    place(&hits, &src_stride_of, &out_stride, &data, out, esize);
    Ok(())
}

/// Copies every combination of per-dimension hits from `data` into `out`.
fn place(
    hits: &[Vec<(u64, u64)>],
    src_stride: &[u64],
    out_stride: &[u64],
    data: &[u8],
    out: &mut [u8],
    esize: usize,
) {
    let rank = hits.len();
    let mut idx = vec![0usize; rank];
    loop {
        let mut o = 0u64;
        let mut s = 0u64;
        for dim in 0..rank {
            o += hits[dim][idx[dim]].0 * out_stride[dim];
            s += idx[dim] as u64 * src_stride[dim];
        }
        let (o, s) = (o as usize * esize, s as usize * esize);
        if let (Some(dst), Some(src)) = (out.get_mut(o..o + esize), data.get(s..s + esize)) {
            dst.copy_from_slice(src);
        }
        // Advance the odometer, last dimension fastest.
        let mut dim = rank;
        loop {
            if dim == 0 {
                return;
            }
            dim -= 1;
            idx[dim] += 1;
            if idx[dim] < hits[dim].len() {
                break;
            }
            idx[dim] = 0;
        }
    }
}

/// The requested indexes of one dimension that pattern `p` selects, as (output position,
/// position in `p`). Strided requests visit only the positions inside `p`'s span.
fn dim_hits(s: &DimSelection, p: &Pattern) -> Vec<(u64, u64)> {
    let (lo, hi) = (p.start, p.end());
    match s {
        DimSelection::Strided { start, count, step } => {
            let step = (*step).max(1);
            let first = if lo > *start {
                (lo - start).div_ceil(step)
            } else {
                0
            };
            let last = if hi > *start {
                ((hi - 1 - start) / step + 1).min(*count)
            } else {
                0
            };
            (first..last)
                .filter_map(|o| p.position(start + o * step).map(|k| (o, k)))
                .collect()
        }
        DimSelection::Indices(v) => v
            .iter()
            .enumerate()
            .filter_map(|(o, &i)| p.position(i).map(|k| (o as u64, k)))
            .collect(),
    }
}

/// An index list as a strided range when it is one (cheaper to read), else as indexes.
fn compress(v: Vec<u64>) -> DimSelection {
    if let [a, b, ..] = v[..] {
        if b > a && v.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] == b - a) {
            return DimSelection::Strided {
                start: a,
                count: v.len() as u64,
                step: b - a,
            };
        }
    }
    if let [a] = v[..] {
        return DimSelection::Strided {
            start: a,
            count: 1,
            step: 1,
        };
    }
    DimSelection::Indices(v)
}

/// Source elements in the virtual dataset's datatype: identical types pass through, numbers
/// that differ only in byte order are swapped; other conversions are refused.
fn convert(
    src: &Datatype,
    dst: &Datatype,
    mut data: Vec<u8>,
) -> std::result::Result<Vec<u8>, String> {
    if src == dst {
        return Ok(data);
    }
    let swappable = match (order(src), order(dst)) {
        (Some(a), Some(b)) => {
            matches!(
                (a, b),
                (ByteOrder::Little, ByteOrder::Big) | (ByteOrder::Big, ByteOrder::Little)
            ) && with_order(src, b).as_ref() == Some(dst)
        }
        _ => false,
    };
    if !swappable {
        return Err(format!(
            "source datatype {} differs from the virtual dataset's {}; only byte order is converted",
            src.numpy_dtype(),
            dst.numpy_dtype()
        ));
    }
    let n = (src.size as usize).max(1);
    for e in data.chunks_exact_mut(n) {
        e.reverse();
    }
    Ok(data)
}

fn order(t: &Datatype) -> Option<ByteOrder> {
    match &t.class {
        TypeClass::FixedPoint { order, .. }
        | TypeClass::FloatingPoint { order, .. }
        | TypeClass::Bitfield { order, .. }
        | TypeClass::Time { order, .. } => Some(*order),
        _ => None,
    }
}

fn with_order(t: &Datatype, to: ByteOrder) -> Option<Datatype> {
    let mut t = t.clone();
    match &mut t.class {
        TypeClass::FixedPoint { order, .. }
        | TypeClass::FloatingPoint { order, .. }
        | TypeClass::Bitfield { order, .. }
        | TypeClass::Time { order, .. } => *order = to,
        _ => return None,
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(start: u64, stride: u64, count: u64, block: u64) -> RegularDim {
        RegularDim {
            start,
            stride,
            count,
            block,
        }
    }

    #[test]
    fn patterns_convert_positions_and_indexes() {
        // Blocks [1,2], [5,6], [9] (cut at 10).
        let p = Pattern {
            start: 1,
            stride: 4,
            count: 3,
            block: 2,
            limit: 10,
        };
        assert_eq!(p.len(), 5);
        assert_eq!(
            (0..5).map(|k| p.nth(k)).collect::<Vec<_>>(),
            [1, 2, 5, 6, 9]
        );
        assert_eq!(p.position(6), Some(3));
        assert_eq!(p.position(3), None);
        assert_eq!(p.position(10), None);
        assert_eq!(p.end(), 10);
    }

    #[test]
    fn unlimited_extents_follow_libhdf5() {
        // 1_vds.h5: block unlimited on both sides, source extent 5.
        let v = rd(0, 1, 1, UNLIMITED);
        assert_eq!(extent_for_slices(&v, slices_within(&v, 5)), 5);
        // vds-percival: virtual rows 3, 7, 11, ... from source rows 0.. of an 8-row source.
        let virt = rd(3, 4, UNLIMITED, 1);
        let src = rd(0, 1, UNLIMITED, 1);
        assert_eq!(extent_for_slices(&virt, slices_within(&src, 8)), 32);
        assert_eq!(extent_for_slices(&virt, slices_within(&src, 0)), 0);
        // Blocks of 3 every 5, 7 slices: two whole blocks and one slice of the third.
        assert_eq!(extent_for_slices(&rd(0, 5, UNLIMITED, 3), 7), 11);
        assert_eq!(extent_for_slices(&rd(0, 5, UNLIMITED, 3), 6), 8);
    }

    #[test]
    fn clipped_regions() {
        let sel = Stored::Hyperslab(Hyperslab::Regular(vec![
            rd(2, 3, UNLIMITED, 1),
            rd(0, 1, 1, 4),
        ]));
        let r = region(&sel, &[9, 4], Some(9)).unwrap().unwrap();
        assert_eq!(r[0].len(), 3);
        assert_eq!(r[1].len(), 4);
        assert_eq!(region(&sel, &[9, 4], Some(2)).unwrap(), None);
        assert!(region(&sel, &[9, 4], None).is_err());
        assert!(region(&Stored::Points(vec![vec![0]]), &[3], None).is_err());
        let overlapping = Stored::Hyperslab(Hyperslab::Regular(vec![rd(0, 1, 3, 2)]));
        assert!(region(&overlapping, &[9], None).is_err());
        let huge = Stored::Hyperslab(Hyperslab::Regular(vec![rd(u64::MAX - 1, 1, 1, 5)]));
        assert!(region(&huge, &[9], None).is_err());
    }

    #[test]
    fn printf_names() {
        assert_eq!(substitute(b"f-%b.h5", 12).unwrap(), b"f-12.h5");
        assert_eq!(substitute(b"100%%_%b", 0).unwrap(), b"100%_0");
        assert_eq!(substitute(b"bad%d", 0), None);
        assert_eq!(substitute(b"tail%", 0), None);
    }

    #[test]
    fn requested_indexes_hit_the_pattern() {
        let p = Pattern {
            start: 4,
            stride: 4,
            count: 2,
            block: 2,
            limit: u64::MAX,
        }; // 4 5 8 9
        let s = DimSelection::Strided {
            start: 1,
            count: 5,
            step: 2,
        }; // 1 3 5 7 9
        assert_eq!(dim_hits(&s, &p), [(2, 1), (4, 3)]);
        let s = DimSelection::Indices(vec![9, 0, 4]);
        assert_eq!(dim_hits(&s, &p), [(0, 3), (2, 0)]);
        assert_eq!(
            compress(vec![3, 5, 7]),
            DimSelection::Strided {
                start: 3,
                count: 3,
                step: 2
            }
        );
        assert_eq!(compress(vec![3, 2]), DimSelection::Indices(vec![3, 2]));
    }
}
