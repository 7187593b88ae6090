//! Filter 4, szip: Adaptive Entropy Coding (CCSDS 121.0-B-3, "Lossless Data Compression") in the
//! szip-compatible framing libhdf5's H5Zszip.c and libaec's sz_compat.c use.
//!
//! Stored chunk: a 4-byte little-endian raw size, then the AEC bit stream. Client data:
//! `[options_mask, pixels_per_block, bits_per_pixel, pixels_per_scanline]`. Only the MSB and NN
//! (preprocessor) option bits change decoding. 32- and 64-bit pixels are coded as bytes after a byte
//! transposition; scanlines that are not a whole number of blocks are padded to one.

use crate::bitreader::BitReader;
use crate::error::{check_len, DResult, Fail};

const OPT_MSB: u32 = 16;
const OPT_NN: u32 = 32;
/// A zero-block count of this value means "to the end of the segment or reference sample interval".
const ROS: u64 = 5;
/// Blocks per segment for the ROS rule.
const SEGMENT_BLOCKS: usize = 64;
/// Largest second-extension code word (pairs whose sum is at most 12).
const SE_MAX: u64 = 90;

/// Stream parameters for the AEC decoder proper.
struct Aec {
    bits_per_sample: u32,
    block_size: usize,
    /// Blocks per reference sample interval.
    rsi: usize,
    preprocess: bool,
    msb: bool,
}

impl Aec {
    fn bytes_per_sample(&self) -> usize {
        match self.bits_per_sample {
            0..=8 => 1,
            9..=16 => 2,
            _ => 4,
        }
    }

    fn id_len(&self) -> u32 {
        match self.bits_per_sample {
            0..=8 => 3,
            9..=16 => 4,
            _ => 5,
        }
    }

    /// Decodes `count` samples (stopping mid-interval when the count is reached).
    fn decode(&self, input: &[u8], count: usize) -> DResult<Vec<u8>> {
        let bps = self.bits_per_sample;
        let xmax: u64 = (1u64 << bps) - 1;
        let id_len = self.id_len();
        let uncompressed_id = (1u64 << id_len) - 1;
        let rsi_samples = self.rsi * self.block_size;
        let mut r = BitReader::new(input, "szip stream");
        let mut samples: Vec<u32> = Vec::with_capacity(count);
        let mut out = Vec::with_capacity(count * self.bytes_per_sample());
        while samples.len() < count {
            // One reference sample interval: mapped residuals (or raw samples) into `rsi_buf`.
            let mut rsi_buf: Vec<u64> = Vec::with_capacity(rsi_samples);
            let want = rsi_samples.min(count - samples.len());
            while rsi_buf.len() < want {
                let first = rsi_buf.is_empty();
                let has_ref = first && self.preprocess;
                let id = r.read(id_len)?;
                if id == 0 {
                    let second_extension = r.read(1)? == 1;
                    if has_ref {
                        rsi_buf.push(r.read(bps)?);
                    }
                    if second_extension {
                        let mut i = usize::from(has_ref);
                        while i < self.block_size {
                            let m = r.fundamental_sequence(SE_MAX)?;
                            // m = beta(beta+1)/2 + d1 with beta = d0 + d1.
                            let mut beta = 0u64;
                            while (beta + 1) * (beta + 2) / 2 <= m {
                                beta += 1;
                            }
                            let d1 = m - beta * (beta + 1) / 2;
                            if i % 2 == 0 {
                                rsi_buf.push(beta - d1);
                                i += 1;
                            }
                            rsi_buf.push(d1);
                            i += 1;
                        }
                    } else {
                        let mut blocks = r.fundamental_sequence(u64::from(u32::MAX))? + 1;
                        let used_blocks = rsi_buf.len() / self.block_size;
                        if blocks == ROS {
                            let to_rsi_end = self.rsi - used_blocks;
                            let to_segment_end = SEGMENT_BLOCKS - used_blocks % SEGMENT_BLOCKS;
                            blocks = to_rsi_end.min(to_segment_end) as u64;
                        } else if blocks > ROS {
                            blocks -= 1;
                        }
                        let zeros = (blocks as usize)
                            .checked_mul(self.block_size)
                            .and_then(|z| z.checked_sub(usize::from(has_ref)))
                            .filter(|&z| z <= rsi_samples - rsi_buf.len())
                            .ok_or_else(|| {
                                Fail::corrupt("zero-block run past the end of the interval")
                            })?;
                        rsi_buf.resize(rsi_buf.len() + zeros, 0);
                    }
                } else if id == uncompressed_id {
                    for _ in 0..self.block_size {
                        rsi_buf.push(r.read(bps)?);
                    }
                } else {
                    let k = (id - 1) as u32;
                    if has_ref {
                        rsi_buf.push(r.read(bps)?);
                    }
                    let n = self.block_size - usize::from(has_ref);
                    let base = rsi_buf.len();
                    for _ in 0..n {
                        let fs = r.fundamental_sequence(xmax)?;
                        rsi_buf.push(fs << k);
                    }
                    if k > 0 {
                        for v in rsi_buf[base..].iter_mut() {
                            *v |= r.read(k)?;
                        }
                    }
                }
            }
            rsi_buf.truncate(want);
            self.postprocess(&rsi_buf, xmax, &mut samples)?;
        }
        for &s in &samples {
            match (self.bytes_per_sample(), self.msb) {
                (1, _) => out.push(s as u8),
                (2, true) => out.extend_from_slice(&(s as u16).to_be_bytes()),
                (2, false) => out.extend_from_slice(&(s as u16).to_le_bytes()),
                (_, true) => out.extend_from_slice(&s.to_be_bytes()),
                (_, false) => out.extend_from_slice(&s.to_le_bytes()),
            }
        }
        Ok(out)
    }

