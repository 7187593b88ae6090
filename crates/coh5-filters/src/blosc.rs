//! Filter 32001, Blosc (c-blosc README_HEADER.rst and blosc/blosc.c), and the chunk layer shared with
//! Blosc2 chunks (c-blosc2 README_CHUNK_FORMAT.rst).
//!
//! A chunk starts with a 16-byte header: version, codec version, flags, type size, then raw size,
//! block size and chunk size as u32 LE. Blosc2 chunks (flags with both shuffle bits set) extend it to
//! 32 bytes: a 6-slot filter pipeline and Blosc2 flags. Unless the chunk was stored raw (flag 0x2) or
//! is a Blosc2 special chunk, an i32 LE start offset per block follows; each block is `type size`
//! separately compressed byte streams (or one, with flag 0x10 or for the last, partial block), each
//! prefixed by its i32 LE compressed size (equal to the raw size: stored raw). Codecs: flags >> 5
//! (0 BloscLZ, 1 LZ4/LZ4HC, 2 Snappy, 3 zlib, 4 zstd).

use crate::error::{check_len, DResult, Fail};
use crate::{bitshuffle, blosclz, shuffle};

const DOSHUFFLE: u8 = 0x1;
const MEMCPYED: u8 = 0x2;
const DOBITSHUFFLE: u8 = 0x4;
const DODELTA: u8 = 0x8;
const DONT_SPLIT: u8 = 0x10;
const HEADER1: usize = 16;
const HEADER2: usize = 32;

/// Blosc2 filter codes in the extended header's pipeline.
const F_NONE: u8 = 0;
const F_SHUFFLE: u8 = 1;
const F_BITSHUFFLE: u8 = 2;
const F_DELTA: u8 = 3;
const F_TRUNC: u8 = 4;

pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    decode_chunk(data, limit)
}

fn le32(data: &[u8], at: usize) -> DResult<usize> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_le_bytes([a, b, c, d]) as usize),
        _ => Err(Fail::corrupt(format!("blosc chunk truncated at byte {at}"))),
    }
}

fn le_i32(data: &[u8], at: usize) -> DResult<i32> {
    Ok(le32(data, at)? as u32 as i32)
}

/// Compressed size recorded in a chunk header.
pub(crate) fn chunk_cbytes(data: &[u8]) -> DResult<usize> {
    le32(data, 12)
}

