//! Filter 32026, Blosc2 (c-blosc2 README_CFRAME_FORMAT.rst, README_CHUNK_FORMAT.rst and
//! README_B2ND_METALAYER.rst; the HDF5 filter is hdf5-blosc2 / hdf5plugin's blosc2_filter.c).
//!
//! The filter stores a contiguous frame ("b2frame"): a msgpack header, the data chunks, an index chunk
//! of i64 LE chunk offsets (relative to the end of the header; negative offsets mark chunks of special
//! values) and a trailer. Multidimensional chunks carry a "b2nd" metalayer: the data is then stored in
//! blocks of `blockshape` tiling `chunkshape` (padded up to whole blocks), which we reorder to C order.
//! Bare Blosc2 chunks (no frame) are accepted too.

use crate::blosc::{chunk_cbytes, decode_chunk};
use crate::error::{check_len, DResult, Fail};

const MAGIC: &[u8; 8] = b"b2frame\0";
/// Limit on b2nd dimensions.
const MAX_NDIM: usize = 32;
/// Limit on chunks in one frame (the HDF5 filter writes one).
const MAX_FRAME_CHUNKS: usize = 1 << 16;

pub(crate) fn decode(data: &[u8], _cd: &[u32], limit: usize) -> DResult<Vec<u8>> {
    if data.get(2..10) == Some(MAGIC) {
        decode_frame(data, limit)
    } else {
        decode_chunk(data, limit)
    }
}

