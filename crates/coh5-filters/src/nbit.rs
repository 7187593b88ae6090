//! Filter 5, nbit: libhdf5's H5Znbit.c packing of each value's significant bits.
//!
//! Client data: `[count, no-op flag, elements, <type description>]` where a type description is
//! `1 size order precision offset` (atomic), `2 size <base description>` (array), `3 size members
//! {offset <description>}*` (compound) or `4 size` (no-op: bytes copied whole). Each value's
//! `precision` bits, starting at bit `offset`, are packed most significant bit first into one
//! continuous big-endian bit stream; all other bits decode as zero.

use crate::bitreader::BitReader;
use crate::error::{check_len, DResult, Fail};

const ATOMIC: u32 = 1;
const ARRAY: u32 = 2;
const COMPOUND: u32 = 3;
const NOOPTYPE: u32 = 4;
/// Nesting limit for array/compound descriptions.
const MAX_DEPTH: usize = 32;
/// Big-endian byte order code.
const ORDER_BE: u32 = 1;

/// Reads type descriptions from the client data.
struct Params<'a> {
    cd: &'a [u32],
}

impl Params<'_> {
    fn get(&self, i: usize) -> DResult<usize> {
        self.cd
            .get(i)
            .map(|&v| v as usize)
            .ok_or_else(|| Fail::corrupt("type description ends early"))
    }
}

struct Unpacker<'a> {
    params: Params<'a>,
    bits: BitReader<'a>,
    out: Vec<u8>,
}

impl Unpacker<'_> {
    /// Decodes one value of the description starting at `index` into `out[at..]`; returns the index
    /// after the description.
    fn value(&mut self, class: usize, index: usize, at: usize, depth: usize) -> DResult<usize> {
        if depth > MAX_DEPTH {
            return Err(Fail::corrupt("type description nested too deeply"));
        }
        match class as u32 {
            ATOMIC => {
                let size = self.params.get(index)?;
                let order = self.params.get(index + 1)? as u32;
                let precision = self.params.get(index + 2)?;
                let offset = self.params.get(index + 3)?;
                self.atomic(at, size, order == ORDER_BE, precision, offset)?;
                Ok(index + 4)
            }
            NOOPTYPE => {
                let size = self.params.get(index)?;
                let dst = self.slot(at, size)?;
                for k in 0..size {
                    let b = self.bits.read(8)? as u8;
                    self.out[dst + k] = b;
                }
                Ok(index + 1)
            }
            ARRAY => {
                let total = self.params.get(index)?;
                let base_class = self.params.get(index + 1)?;
                let base_size = self.params.get(index + 2)?;
                if base_size == 0 {
                    return Err(Fail::corrupt("array of zero-sized elements"));
                }
                // The array must lie inside its element; this also bounds the loop below.
                self.slot(at, total)?;
                let mut next = index + 2;
                for i in 0..total / base_size {
                    next = self.value(base_class, index + 2, at + i * base_size, depth + 1)?;
                }
                if total / base_size == 0 {
                    next = self.skip(base_class, index + 2, depth + 1)?;
                }
                Ok(next)
            }
            COMPOUND => {
                let size = self.params.get(index)?;
                self.slot(at, size)?;
                let members = self.params.get(index + 1)?;
                let mut next = index + 2;
                for _ in 0..members {
                    let member_offset = self.params.get(next)?;
                    let member_class = self.params.get(next + 1)?;
                    next = self.value(member_class, next + 2, at + member_offset, depth + 1)?;
                }
                Ok(next)
            }
            _ => Err(Fail::corrupt(format!("unknown type class {class}"))),
        }
    }

    /// Index after a description without decoding anything (arrays with no elements).
    fn skip(&self, class: usize, index: usize, depth: usize) -> DResult<usize> {
        if depth > MAX_DEPTH {
            return Err(Fail::corrupt("type description nested too deeply"));
        }
        match class as u32 {
            ATOMIC => Ok(index + 4),
            NOOPTYPE => Ok(index + 1),
            ARRAY => self.skip(self.params.get(index + 1)?, index + 2, depth + 1),
            COMPOUND => {
                let members = self.params.get(index + 1)?;
                let mut next = index + 2;
                for _ in 0..members {
                    let class = self.params.get(next + 1)?;
                    next = self.skip(class, next + 2, depth + 1)?;
                }
                Ok(next)
            }
            _ => Err(Fail::corrupt(format!("unknown type class {class}"))),
        }
    }

    /// Start of a `size`-byte value at `at`, checked against the output.
    fn slot(&self, at: usize, size: usize) -> DResult<usize> {
        match at.checked_add(size) {
            Some(end) if end <= self.out.len() => Ok(at),
            _ => Err(Fail::corrupt("member lies outside its element")),
        }
    }

    fn atomic(
        &mut self,
        at: usize,
        size: usize,
        big_endian: bool,
        precision: usize,
        offset: usize,
    ) -> DResult<()> {
        let bits = size.saturating_mul(8);
        if precision == 0 || precision.saturating_add(offset) > bits {
            return Err(Fail::corrupt(format!(
                "precision {precision} at offset {offset} does not fit {size} bytes"
            )));
        }
        let base = self.slot(at, size)?;
        // Walk the significant bits from the most significant down, a byte's worth at a time.
        let mut hi = offset + precision; // exclusive bit index (0 = least significant bit)
        while hi > offset {
            let lo = ((hi - 1) / 8 * 8).max(offset);
            let n = (hi - lo) as u32;
            let value = self.bits.read(n)? as u8;
            let byte = lo / 8;
            let index = if big_endian { size - 1 - byte } else { byte };
            self.out[base + index] |= value << (lo % 8);
            hi = lo;
        }
        Ok(())
    }
}

