//! Serialized dataspace selections, as libhdf5 writes them (`H5S_select_serialize`) after the
//! object address in the global heap object of a dataset region reference (HDF5 File Format
//! Specification IV.A.2.d, reference class 7, and III.E Global Heap).
//!
//! Layout: a u32 selection type (0 none, 1 points, 2 hyperslab, 3 all) and a u32 version,
//! then per type: version 1 of every type has 8 more header bytes (reserved, length) and
//! 4-byte coordinates; points version 2 and hyperslab version 3 store the coordinate width
//! (2, 4 or 8); hyperslab versions 2 and 3 add a flags byte whose bit 0 marks a regular
//! hyperslab stored as start/stride/count/block per dimension.

use crate::error::{Error, Result};
use crate::limits::MAX_RANK;
use crate::read::Cursor;

const STRUCTURE: &str = "dataspace selection";

/// A `count` or `block` of [`RegularDim`] that extends to the end of an unlimited dimension.
pub const UNLIMITED: u64 = u64::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// No element.
    None,
    /// Every element of the dataspace it is applied to.
    All,
    /// Individual elements, one coordinate vector each, in selection order.
    Points(Vec<Vec<u64>>),
    Hyperslab(Hyperslab),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hyperslab {
    /// One regular pattern per dimension.
    Regular(Vec<RegularDim>),
    /// A union of blocks, each given by its (start, end) corners, ends inclusive.
    Blocks(Vec<(Vec<u64>, Vec<u64>)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegularDim {
    pub start: u64,
    pub stride: u64,
    pub count: u64,
    pub block: u64,
}

impl Selection {
    pub fn parse(c: &mut Cursor) -> Result<Selection> {
        let mut inner = c.clone().with_structure(STRUCTURE);
        let sel = parse(&mut inner)?;
        c.seek(inner.pos())?;
        Ok(sel)
    }

    /// Inclusive bounding box (start, end) per dimension, given the dataspace's dims (for
    /// `All`); `None` when nothing is selected or the extent is unlimited.
    pub fn bounds(&self, dims: &[u64]) -> Option<(Vec<u64>, Vec<u64>)> {
        match self {
            Selection::None => None,
            Selection::All => {
                if dims.contains(&0) {
                    return None;
                }
                Some((vec![0; dims.len()], dims.iter().map(|d| d - 1).collect()))
            }
            Selection::Points(points) => bounding_box(points.iter().map(|p| (p, p))),
            Selection::Hyperslab(Hyperslab::Blocks(blocks)) => {
                bounding_box(blocks.iter().map(|(s, e)| (s, e)))
            }
            Selection::Hyperslab(Hyperslab::Regular(dims)) => {
                let mut start = Vec::with_capacity(dims.len());
                let mut end = Vec::with_capacity(dims.len());
                for d in dims {
                    if d.count == 0 || d.block == 0 || d.count == UNLIMITED || d.block == UNLIMITED
                    {
                        return None;
                    }
                    let last = d
                        .stride
                        .checked_mul(d.count - 1)
                        .and_then(|x| x.checked_add(d.start))
                        .and_then(|x| x.checked_add(d.block - 1))?;
                    start.push(d.start);
                    end.push(last);
                }
                Some((start, end))
            }
        }
    }
}

fn bounding_box<'a>(
    mut boxes: impl Iterator<Item = (&'a Vec<u64>, &'a Vec<u64>)>,
) -> Option<(Vec<u64>, Vec<u64>)> {
    let (first_start, first_end) = boxes.next()?;
    let mut lo = first_start.clone();
    let mut hi = first_end.clone();
    for (s, e) in boxes {
        for (l, v) in lo.iter_mut().zip(s) {
            *l = (*l).min(*v);
        }
        for (h, v) in hi.iter_mut().zip(e) {
            *h = (*h).max(*v);
        }
    }
    Some((lo, hi))
}

fn parse(c: &mut Cursor) -> Result<Selection> {
    let at = c.addr();
    let kind = c.u32()?;
    let version = c.u32()?;
    let bad_version = || {
        Error::unsupported(
            STRUCTURE,
            at,
            format!("selection type {kind} version {version}"),
        )
    };
    match kind {
        0 | 3 => {
            if version != 1 {
                return Err(bad_version());
            }
            // Reserved word and a zero length.
            c.skip(8)?;
            Ok(if kind == 0 {
                Selection::None
            } else {
                Selection::All
            })
        }
        1 => {
            let width = match version {
                1 => {
                    c.skip(8)?;
                    4
                }
                2 => coordinate_width(c)?,
                _ => return Err(bad_version()),
            };
            let rank = rank(c)?;
            let n = c.uint(width)?;
            let coords = coordinates(c, n, rank, width)?;
            Ok(Selection::Points(
                coords.chunks(rank).map(<[u64]>::to_vec).collect(),
            ))
        }
        2 => {
            let (flags, width) = match version {
                1 => {
                    c.skip(8)?;
                    (0, 4)
                }
                2 => {
                    let flags = c.u8()?;
                    c.skip(4)?;
                    (flags, 8)
                }
                3 => {
                    let flags = c.u8()?;
                    (flags, coordinate_width(c)?)
                }
                _ => return Err(bad_version()),
            };
            if flags & !1 != 0 {
                return Err(Error::unsupported(
                    STRUCTURE,
                    at,
                    format!("hyperslab flags {flags:#x}"),
                ));
            }
            let rank = rank(c)?;
            if flags & 1 != 0 {
                let v = coordinates(c, 4, rank, width)?;
                let all_ones = if width == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * width)) - 1
                };
                let unlimited = |x: u64| if x == all_ones { UNLIMITED } else { x };
                // Stored per dimension as start, stride, count, block.
                let dims = v
                    .chunks(4)
                    .map(|d| RegularDim {
                        start: d[0],
                        stride: d[1],
                        count: unlimited(d[2]),
                        block: unlimited(d[3]),
                    })
                    .collect();
                return Ok(Selection::Hyperslab(Hyperslab::Regular(dims)));
            }
            let n = c.uint(width)?;
            let v = coordinates(c, n.saturating_mul(2), rank, width)?;
            let mut blocks = Vec::new();
            for pair in v.chunks(2 * rank) {
                let (start, end) = pair.split_at(rank);
                if start.iter().zip(end).any(|(s, e)| e < s) {
                    return Err(Error::corrupt(
                        STRUCTURE,
                        at,
                        "hyperslab block ends before it starts",
                    ));
                }
                blocks.push((start.to_vec(), end.to_vec()));
            }
            Ok(Selection::Hyperslab(Hyperslab::Blocks(blocks)))
        }
        _ => Err(Error::unsupported(
            STRUCTURE,
            at,
            format!("selection type {kind}"),
        )),
    }
}

