//! BloscLZ, the default codec inside Blosc chunks (c-blosc blosc/blosclz.c): an LZ77 variant of
//! FastLZ. A control byte below 32 starts a literal run of `ctrl + 1` bytes; otherwise it is a match of
//! `(ctrl >> 5) + 2` bytes (7 means "more length bytes follow, until one is not 255") at distance
//! `((ctrl & 31) << 8) + next + 1`; distance bytes 31/255 announce a 16-bit big-endian far distance
//! added to 8192. The first control byte is always a literal run (its top bits are ignored).

use crate::error::{DResult, Fail};

const MAX_DISTANCE: usize = 8191;

/// Decodes exactly `out_len` bytes.
pub(crate) fn decode(src: &[u8], out_len: usize) -> DResult<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    let next = |ip: &mut usize| -> DResult<usize> {
        let b = *src
            .get(*ip)
            .ok_or_else(|| Fail::corrupt("blosclz stream ends early"))?;
        *ip += 1;
        Ok(usize::from(b))
    };
    let mut ctrl = next(&mut ip)? & 31;
    loop {
        if ctrl < 32 {
            let len = ctrl + 1;
            let lit = src
                .get(ip..ip + len)
                .ok_or_else(|| Fail::corrupt("blosclz literal past the end of the input"))?;
            if out.len() + len > out_len {
                return Err(Fail::corrupt("blosclz output overflows the block"));
            }
            out.extend_from_slice(lit);
            ip += len;
        } else {
            let mut len = (ctrl >> 5) - 1;
            let high = (ctrl & 31) << 8;
            if len == 6 {
                loop {
                    let code = next(&mut ip)?;
                    len += code;
                    if code != 255 {
                        break;
                    }
                    if len > out_len {
                        return Err(Fail::corrupt("blosclz match longer than the block"));
                    }
                }
            }
            let code = next(&mut ip)?;
            len += 3;
            let mut distance = high + code + 1;
            if code == 255 && high == 31 << 8 {
                let far = (next(&mut ip)? << 8) + next(&mut ip)?;
                distance = far + MAX_DISTANCE + 1;
            }
            let start = out
                .len()
                .checked_sub(distance)
                .ok_or_else(|| Fail::corrupt("blosclz reference before the start of the block"))?;
            if out.len() + len > out_len {
                return Err(Fail::corrupt("blosclz output overflows the block"));
            }
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
        if ip >= src.len() {
            break;
        }
        ctrl = next(&mut ip)?;
    }
    if out.len() != out_len {
        return Err(Fail::corrupt(format!(
            "blosclz decoded {} bytes, expected {out_len}",
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_match_and_errors() {
        // Literal "abc", then a match of length 5 (ctrl>>5 = 3) at distance 3.
        let stream = [2, b'a', b'b', b'c', 3 << 5, 2];
        assert_eq!(decode(&stream, 8).unwrap(), b"abcabcab");
        assert!(decode(&stream, 7).is_err());
        assert!(decode(&stream, 9).is_err());
        assert!(decode(&[2, b'a'], 3).is_err());
        assert!(decode(&[0, b'a', 3 << 5, 9], 6).is_err());
        assert!(decode(&[], 0).is_err());
    }
}