pub(crate) fn decode(data: Vec<u8>, cd: &[u32], limit: usize) -> DResult<Vec<u8>> {
    let params = Params { cd };
    if params.get(1)? != 0 {
        // Every value uses its full width: the filter stored the data unchanged.
        return Ok(data);
    }
    let count = params.get(2)?;
    let class = params.get(3)?;
    let size = params.get(4)?;
    let total = count.checked_mul(size).ok_or(Fail::TooLarge(limit))?;
    check_len(total, limit)?;
    let mut u = Unpacker {
        params,
        bits: BitReader::new(&data, "nbit stream"),
        out: vec![0u8; total],
    };
    match class as u32 {
        ATOMIC => {
            let order = u.params.get(5)? as u32;
            let precision = u.params.get(6)?;
            let offset = u.params.get(7)?;
            for i in 0..count {
                u.atomic(i * size, size, order == ORDER_BE, precision, offset)?;
            }
        }
        ARRAY | COMPOUND => {
            for i in 0..count {
                u.value(class, 4, i * size, 0)?;
            }
        }
        _ => return Err(Fail::corrupt(format!("unknown type class {class}"))),
    }
    Ok(u.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_atomic_with_offset() {
        // Two little-endian u16 values with precision 12 at offset 2: 0xABC and 0x123.
        let stream = [0xAB, 0xC1, 0x23];
        let out = decode(stream.to_vec(), &[8, 0, 2, 1, 2, 0, 12, 2], 100).unwrap();
        assert_eq!(out, vec![0xF0, 0x2A, 0x8C, 0x04]);
        // Same values big-endian.
        let out = decode(stream.to_vec(), &[8, 0, 2, 1, 2, 1, 12, 2], 100).unwrap();
        assert_eq!(out, vec![0x2A, 0xF0, 0x04, 0x8C]);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(decode(vec![0; 4], &[8, 0, 2, 1, 2, 0, 17, 0], 100).is_err());
        assert!(decode(vec![0; 1], &[8, 0, 2, 1, 2, 0, 12, 0], 100).is_err());
        assert!(decode(vec![0; 4], &[8, 0, 1_000_000, 1, 4, 0, 32, 0], 100).is_err());
        assert!(decode(vec![0; 4], &[8, 0, 2, 9, 2], 100).is_err());
        // A compound whose member lies outside the element.
        assert!(decode(vec![0; 16], &[9, 0, 1, 3, 4, 1, 2, 1, 4, 0, 32, 0], 100).is_err());
        // Deeply nested arrays.
        let mut cd = vec![0, 0, 1, 2, 4];
        for _ in 0..100 {
            cd.extend_from_slice(&[2, 4]);
        }
        cd.extend_from_slice(&[1, 4, 0, 32, 0]);
        assert!(decode(vec![0; 16], &cd, 100).is_err());
        assert_eq!(
            decode(vec![1, 2, 3], &[8, 1, 2, 1, 2, 0, 16, 0], 100).unwrap(),
            vec![1, 2, 3]
        );
    }
}