fn coordinate_width(c: &mut Cursor) -> Result<usize> {
    match c.u8()? {
        w @ (2 | 4 | 8) => Ok(usize::from(w)),
        w => Err(c.corrupt(format!("coordinate width {w}"))),
    }
}

fn rank(c: &mut Cursor) -> Result<usize> {
    let rank = c.u32()?;
    if rank == 0 || rank as usize > MAX_RANK {
        return Err(c.corrupt(format!("selection of rank {rank}")));
    }
    Ok(rank as usize)
}

/// `n` groups of `rank` coordinates, each `width` bytes; the byte count is checked against
/// the buffer before anything is allocated.
fn coordinates(c: &mut Cursor, n: u64, rank: usize, width: usize) -> Result<Vec<u64>> {
    let need = n
        .checked_mul(rank as u64)
        .and_then(|x| x.checked_mul(width as u64));
    match need {
        Some(need) if need <= c.remaining() as u64 => {}
        _ => {
            return Err(Error::Truncated {
                structure: STRUCTURE,
                offset: c.addr(),
                need: need.unwrap_or(u64::MAX),
                have: c.remaining() as u64,
            })
        }
    }
    let count = n as usize * rank;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(c.uint(width)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[(u64, usize)]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(x, w) in words {
            v.extend_from_slice(&x.to_le_bytes()[..w]);
        }
        v
    }

    fn parse_all(bytes: &[u8]) -> Result<Selection> {
        let mut c = Cursor::new(bytes, 0x100, "test");
        let s = Selection::parse(&mut c)?;
        assert!(c.is_empty(), "selection left {} bytes", c.remaining());
        Ok(s)
    }

    #[test]
    fn none_and_all() {
        let none = le(&[(0, 4), (1, 4), (0, 4), (0, 4)]);
        assert_eq!(parse_all(&none).unwrap(), Selection::None);
        assert_eq!(Selection::None.bounds(&[3]), None);
        let all = le(&[(3, 4), (1, 4), (0, 4), (0, 4)]);
        let all = parse_all(&all).unwrap();
        assert_eq!(all.bounds(&[2, 3]), Some((vec![0, 0], vec![1, 2])));
        assert_eq!(all.bounds(&[]), Some((vec![], vec![])));
        assert_eq!(all.bounds(&[4, 0]), None);
    }

    #[test]
    fn points_version_1_and_2() {
        // Version 1: reserved, length, rank 2, 2 points of 4-byte coordinates.
        let v1 = le(&[(1, 4), (1, 4), (0, 4), (24, 4), (2, 4), (2, 4)]);
        let mut v1 = v1;
        v1.extend(le(&[(4, 4), (5, 4), (10, 4), (1, 4)]));
        let s = parse_all(&v1).unwrap();
        assert_eq!(s, Selection::Points(vec![vec![4, 5], vec![10, 1]]));
        assert_eq!(s.bounds(&[20, 20]), Some((vec![4, 1], vec![10, 5])));
        // Version 2 with 2-byte coordinates, rank 1, points 7 and 1.
        let mut v2 = le(&[(1, 4), (2, 4), (2, 1), (1, 4), (2, 2)]);
        v2.extend(le(&[(7, 2), (1, 2)]));
        let s = parse_all(&v2).unwrap();
        assert_eq!(s.bounds(&[10]), Some((vec![1], vec![7])));
    }

    #[test]
    fn hyperslab_versions() {
        // Version 1: one block (0,0)-(0,1), as libhdf5 1.8 writes region references.
        let mut v1 = le(&[(2, 4), (1, 4), (0, 4), (20, 4), (2, 4), (1, 4)]);
        v1.extend(le(&[(0, 4), (0, 4), (0, 4), (1, 4)]));
        let s = parse_all(&v1).unwrap();
        assert_eq!(s.bounds(&[2, 2]), Some((vec![0, 0], vec![0, 1])));
        // Version 2, regular: start 1, stride 3, count 2, block 2 -> 1..=5.
        let mut v2 = le(&[(2, 4), (2, 4), (1, 1), (36, 4), (1, 4)]);
        v2.extend(le(&[(1, 8), (3, 8), (2, 8), (2, 8)]));
        let s = parse_all(&v2).unwrap();
        assert_eq!(s.bounds(&[10]), Some((vec![1], vec![5])));
        // Version 3, irregular, 2-byte coordinates: blocks [2..=3] and [6..=6].
        let mut v3 = le(&[(2, 4), (3, 4), (0, 1), (2, 1), (1, 4), (2, 2)]);
        v3.extend(le(&[(2, 2), (3, 2), (6, 2), (6, 2)]));
        let s = parse_all(&v3).unwrap();
        assert_eq!(s.bounds(&[10]), Some((vec![2], vec![6])));
        // Version 3, regular, unlimited count: no finite bounds.
        let mut v3u = le(&[(2, 4), (3, 4), (1, 1), (4, 1), (1, 4)]);
        v3u.extend(le(&[(0, 4), (1, 4), (u32::MAX as u64, 4), (1, 4)]));
        assert_eq!(parse_all(&v3u).unwrap().bounds(&[10]), None);
    }

    #[test]
    fn hostile_counts_are_refused_before_allocating() {
        let huge = le(&[(1, 4), (2, 4), (8, 1), (32, 4), (u64::MAX, 8)]);
        assert!(matches!(parse_all(&huge), Err(Error::Truncated { .. })));
        let rank0 = le(&[(2, 4), (1, 4), (0, 4), (0, 4), (0, 4), (1, 4)]);
        assert!(parse_all(&rank0).is_err());
        let backwards = le(&[
            (2, 4),
            (1, 4),
            (0, 4),
            (0, 4),
            (1, 4),
            (1, 4),
            (5, 4),
            (4, 4),
        ]);
        assert!(matches!(parse_all(&backwards), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn truncations_never_panic() {
        let mut v = le(&[(2, 4), (3, 4), (0, 1), (8, 1), (3, 4), (2, 8)]);
        v.extend(le(&[(1, 8); 12]));
        parse_all(&v).unwrap();
        for n in 0..v.len() {
            assert!(Selection::parse(&mut Cursor::new(&v[..n], 0, "t")).is_err());
        }
    }
}