/// Decodes one Blosc1 or Blosc2 chunk into at most `limit` bytes.
pub(crate) fn decode_chunk(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let header = data
        .get(..HEADER1)
        .ok_or_else(|| Fail::corrupt("chunk shorter than its header"))?;
    let (version, flags, typesize) = (header[0], header[2], usize::from(header[3]));
    let nbytes = le32(data, 4)?;
    let blocksize = le32(data, 8)?;
    let cbytes = le32(data, 12)?;
    check_len(nbytes, limit)?;
    let data = data
        .get(..cbytes)
        .ok_or_else(|| Fail::corrupt(format!("chunk claims {cbytes} bytes, has {}", data.len())))?;
    let extended = flags & (DOSHUFFLE | DOBITSHUFFLE) == DOSHUFFLE | DOBITSHUFFLE;
    let codec = flags >> 5;
    let typesize = typesize.max(1);
    let mut filters = [F_NONE; 6];
    let header_len;
    if extended {
        let ext = data
            .get(..HEADER2)
            .ok_or_else(|| Fail::corrupt("chunk shorter than its header"))?;
        filters.copy_from_slice(&ext[16..22]);
        let blosc2_flags = ext[31];
        header_len = HEADER2;
        let special = (blosc2_flags >> 4) & 0x7;
        if special != 0 {
            return special_chunk(special, data, nbytes, typesize);
        }
        if blosc2_flags & 0x1 != 0 {
            return Err(Fail::Unsupported("dictionary compression".to_string()));
        }
    } else {
        header_len = HEADER1;
        if flags & DODELTA != 0 {
            return Err(Fail::Unsupported("delta".to_string()));
        }
        if flags & DOSHUFFLE != 0 && typesize > 1 {
            filters[0] = F_SHUFFLE;
        } else if flags & DOBITSHUFFLE != 0 {
            filters[0] = F_BITSHUFFLE;
        }
    }
    if flags & MEMCPYED != 0 {
        let raw = data
            .get(header_len..header_len + nbytes)
            .ok_or_else(|| Fail::corrupt("stored-raw chunk is truncated"))?;
        return Ok(raw.to_vec());
    }
    if nbytes == 0 {
        return Ok(Vec::new());
    }
    if blocksize == 0 {
        return Err(Fail::corrupt("block size 0"));
    }
    let nblocks = nbytes.div_ceil(blocksize);
    let mut out = Vec::with_capacity(nbytes);
    for b in 0..nblocks {
        let start = le32(data, header_len + 4 * b)?;
        let bsize = blocksize.min(nbytes - b * blocksize);
        let leftover = bsize < blocksize;
        let nsplits = if flags & DONT_SPLIT != 0 || leftover {
            1
        } else {
            typesize
        };
        if bsize % nsplits != 0 {
            return Err(Fail::corrupt("block is not a whole number of elements"));
        }
        let neblock = bsize / nsplits;
        let mut block = Vec::with_capacity(bsize);
        let mut ip = start;
        for _ in 0..nsplits {
            let csize = le_i32(data, ip)?;
            ip += 4;
            if csize < 0 {
                // Blosc2: a run of one repeated byte value, announced by a token byte.
                let token = *data
                    .get(ip)
                    .ok_or_else(|| Fail::corrupt("run token missing"))?;
                ip += 1;
                if token & 1 == 0 || csize < -255 {
                    return Err(Fail::corrupt("invalid run encoding"));
                }
                block.resize(block.len() + neblock, (-csize) as u8);
                continue;
            }
            let csize = csize as usize;
            if csize == 0 && extended {
                block.resize(block.len() + neblock, 0);
                continue;
            }
            let src = data
                .get(ip..ip.saturating_add(csize))
                .ok_or_else(|| Fail::corrupt("stream past the end of the chunk"))?;
            ip += csize;
            if csize == neblock {
                block.extend_from_slice(src);
            } else {
                block.extend_from_slice(&inner(codec, src, neblock)?);
            }
        }
        let block = unfilter(block, &filters, typesize, version)?;
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// Undoes the block filters, last slot first.
fn unfilter(
    mut block: Vec<u8>,
    filters: &[u8; 6],
    typesize: usize,
    version: u8,
) -> DResult<Vec<u8>> {
    for &f in filters.iter().rev() {
        block = match f {
            F_NONE | F_TRUNC => block,
            F_SHUFFLE => shuffle::unshuffle(block, typesize),
            F_BITSHUFFLE => bitunshuffle(block, typesize, version),
            F_DELTA => return Err(Fail::Unsupported("delta filter".to_string())),
            other => return Err(Fail::Unsupported(format!("filter {other}"))),
        };
    }
    Ok(block)
}

/// Blosc's bit unshuffle of one block: whole groups of 8 elements are transposed, the rest is copied.
/// Format version 2 (c-blosc 1.x) left blocks whose element count is not a multiple of 8 untouched.
fn bitunshuffle(block: Vec<u8>, typesize: usize, version: u8) -> Vec<u8> {
    if block.len() < typesize {
        return block;
    }
    let count = block.len() / typesize;
    if version <= 2 && count % 8 != 0 {
        return block;
    }
    let n = count - count % 8;
    let bytes = n * typesize;
    let mut out = block.clone();
    bitshuffle::bitunshuffle_block(&block[..bytes], &mut out[..bytes], n, typesize);
    out
}

/// Decodes one compressed stream of exactly `out_len` bytes.
fn inner(codec: u8, src: &[u8], out_len: usize) -> DResult<Vec<u8>> {
    let out = match codec {
        0 => blosclz::decode(src, out_len)?,
        1 => lz4_flex::block::decompress(src, out_len)
            .map_err(|e| Fail::corrupt(format!("invalid LZ4 stream: {e}")))?,
        2 => {
            let len = snap::raw::decompress_len(src)
                .map_err(|e| Fail::corrupt(format!("invalid Snappy stream: {e}")))?;
            if len != out_len {
                return Err(Fail::corrupt("Snappy stream has the wrong size"));
            }
            snap::raw::Decoder::new()
                .decompress_vec(src)
                .map_err(|e| Fail::corrupt(format!("invalid Snappy stream: {e}")))?
        }
        3 => crate::deflate::decode(src, out_len)?,
        4 => crate::zstd::decode(src, out_len)?,
        other => return Err(Fail::Unsupported(format!("codec {other}"))),
    };
    if out.len() != out_len {
        return Err(Fail::corrupt(format!(
            "stream decoded to {} bytes, expected {out_len}",
            out.len()
        )));
    }
    Ok(out)
}

/// Blosc2 chunks that store no data: zeros, NaNs, a repeated value, or uninitialized (zeros here).
fn special_chunk(special: u8, data: &[u8], nbytes: usize, typesize: usize) -> DResult<Vec<u8>> {
    let pattern: Vec<u8> = match special {
        1 | 4 => vec![0],
        2 => match typesize {
            4 => f32::NAN.to_le_bytes().to_vec(),
            8 => f64::NAN.to_le_bytes().to_vec(),
            _ => return Err(Fail::corrupt("NaN run with a non-float type size")),
        },
        3 => data
            .get(HEADER2..HEADER2 + typesize)
            .ok_or_else(|| Fail::corrupt("repeated-value chunk is truncated"))?
            .to_vec(),
        other => return Err(Fail::Unsupported(format!("special chunk {other}"))),
    };
    Ok(pattern.iter().copied().cycle().take(nbytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u8, typesize: u8, nbytes: u32, blocksize: u32, cbytes: u32) -> Vec<u8> {
        let mut h = vec![2, 1, flags, typesize];
        h.extend_from_slice(&nbytes.to_le_bytes());
        h.extend_from_slice(&blocksize.to_le_bytes());
        h.extend_from_slice(&cbytes.to_le_bytes());
        h
    }

    #[test]
    fn memcpyed_and_raw_streams() {
        let mut c = header(MEMCPYED, 1, 4, 4, 20);
        c.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(decode_chunk(&c, 4).unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(decode_chunk(&c, 3), Err(Fail::TooLarge(3)));
        assert!(decode_chunk(&c[..18], 4).is_err());
        // One block, two raw split streams of a shuffled 2-byte type.
        let mut c = header(DOSHUFFLE, 2, 4, 4, 16 + 4 + 12);
        c.extend_from_slice(&20u32.to_le_bytes());
        c.extend_from_slice(&2u32.to_le_bytes());
        c.extend_from_slice(&[1, 3]);
        c.extend_from_slice(&2u32.to_le_bytes());
        c.extend_from_slice(&[2, 4]);
        assert_eq!(decode_chunk(&c, 4).unwrap(), vec![1, 2, 3, 4]);
        let mut bad = c.clone();
        bad[16] = 200;
        assert!(decode_chunk(&bad, 4).is_err());
        assert!(decode_chunk(&c[..10], 4).is_err());
    }
}