    /// Undoes the unit-delay predictor and residual mapping (CCSDS 121.0-B-3 §4) for one interval.
    fn postprocess(&self, rsi_buf: &[u64], xmax: u64, samples: &mut Vec<u32>) -> DResult<()> {
        let mut values = rsi_buf.iter();
        if !self.preprocess {
            for &v in values {
                if v > xmax {
                    return Err(Fail::corrupt("sample exceeds its bit width"));
                }
                samples.push(v as u32);
            }
            return Ok(());
        }
        let Some(&reference) = values.next() else {
            return Ok(());
        };
        if reference > xmax {
            return Err(Fail::corrupt("reference sample exceeds its bit width"));
        }
        let mut x = reference;
        samples.push(x as u32);
        for &d in values {
            if d > xmax {
                return Err(Fail::corrupt("residual exceeds its bit width"));
            }
            let theta = x.min(xmax - x);
            x = if d <= 2 * theta {
                if d % 2 == 0 {
                    x + d / 2
                } else {
                    x - d.div_ceil(2)
                }
            } else if theta == x {
                d
            } else {
                xmax - d
            };
            samples.push(x as u32);
        }
        Ok(())
    }
}

pub(crate) fn decode(data: &[u8], client_data: &[u32], limit: usize) -> DResult<Vec<u8>> {
    let &[mask, ppb, bpp, pps, ..] = client_data else {
        return Err(Fail::corrupt("szip needs 4 parameters"));
    };
    let raw_size = match data.get(..4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return Err(Fail::corrupt("chunk shorter than the size header")),
    };
    check_len(raw_size, limit)?;
    let stream = &data[4..];
    let (ppb, pps) = (ppb as usize, pps as usize);
    if !(1..=32).contains(&bpp) && bpp != 64 {
        return Err(Fail::corrupt(format!("bits per pixel {bpp}")));
    }
    if ppb == 0 || ppb % 2 != 0 || ppb > 256 || pps == 0 {
        return Err(Fail::corrupt(format!(
            "pixels per block {ppb}, per scanline {pps}"
        )));
    }
    let interleave = bpp == 32 || bpp == 64;
    let aec = Aec {
        bits_per_sample: if interleave { 8 } else { bpp },
        block_size: ppb,
        rsi: pps.div_ceil(ppb),
        preprocess: mask & OPT_NN != 0,
        msb: mask & OPT_MSB != 0,
    };
    if aec.rsi.saturating_mul(ppb) > (1 << 20) {
        return Err(Fail::corrupt("reference sample interval too large"));
    }
    let pixel = aec.bytes_per_sample();
    let padded = pps % ppb != 0;
    let buf_len = if padded {
        let scanlines = (raw_size / pixel).div_ceil(pps);
        scanlines
            .checked_mul(aec.rsi * ppb * pixel)
            .filter(|&n| n <= limit.saturating_mul(2).saturating_add(1 << 16))
            .ok_or(Fail::TooLarge(limit))?
    } else {
        raw_size
    };
    if buf_len % pixel != 0 {
        return Err(Fail::corrupt("raw size is not a whole number of samples"));
    }
    let mut buf = aec.decode(stream, buf_len / pixel)?;
    if padded {
        let line = pps * pixel;
        let padded_line = aec.rsi * ppb * pixel;
        let mut packed = Vec::with_capacity(raw_size);
        for l in buf.chunks(padded_line) {
            packed.extend_from_slice(&l[..line.min(l.len())]);
        }
        packed.truncate(raw_size);
        buf = packed;
    }
    if interleave {
        let word = (bpp / 8) as usize;
        if buf.len() % word != 0 {
            return Err(Fail::corrupt("raw size is not a whole number of pixels"));
        }
        let n = buf.len() / word;
        let mut out = vec![0u8; buf.len()];
        for (j, plane) in buf.chunks_exact(n.max(1)).take(word).enumerate() {
            for (i, &b) in plane.iter().enumerate() {
                out[i * word + j] = b;
            }
        }
        buf = out;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_and_truncation() {
        assert!(decode(&[0, 0], &[169, 16, 32, 1000], 100).is_err());
        assert!(decode(&[0, 0, 0, 0], &[169, 16], 100).is_err());
        assert!(decode(&[0, 0, 0, 0], &[169, 0, 32, 1000], 100).is_err());
        assert!(decode(&[0, 0, 0, 0], &[169, 16, 33, 1000], 100).is_err());
        assert_eq!(
            decode(&[0xFF, 0xFF, 0xFF, 0x7F], &[169, 16, 32, 1000], 100),
            Err(Fail::TooLarge(100))
        );
        // A size of 64 bytes but an empty stream.
        assert!(decode(&[64, 0, 0, 0], &[169, 16, 32, 1000], 100).is_err());
    }

    #[test]
    fn uncompressed_block_without_preprocessing() {
        // 8-bit samples, block size 8, id 0b111 = uncompressed, then 8 raw samples.
        let mut bits = String::from("111");
        for s in 1..=8u8 {
            bits.push_str(&format!("{s:08b}"));
        }
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let mut stream = vec![8, 0, 0, 0];
        for i in (0..bits.len()).step_by(8) {
            stream.push(u8::from_str_radix(&bits[i..i + 8], 2).unwrap());
        }
        assert_eq!(
            decode(&stream, &[8, 8, 8, 8], 100).unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8]
        );
    }
}
