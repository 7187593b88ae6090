//! Filter 32015, Zstandard (RFC 8878) as written by the HDF5 zstd plugin (hdf5_plugins
//! ZSTD/src/H5Zzstd.c): one or more zstd frames, nothing else. Decoded with the pure-Rust `ruzstd`.

use crate::error::{DResult, Fail};
use std::io::Read;

/// Decodes concatenated zstd frames into at most `limit` bytes.
pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let mut input = data;
    let mut out = Vec::new();
    if input.is_empty() {
        return Err(Fail::corrupt("empty zstd stream"));
    }
    while !input.is_empty() {
        let before = input.len();
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut input)
            .map_err(|e| Fail::corrupt(format!("invalid zstd frame: {e}")))?;
        let room = (limit + 1).saturating_sub(out.len()) as u64;
        (&mut decoder)
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| Fail::corrupt(format!("invalid zstd data: {e}")))?;
        if out.len() > limit {
            return Err(Fail::TooLarge(limit));
        }
        drop(decoder);
        if input.len() >= before {
            return Err(Fail::corrupt("zstd decoder made no progress"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bounds_and_garbage() {
        let raw: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
        let z = ruzstd::encoding::compress_to_vec(
            &raw[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(decode(&z, raw.len()).unwrap(), raw);
        assert_eq!(decode(&z, 1000), Err(Fail::TooLarge(1000)));
        for cut in [0, 3, 10, z.len() - 1] {
            assert!(decode(&z[..cut], raw.len()).is_err(), "cut {cut}");
        }
        assert!(decode(b"not zstd at all", 100).is_err());
    }
}
