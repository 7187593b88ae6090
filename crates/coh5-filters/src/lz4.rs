//! Filter 32004, LZ4 as framed by the HDF5 LZ4 plugin (hdf5_plugins LZ4/src/H5Zlz4.c): an 8-byte
//! big-endian original size, a 4-byte big-endian block size, then per block a 4-byte big-endian
//! compressed size and the LZ4 block (stored raw when that size equals the block's raw size).

use crate::error::{check_len, DResult, Fail};

fn be32(data: &[u8], at: usize) -> DResult<usize> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d]) as usize),
        _ => Err(Fail::corrupt(format!("truncated header at byte {at}"))),
    }
}

pub(crate) fn decode(data: &[u8], limit: usize) -> DResult<Vec<u8>> {
    let total = match data.get(..8) {
        Some(b) => u64::from_be_bytes(b.try_into().map_err(|_| Fail::corrupt("short header"))?),
        None => return Err(Fail::corrupt("truncated header")),
    };
    let total = usize::try_from(total).map_err(|_| Fail::TooLarge(limit))?;
    check_len(total, limit)?;
    let mut block = be32(data, 8)?.min(total);
    if block == 0 && total > 0 {
        return Err(Fail::corrupt("block size 0"));
    }
    let mut out = Vec::with_capacity(total);
    let mut pos = 12usize;
    while out.len() < total {
        block = block.min(total - out.len());
        let csize = be32(data, pos)?;
        pos += 4;
        let src = data
            .get(pos..pos.saturating_add(csize))
            .ok_or_else(|| Fail::corrupt("block extends past the end of the chunk"))?;
        pos += csize;
        if csize == block {
            out.extend_from_slice(src);
        } else {
            let start = out.len();
            out.resize(start + block, 0);
            let n = lz4_flex::block::decompress_into(src, &mut out[start..])
                .map_err(|e| Fail::corrupt(format!("invalid LZ4 block: {e}")))?;
            if n != block {
                return Err(Fail::corrupt(format!(
                    "LZ4 block decoded to {n} bytes, expected {block}"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(raw: &[u8], block: usize) -> Vec<u8> {
        let mut v = (raw.len() as u64).to_be_bytes().to_vec();
        v.extend_from_slice(&(block as u32).to_be_bytes());
        for b in raw.chunks(block) {
            let c = lz4_flex::block::compress(b);
            v.extend_from_slice(&(c.len() as u32).to_be_bytes());
            v.extend_from_slice(&c);
        }
        v
    }

    #[test]
    fn round_trip_and_errors() {
        let raw: Vec<u8> = (0..5000u32).map(|i| (i / 7) as u8).collect();
        let f = frame(&raw, 1024);
        assert_eq!(decode(&f, raw.len()).unwrap(), raw);
        assert_eq!(decode(&f, 100), Err(Fail::TooLarge(100)));
        for cut in [0, 5, 12, 20, f.len() - 1] {
            assert!(decode(&f[..cut], raw.len()).is_err());
        }
        let mut bad = f.clone();
        bad[17] ^= 0xFF;
        let _ = decode(&bad, raw.len());
    }
}
