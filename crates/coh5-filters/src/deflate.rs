//! Filter 1, deflate: a zlib stream (RFC 1950/1951), as libhdf5's H5Zdeflate.c writes it.

use crate::error::{DResult, Fail};
use flate2::{Decompress, FlushDecompress, Status};

/// Deflate cannot expand data by more than 1032:1 (a 258-byte match per ~2 bits), so a stream
/// never needs more room than this many times its length.
const MAX_RATIO: usize = 1032;

/// Inflates a zlib stream into at most `limit` bytes; the stream must be complete.
pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let mut z = Decompress::new(true);
    // A chunk inflates to `limit` bytes in the normal case: room for that (plus the one byte that
    // would prove an overflow) up front spares the regrowth copies, and the deflate ratio bound
    // keeps a lying `limit` from reserving memory the stream could never fill.
    let first = (limit + 1).min(data.len().saturating_mul(MAX_RATIO).saturating_add(4096));
    let mut out: Vec<u8> = Vec::with_capacity(first);
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(Fail::TooLarge(limit));
            }
            // Grow geometrically but never past limit + 1 (one byte more proves the overflow).
            let want = out.capacity().max(data.len().saturating_mul(2)).max(4096);
            let room = (limit + 1).saturating_sub(out.len()).min(want);
            if room == 0 {
                return Err(Fail::TooLarge(limit));
            }
            out.reserve_exact(room);
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or(&[]);
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|e| Fail::corrupt(format!("invalid deflate stream: {e}")))?;
        if out.len() > limit {
            return Err(Fail::TooLarge(limit));
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let progressed = z.total_in() != in_before || z.total_out() != out_before;
                if !progressed && out.len() < out.capacity() {
                    return Err(Fail::corrupt("deflate stream is truncated"));
                }
            }
        }
    }
}

/// Inflates a complete zlib stream into `out`, returning the bytes written; a stream that would
/// produce more than `out.len()` bytes is [`Fail::TooLarge`].
pub(crate) fn decode_into(data: &[u8], out: &mut [u8]) -> DResult<usize> {
    let mut z = Decompress::new(true);
    // Once `out` is full, a one-byte probe tells a finished stream (only the checksum left) from
    // one that would overflow.
    let mut probe = [0u8; 1];
    loop {
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let consumed = usize::try_from(in_before).unwrap_or(usize::MAX);
        let written = usize::try_from(out_before).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or(&[]);
        let room = match out.get_mut(written..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => &mut probe[..],
        };
        let status = z
            .decompress(input, room, FlushDecompress::None)
            .map_err(|e| Fail::corrupt(format!("invalid deflate stream: {e}")))?;
        let total = usize::try_from(z.total_out()).unwrap_or(usize::MAX);
        if total > out.len() {
            return Err(Fail::TooLarge(out.len()));
        }
        match status {
            Status::StreamEnd => return Ok(total),
            Status::Ok | Status::BufError => {
                if z.total_in() == in_before && z.total_out() == out_before {
                    return Err(Fail::corrupt("deflate stream is truncated"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trip() {
        let raw: Vec<u8> = (0..10000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(decode(&zlib(&raw), raw.len()).unwrap(), raw);
    }

    #[test]
    fn decode_into_matches_decode_and_bounds_output() {
        let raw: Vec<u8> = (0..70000u32).map(|i| (i * 7 % 253) as u8).collect();
        let z = zlib(&raw);
        let mut out = vec![0u8; raw.len()];
        assert_eq!(decode_into(&z, &mut out), Ok(raw.len()));
        assert_eq!(out, raw);
        let mut roomy = vec![0u8; raw.len() + 10];
        assert_eq!(decode_into(&z, &mut roomy), Ok(raw.len()));
        let mut small = vec![0u8; raw.len() - 1];
        assert_eq!(
            decode_into(&z, &mut small),
            Err(Fail::TooLarge(raw.len() - 1))
        );
        assert_eq!(decode_into(&z, &mut []), Err(Fail::TooLarge(0)));
        for cut in [0, 1, z.len() / 2, z.len() - 1] {
            assert!(decode_into(&z[..cut], &mut out).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn bomb_is_bounded() {
        let bomb = zlib(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 100_000);
        assert_eq!(decode(&bomb, 1 << 20), Err(Fail::TooLarge(1 << 20)));
    }

    #[test]
    fn truncated_and_garbage() {
        let z = zlib(&[7u8; 5000]);
        for cut in [0, 1, 2, z.len() / 2, z.len() - 1] {
            assert!(decode(&z[..cut], 5000).is_err(), "cut {cut}");
        }
        assert!(decode(&[0x78, 0x9c, 0xff, 0xff, 0xff], 100).is_err());
    }
}