fn be(data: &[u8], at: usize, len: usize) -> DResult<u64> {
    let bytes = data
        .get(at..at + len)
        .ok_or_else(|| Fail::corrupt(format!("frame truncated at byte {at}")))?;
    Ok(bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// Checks the msgpack marker at `at` and returns the big-endian value of `len` bytes after it.
fn field(data: &[u8], at: usize, marker: u8, len: usize) -> DResult<u64> {
    if data.get(at) != Some(&marker) {
        return Err(Fail::corrupt(format!(
            "unexpected frame header byte at {at}"
        )));
    }
    be(data, at + 1, len)
}

fn decode_frame(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let header_len = field(data, 0x0A, 0xD2, 4)? as usize;
    let frame_len = field(data, 0x0F, 0xCF, 8)?;
    if frame_len > data.len() as u64 || header_len > data.len() {
        return Err(Fail::corrupt("frame is truncated"));
    }
    let general_flags = *data
        .get(0x19)
        .ok_or_else(|| Fail::corrupt("frame is truncated"))?;
    if (general_flags >> 4) & 0x3 != 1 {
        return Err(Fail::Unsupported(
            "chunk offsets other than 64-bit".to_string(),
        ));
    }
    let frame_type = data.get(0x1A).copied().unwrap_or(0) & 0xF;
    if frame_type != 0 {
        return Err(Fail::Unsupported("sparse frame".to_string()));
    }
    let raw_len =
        usize::try_from(field(data, 0x1D, 0xD3, 8)?).map_err(|_| Fail::TooLarge(limit))?;
    let compressed_len = usize::try_from(field(data, 0x26, 0xD3, 8)?)
        .map_err(|_| Fail::corrupt("compressed size out of range"))?;
    let typesize = field(data, 0x2F, 0xD2, 4)? as usize;
    let chunk_len = field(data, 0x34, 0xD2, 4)? as usize;
    let b2nd = b2nd_meta(data, header_len)?;
    let padded_len = match &b2nd {
        Some(m) => m.padded_elements().saturating_mul(typesize),
        None => raw_len,
    };
    // b2nd chunks are padded to whole blocks, so the frame may hold more than the HDF5 chunk.
    let allowed = match &b2nd {
        Some(_) => padded_len
            .min(limit.saturating_mul(8).saturating_add(1 << 16))
            .max(limit),
        None => limit,
    };
    check_len(raw_len, allowed)?;
    // The index chunk follows the data chunks.
    let index_at = header_len
        .checked_add(compressed_len)
        .filter(|&a| a < data.len())
        .ok_or_else(|| Fail::corrupt("chunk index outside the frame"))?;
    // The frame's chunk size is nominal: hdf5plugin rounds it down to whole elements yet
    // stores a chunk of every byte, so the index chunk, not size / chunk size, says how many
    // chunks there are (never more than that quotient).
    let max_chunks = if chunk_len == 0 {
        1
    } else {
        raw_len.div_ceil(chunk_len).max(1)
    };
    if max_chunks > MAX_FRAME_CHUNKS {
        return Err(Fail::Unsupported(format!("frame of {max_chunks} chunks")));
    }
    let offsets = decode_chunk(&data[index_at..], max_chunks.saturating_mul(8))?;
    if offsets.is_empty() || offsets.len() % 8 != 0 {
        return Err(Fail::corrupt("chunk index has the wrong size"));
    }
    let count = offsets.len() / 8;
    let mut out = Vec::with_capacity(raw_len);
    for (i, entry) in offsets.chunks_exact(8).enumerate() {
        let offset =
            i64::from_le_bytes(entry.try_into().map_err(|_| Fail::corrupt("index entry"))?);
        let remaining = raw_len - out.len();
        if offset < 0 {
            let want = if i + 1 == count {
                remaining
            } else {
                chunk_len.min(remaining)
            };
            let special = entry[7] & 0x7F;
            match special {
                0 | 1 => out.resize(out.len() + want, 0),
                _ => {
                    return Err(Fail::Unsupported(format!(
                        "special chunk {special} in frame"
                    )))
                }
            }
            continue;
        }
        let at = header_len
            .checked_add(offset as usize)
            .filter(|&a| a < index_at)
            .ok_or_else(|| Fail::corrupt("chunk offset outside the frame"))?;
        let chunk = &data[at..index_at];
        chunk_cbytes(chunk)?;
        let decoded = decode_chunk(chunk, remaining)?;
        out.extend_from_slice(&decoded);
    }
    if out.len() != raw_len {
        return Err(Fail::corrupt("frame decoded to the wrong size"));
    }
    match b2nd {
        Some(meta) if meta.needs_reorder() => {
            let ordered = meta.to_c_order(&out, typesize)?;
            check_len(ordered.len(), limit)?;
            Ok(ordered)
        }
        _ => {
            check_len(out.len(), limit)?;
            Ok(out)
        }
    }
}

/// Shapes from the "b2nd" metalayer.
#[derive(Debug, PartialEq, Eq)]
struct B2nd {
    chunk: Vec<usize>,
    block: Vec<usize>,
}

impl B2nd {
    fn padded_shape(&self) -> Vec<usize> {
        self.chunk
            .iter()
            .zip(&self.block)
            .map(|(&c, &b)| c.div_ceil(b).saturating_mul(b))
            .collect()
    }

    fn padded_elements(&self) -> usize {
        self.padded_shape()
            .iter()
            .fold(1usize, |a, &d| a.saturating_mul(d))
    }

    fn needs_reorder(&self) -> bool {
        // One block covering the chunk, or 1-D data, is already in C order (up to trailing padding,
        // which the frame does not store beyond the chunk).
        self.chunk.len() > 1 && self.chunk != self.block
    }

    /// Gathers the chunk's elements in C order from the block-tiled buffer.
    fn to_c_order(&self, src: &[u8], typesize: usize) -> DResult<Vec<u8>> {
        let ndim = self.chunk.len();
        let grid: Vec<usize> = self
            .padded_shape()
            .iter()
            .zip(&self.block)
            .map(|(&p, &b)| p / b)
            .collect();
        let product = |dims: &[usize]| dims.iter().fold(1usize, |a, &d| a.saturating_mul(d));
        let block_elems = product(&self.block);
        let total = product(&self.chunk);
        if src.len() != self.padded_elements() * typesize {
            return Err(Fail::corrupt("b2nd chunk has the wrong size"));
        }
        let mut out = Vec::with_capacity(total * typesize);
        let mut idx = vec![0usize; ndim];
        for _ in 0..total {
            let (mut block_no, mut within) = (0usize, 0usize);
            for d in 0..ndim {
                block_no = block_no * grid[d] + idx[d] / self.block[d];
                within = within * self.block[d] + idx[d] % self.block[d];
            }
            let at = (block_no * block_elems + within) * typesize;
            out.extend_from_slice(&src[at..at + typesize]);
            for d in (0..ndim).rev() {
                idx[d] += 1;
                if idx[d] < self.chunk[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(out)
    }
}

/// Minimal msgpack reader for the b2nd metalayer content.
struct Msgpack<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Msgpack<'_> {
    fn byte(&mut self) -> DResult<u8> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| Fail::corrupt("b2nd metalayer truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn int(&mut self) -> DResult<i64> {
        let m = self.byte()?;
        let (len, signed) = match m {
            0x00..=0x7F => return Ok(i64::from(m)),
            0xE0..=0xFF => return Ok(i64::from(m as i8)),
            0xCC => (1, false),
            0xCD => (2, false),
            0xCE => (4, false),
            0xCF => (8, false),
            0xD0 => (1, true),
            0xD1 => (2, true),
            0xD2 => (4, true),
            0xD3 => (8, true),
            _ => return Err(Fail::corrupt("b2nd metalayer: expected an integer")),
        };
        let v = be(self.data, self.pos, len)?;
        self.pos += len;
        Ok(if signed && len < 8 {
            let shift = 64 - 8 * len as u32;
            ((v << shift) as i64) >> shift
        } else {
            v as i64
        })
    }

    fn array_len(&mut self) -> DResult<usize> {
        match self.byte()? {
            m @ 0x90..=0x9F => Ok(usize::from(m & 0x0F)),
            _ => Err(Fail::corrupt("b2nd metalayer: expected an array")),
        }
    }

    fn dims(&mut self, ndim: usize) -> DResult<Vec<usize>> {
        if self.array_len()? != ndim {
            return Err(Fail::corrupt("b2nd metalayer: wrong number of dimensions"));
        }
        (0..ndim)
            .map(|_| {
                let v = self.int()?;
                usize::try_from(v)
                    .ok()
                    .filter(|&d| d > 0)
                    .ok_or_else(|| Fail::corrupt("b2nd metalayer: bad dimension"))
            })
            .collect()
    }
}

/// Finds the "b2nd" metalayer in the frame header and reads its chunk and block shapes.
fn b2nd_meta(data: &[u8], header_len: usize) -> DResult<Option<B2nd>> {
    const KEY: &[u8] = b"\xa4b2nd\xd2";
    let header = data.get(..header_len).unwrap_or(data);
    let Some(at) = header.windows(KEY.len()).position(|w| w == KEY) else {
        return Ok(None);
    };
    let content = be(data, at + KEY.len(), 4)? as usize;
    if data.get(content) != Some(&0xC6) {
        return Err(Fail::corrupt("b2nd metalayer: expected bin32"));
    }
    let mut m = Msgpack {
        data,
        pos: content + 5,
    };
    if m.array_len()? < 5 {
        return Err(Fail::corrupt("b2nd metalayer: too few fields"));
    }
    let _version = m.int()?;
    let ndim = usize::try_from(m.int()?).ok().filter(|&n| n <= MAX_NDIM);
    let ndim = ndim.ok_or_else(|| Fail::corrupt("b2nd metalayer: bad rank"))?;
    // The array shape (equal to the chunk shape in HDF5 frames) is not needed.
    let shape_rank = m.array_len()?;
    for _ in 0..shape_rank {
        m.int()?;
    }
    let chunk = m.dims(ndim)?;
    let block = m.dims(ndim)?;
    Ok(Some(B2nd { chunk, block }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_reorder() {
        // 2x4 chunk in 2x2 blocks: blocks [[0,1],[4,5]] and [[2,3],[6,7]].
        let meta = B2nd {
            chunk: vec![2, 4],
            block: vec![2, 2],
        };
        let src = [0u8, 1, 4, 5, 2, 3, 6, 7];
        assert_eq!(
            meta.to_c_order(&src, 1).unwrap(),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        // 3x3 chunk in 2x2 blocks, padded to 4x4.
        let meta = B2nd {
            chunk: vec![3, 3],
            block: vec![2, 2],
        };
        let mut src = vec![0u8; 16];
        for r in 0..3 {
            for c in 0..3 {
                let block = (r / 2) * 2 + c / 2;
                src[block * 4 + (r % 2) * 2 + c % 2] = (r * 3 + c) as u8;
            }
        }
        assert_eq!(
            meta.to_c_order(&src, 1).unwrap(),
            (0..9).collect::<Vec<u8>>()
        );
        assert!(meta.to_c_order(&src[..15], 1).is_err());
    }

    #[test]
    fn truncated_frames() {
        assert!(decode(b"\x9e\xa8b2frame\0", &[], 100).is_err());
        assert!(decode(&[], &[], 100).is_err());
    }
}
