//! Filter 307, bzip2 as written by the HDF5 bzip2 plugin (hdf5_plugins BZIP2/src/H5Zbzip2.c): one bzip2
//! stream. Decoded by the `bzip2` crate with its pure-Rust libbz2-rs-sys backend.

use crate::error::{DResult, Fail};
use std::io::Read;

pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let mut out = Vec::new();
    bzip2::read::BzDecoder::new(data)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Fail::corrupt(format!("invalid bzip2 stream: {e}")))?;
    if out.len() > limit {
        return Err(Fail::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trip_bounds_and_garbage() {
        let raw: Vec<u8> = (0..50_000u32).map(|i| (i % 17) as u8).collect();
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(&raw).unwrap();
        let z = e.finish().unwrap();
        assert_eq!(decode(&z, raw.len()).unwrap(), raw);
        assert_eq!(decode(&z, 10), Err(Fail::TooLarge(10)));
        for cut in [0, 4, z.len() / 2, z.len() - 1] {
            assert!(decode(&z[..cut], raw.len()).is_err(), "cut {cut}");
        }
        assert!(decode(b"BZh9garbage", 100).is_err());
    }
}
