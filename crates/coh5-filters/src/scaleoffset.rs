//! Filter 6, scaleoffset: libhdf5's H5Zscaleoffset.c.
//!
//! Client data (20 values): scale type (0 float D-scaling, 1 float E-scaling, 2 integer), scale factor,
//! elements, class (0 integer, 1 float), size, sign, byte order (0 LE, 1 BE), fill-value-defined flag,
//! then the fill value as little-endian 32-bit words. The stored chunk starts with a 21-byte header:
//! minbits (u32 LE), the byte count of minval, minval (LE); then each value minus the minimum, in
//! `minbits` bits, packed most significant bit first. The all-ones code means "fill value".
//! Floats (D-scaling) store `round((x - min) * 10^D)` as integers and decode as `i / 10^D + min` in the
//! type's own precision.

use crate::bitreader::BitReader;
use crate::error::{check_len, DResult, Fail};

const HEADER: usize = 21;
const SCALE_FLOAT_D: u32 = 0;
const SCALE_FLOAT_E: u32 = 1;
const SCALE_INT: u32 = 2;
const CLASS_INT: u32 = 0;
const CLASS_FLOAT: u32 = 1;

pub(crate) fn decode(data: Vec<u8>, cd: &[u32], limit: usize) -> DResult<Vec<u8>> {
    if cd.len() != 20 {
        return Err(Fail::corrupt(format!(
            "{} parameters, expected 20",
            cd.len()
        )));
    }
    let (scale_type, scale_factor, count, class, size, order, fill_defined) = (
        cd[0],
        cd[1] as i32,
        cd[2] as usize,
        cd[3],
        cd[4] as usize,
        cd[6],
        cd[7] != 0,
    );
    let big_endian = order == 1;
    match (class, scale_type) {
        (CLASS_FLOAT, SCALE_FLOAT_D) | (CLASS_INT, SCALE_INT) => {}
        (CLASS_FLOAT, SCALE_FLOAT_E) => return Err(Fail::Unsupported("E-scaling".to_string())),
        _ => {
            return Err(Fail::corrupt(format!(
                "scale type {scale_type} for class {class}"
            )))
        }
    }
    if !matches!(
        (class, size),
        (CLASS_INT, 1 | 2 | 4 | 8) | (CLASS_FLOAT, 4 | 8)
    ) {
        return Err(Fail::corrupt(format!("unsupported element size {size}")));
    }
    let bits = (size * 8) as u32;
    if class == CLASS_INT {
        let fixed = scale_factor.max(0) as u32;
        if fixed > bits {
            return Err(Fail::corrupt("minimum bits exceed the type width"));
        }
        if fixed == bits {
            // libhdf5 skipped the filter for full-width integers: the data is stored as is.
            return Ok(data);
        }
    }
    let total = count.checked_mul(size).ok_or(Fail::TooLarge(limit))?;
    check_len(total, limit)?;
    let header = data
        .get(..HEADER)
        .ok_or_else(|| Fail::corrupt("chunk shorter than its header"))?;
    let minbits = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let minval_len = usize::from(header[4]).min(8);
    let mut minval: u64 = 0;
    for (i, &b) in header[5..5 + minval_len].iter().enumerate() {
        minval |= u64::from(b) << (8 * i);
    }
    if minbits > bits {
        return Err(Fail::corrupt(format!(
            "minbits {minbits} exceeds the type width"
        )));
    }
    let packed = &data[HEADER..];
    // Values in native (little-endian) order, as libhdf5 computes them before the final byte swap.
    let mut out: Vec<u8>;
    if minbits == bits {
        out = packed
            .get(..total)
            .ok_or_else(|| Fail::corrupt("chunk shorter than its elements"))?
            .to_vec();
    } else {
        let needed = (count as u64).saturating_mul(u64::from(minbits));
        if needed > (packed.len() as u64).saturating_mul(8) {
            return Err(Fail::corrupt("packed values end early"));
        }
        let mut r = BitReader::new(packed, "scaleoffset stream");
        let fill_code = if minbits == 0 {
            0
        } else {
            (1u64 << minbits) - 1
        };
        let fill = fill_value(&cd[8..], size);
        out = Vec::with_capacity(total);
        for _ in 0..count {
            let code = r.read(minbits)?;
            let value: u64 = if fill_defined && code == fill_code {
                fill
            } else if class == CLASS_INT {
                code.wrapping_add(minval)
            } else {
                float_value(code, minval, size, scale_factor)
            };
            out.extend_from_slice(&value.to_le_bytes()[..size]);
        }
    }
    if big_endian {
        for v in out.chunks_exact_mut(size) {
            v.reverse();
        }
    }
    Ok(out)
}

