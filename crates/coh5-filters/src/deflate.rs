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
