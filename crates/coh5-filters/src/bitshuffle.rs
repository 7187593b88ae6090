//! Filter 32008, bitshuffle (<https://github.com/kiyo-masui/bitshuffle>, src/bshuf_h5filter.c and
//! src/bitshuffle_core.c): bit transposition within blocks of elements, optionally LZ4- or
//! zstd-compressed per block.
//!
//! Client data: `[major, minor, element size, block size in elements (0 = default), compression
//! (0 none, 2 LZ4, 3 zstd), level]`. Compressed chunks start with the raw size (u64 BE) and the block
//! size in bytes (u32 BE); each block is then a u32 BE compressed length and the compressed block.
//! Blocks hold a multiple of 8 elements; the last `n % 8` elements are stored verbatim at the end.

use crate::error::{check_len, DResult, Fail};

const BLOCKED_MULT: usize = 8;
const TARGET_BLOCK_BYTES: usize = 8192;
const MIN_BLOCK: usize = 128;
const COMP_NONE: u32 = 0;
const COMP_LZ4: u32 = 2;
const COMP_ZSTD: u32 = 3;

/// Default block size in elements for an element size (bshuf_default_block_size).
fn default_block(elem_size: usize) -> usize {
    let block = TARGET_BLOCK_BYTES / elem_size / BLOCKED_MULT * BLOCKED_MULT;
    block.max(MIN_BLOCK)
}

/// Undoes the bit transposition of `n` elements (`n` a multiple of 8) from `src` into `dst`.
///
/// The shuffled block is `8 * elem_size` bit planes of `n / 8` bytes: plane `8 * j + k` holds bit `k`
/// of byte `j` of every element, element `e` at bit `e % 8` of byte `e / 8`.
pub(crate) fn bitunshuffle_block(src: &[u8], dst: &mut [u8], n: usize, elem_size: usize) {
    let row = n / 8;
    dst.iter_mut().for_each(|b| *b = 0);
    for j in 0..elem_size {
        for k in 0..8 {
            let plane = &src[(j * 8 + k) * row..(j * 8 + k + 1) * row];
            for (byte_index, &byte) in plane.iter().enumerate() {
                if byte == 0 {
                    continue;
                }
                for bit in 0..8 {
                    if byte & (1 << bit) != 0 {
                        let e = byte_index * 8 + bit;
                        dst[e * elem_size + j] |= 1 << k;
                    }
                }
            }
        }
    }
}

pub(crate) fn decode(data: &[u8], cd: &[u32], limit: usize) -> DResult<Vec<u8>> {
    let elem_size = *cd
        .get(2)
        .ok_or_else(|| Fail::corrupt("missing element size"))? as usize;
    if elem_size == 0 {
        return Err(Fail::corrupt("element size 0"));
    }
    let comp = cd.get(4).copied().unwrap_or(COMP_NONE);
    let (raw_len, mut block, body) = if comp == COMP_NONE {
        let block = cd.get(3).copied().unwrap_or(0) as usize;
        (data.len(), block, data)
    } else {
        let total = match data.get(..8) {
            Some(b) => u64::from_be_bytes(b.try_into().map_err(|_| Fail::corrupt("short header"))?),
            None => return Err(Fail::corrupt("chunk shorter than its header")),
        };
        let bytes = match data.get(8..12) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]) as usize,
            _ => return Err(Fail::corrupt("chunk shorter than its header")),
        };
        let total = usize::try_from(total).map_err(|_| Fail::TooLarge(limit))?;
        (total, bytes / elem_size, &data[12..])
    };
    check_len(raw_len, limit)?;
    if raw_len % elem_size != 0 {
        return Err(Fail::corrupt("size is not a whole number of elements"));
    }
    if block == 0 {
        block = default_block(elem_size);
    }
    if block % BLOCKED_MULT != 0 {
        return Err(Fail::corrupt(format!(
            "block size {block} is not a multiple of 8"
        )));
    }
    let count = raw_len / elem_size;
    let mut out = vec![0u8; raw_len];
    let mut ip = 0usize;
    let mut done = 0usize; // elements
    let mut scratch: Vec<u8>;
    while count - done >= BLOCKED_MULT {
        let n = block.min((count - done) / BLOCKED_MULT * BLOCKED_MULT);
        let bytes = n * elem_size;
        let shuffled: &[u8] = match comp {
            COMP_NONE => {
                let s = body
                    .get(ip..ip + bytes)
                    .ok_or_else(|| Fail::corrupt("block past the end"))?;
                ip += bytes;
                s
            }
            COMP_LZ4 | COMP_ZSTD => {
                let clen = match body.get(ip..ip + 4) {
                    Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]) as usize,
                    _ => return Err(Fail::corrupt("block header past the end")),
                };
                ip += 4;
                let src = body
                    .get(ip..ip.saturating_add(clen))
                    .ok_or_else(|| Fail::corrupt("block past the end"))?;
                ip += clen;
                scratch = if comp == COMP_LZ4 {
                    lz4_flex::block::decompress(src, bytes)
                        .map_err(|e| Fail::corrupt(format!("invalid LZ4 block: {e}")))?
                } else {
                    crate::zstd::decode(src, bytes)?
                };
                if scratch.len() != bytes {
                    return Err(Fail::corrupt("block decoded to the wrong size"));
                }
                &scratch
            }
            other => return Err(Fail::Unsupported(format!("compression {other}"))),
        };
        let start = done * elem_size;
        bitunshuffle_block(shuffled, &mut out[start..start + bytes], n, elem_size);
        done += n;
    }
    let tail = (count - done) * elem_size;
    let rest = body
        .get(ip..ip + tail)
        .ok_or_else(|| Fail::corrupt("trailing elements missing"))?;
    out[done * elem_size..].copy_from_slice(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference bit shuffle from the layout definition.
    fn bitshuffle_block(src: &[u8], n: usize, elem_size: usize) -> Vec<u8> {
        let row = n / 8;
        let mut out = vec![0u8; n * elem_size];
        for e in 0..n {
            for j in 0..elem_size {
                for k in 0..8 {
                    if src[e * elem_size + j] & (1 << k) != 0 {
                        out[(j * 8 + k) * row + e / 8] |= 1 << (e % 8);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn uncompressed_round_trip_with_tail() {
        let raw: Vec<u8> = (0..(19 * 4)).map(|i| (i * 37 % 256) as u8).collect();
        let mut stored = bitshuffle_block(&raw[..16 * 4], 16, 4);
        stored.extend_from_slice(&raw[16 * 4..]);
        assert_eq!(decode(&stored, &[0, 4, 4, 0, 0], 1000).unwrap(), raw);
        assert!(decode(&stored, &[0, 4, 0, 0, 0], 1000).is_err());
        assert!(decode(&stored, &[0, 4, 4, 12, 0], 1000).is_err());
        assert!(decode(&stored[..10], &[0, 4, 4, 0, 2], 1000).is_err());
        assert!(decode(&stored, &[0, 4, 4, 0, 2], 1000).is_err());
    }
}
