//! Filter 32000, LZF as written by h5py's lzf_filter.c: a raw liblzf stream (no header). A chunk
//! liblzf could not shrink is stored unfiltered and flagged in the chunk's filter mask instead.

use crate::error::{DResult, Fail};

/// Decompresses a raw LZF stream into at most `limit` bytes.
pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(limit.min(data.len().saturating_mul(4)));
    let mut ip = 0usize;
    while let Some(&ctrl) = data.get(ip) {
        ip += 1;
        if ctrl < 32 {
            let len = usize::from(ctrl) + 1;
            let lit = data
                .get(ip..ip + len)
                .ok_or_else(|| Fail::corrupt("literal run past the end of the input"))?;
            if out.len() + len > limit {
                return Err(Fail::TooLarge(limit));
            }
            out.extend_from_slice(lit);
            ip += len;
        } else {
            let mut len = usize::from(ctrl >> 5);
            if len == 7 {
                let extra = *data
                    .get(ip)
                    .ok_or_else(|| Fail::corrupt("truncated back reference"))?;
                ip += 1;
                len += usize::from(extra);
            }
            len += 2;
            let low = *data
                .get(ip)
                .ok_or_else(|| Fail::corrupt("truncated back reference"))?;
            ip += 1;
            let distance = ((usize::from(ctrl & 0x1F)) << 8) + usize::from(low) + 1;
            let start = out
                .len()
                .checked_sub(distance)
                .ok_or_else(|| Fail::corrupt("back reference before the start of the output"))?;
            if out.len() + len > limit {
                return Err(Fail::TooLarge(limit));
            }
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_reference() {
        // "ab" literal, then a reference of length 6 at distance 2 → "abababab".
        let stream = [1, b'a', b'b', (4 << 5), 1];
        assert_eq!(decode(&stream, 100).unwrap(), b"abababab");
        assert_eq!(decode(&stream, 5), Err(Fail::TooLarge(5)));
    }

    #[test]
    fn corrupt_inputs() {
        assert!(decode(&[5, 1, 2], 100).is_err());
        assert!(decode(&[0x20, 0], 100).is_err());
        assert!(decode(&[0xE0], 100).is_err());
        assert!(decode(&[0, b'x', 0xFF, 0xFF, 0xFF], 100_000).is_err());
    }
}