/// The fill value's low `size` bytes, stored as little-endian 32-bit words from `cd[8]` on.
fn fill_value(words: &[u32], size: usize) -> u64 {
    let mut v: u64 = 0;
    for (i, &w) in words.iter().take(2).enumerate() {
        v |= u64::from(w) << (32 * i);
    }
    if size < 8 {
        v &= (1u64 << (size * 8)) - 1;
    }
    v
}

/// `code` read as a signed integer of the float's width, divided by 10^D, plus the minimum; computed
/// in the float's own precision as libhdf5 does.
fn float_value(code: u64, minval: u64, size: usize, scale_factor: i32) -> u64 {
    if size == 4 {
        let min = f32::from_bits(minval as u32);
        let i = code as u32 as i32;
        let v = i as f32 / 10f32.powf(scale_factor as f32) + min;
        u64::from(v.to_bits())
    } else {
        let min = f64::from_bits(minval);
        let i = code as i64;
        let v = i as f64 / 10f64.powf(f64::from(scale_factor)) + min;
        v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd(scale_type: u32, factor: u32, count: u32, class: u32, size: u32, order: u32) -> Vec<u32> {
        let mut v = vec![scale_type, factor, count, class, size, 1, order, 0];
        v.resize(20, 0);
        v
    }

    #[test]
    fn integers() {
        // minbits 4, minval 100: codes 0, 5, 15 → 100, 105, 115.
        let mut data = vec![4, 0, 0, 0, 8, 100, 0, 0, 0, 0, 0, 0, 0];
        data.resize(HEADER, 0);
        data.extend_from_slice(&[0x05, 0xF0]);
        let out = decode(data.clone(), &cd(2, 0, 3, 0, 2, 0), 100).unwrap();
        assert_eq!(out, vec![100, 0, 105, 0, 115, 0]);
        let out = decode(data.clone(), &cd(2, 0, 3, 0, 2, 1), 100).unwrap();
        assert_eq!(out, vec![0, 100, 0, 105, 0, 115]);
        let mut with_fill = cd(2, 0, 3, 0, 2, 0);
        with_fill[7] = 1;
        with_fill[8] = 0xFFFF;
        let out = decode(data.clone(), &with_fill, 100).unwrap();
        assert_eq!(out, vec![100, 0, 105, 0, 0xFF, 0xFF]);
        assert!(decode(data[..HEADER].to_vec(), &cd(2, 0, 3, 0, 2, 0), 100).is_err());
        assert!(decode(data.clone(), &cd(2, 0, 3, 0, 3, 0), 100).is_err());
        assert!(decode(data.clone(), &cd(1, 0, 3, 1, 4, 0), 100).is_err());
        assert_eq!(
            decode(data.clone(), &cd(2, 0, 300, 0, 2, 0), 100),
            Err(Fail::TooLarge(100))
        );
        assert!(decode(vec![1, 2], &cd(2, 0, 3, 0, 2, 0), 100).is_err());
        assert_eq!(
            decode(vec![1, 2], &cd(2, 16, 1, 0, 2, 0), 100).unwrap(),
            vec![1, 2]
        );
    }
}
