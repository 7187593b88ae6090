//! Most-significant-bit-first bit reader shared by the szip (CCSDS 121.0-B-3 §5), nbit and scaleoffset
//! (libhdf5 H5Znbit.c / H5Zscaleoffset.c) decoders, which all pack bits big-endian within bytes.

use crate::error::{DResult, Fail};

pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the next unread bit, counted from the most significant bit of `data[0]`.
    pos: u64,
    /// Structure name for errors.
    what: &'static str,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        BitReader { data, pos: 0, what }
    }

    fn total_bits(&self) -> u64 {
        (self.data.len() as u64).saturating_mul(8)
    }

    fn truncated(&self) -> Fail {
        Fail::corrupt(format!("{} ends early (bit {})", self.what, self.pos))
    }

    /// Reads `n` (at most 64) bits as an unsigned number, first bit most significant.
    pub(crate) fn read(&mut self, n: u32) -> DResult<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Ok(0);
        }
        let end = self.pos + u64::from(n);
        if end > self.total_bits() {
            return Err(self.truncated());
        }
        let mut value: u64 = 0;
        let mut remaining = n;
        while remaining > 0 {
            let byte_index = (self.pos / 8) as usize;
            let byte = *self.data.get(byte_index).ok_or_else(|| self.truncated())?;
            let bit_in_byte = (self.pos % 8) as u32;
            let avail = 8 - bit_in_byte;
            let take = avail.min(remaining);
            let shifted = (u32::from(byte) >> (avail - take)) & ((1u32 << take) - 1);
            value = (value << take) | u64::from(shifted);
            remaining -= take;
            self.pos += u64::from(take);
        }
        Ok(value)
    }

    /// Counts zero bits up to and including the next one bit (a CCSDS fundamental sequence code word).
    /// `max` bounds the count so a corrupt stream cannot make the caller loop for long.
    pub(crate) fn fundamental_sequence(&mut self, max: u64) -> DResult<u64> {
        let mut count = 0u64;
        loop {
            let byte_index = (self.pos / 8) as usize;
            let byte = *self.data.get(byte_index).ok_or_else(|| self.truncated())?;
            let bit_in_byte = (self.pos % 8) as u32;
            let rest = (u32::from(byte) << bit_in_byte) & 0xFF;
            if rest == 0 {
                let skip = 8 - bit_in_byte;
                count += u64::from(skip);
                self.pos += u64::from(skip);
            } else {
                let zeros = rest.leading_zeros() - 24;
                count += u64::from(zeros);
                self.pos += u64::from(zeros) + 1;
                return if count > max {
                    Err(Fail::corrupt(format!("{} code word too long", self.what)))
                } else {
                    Ok(count)
                };
            }
            if count > max {
                return Err(Fail::corrupt(format!("{} code word too long", self.what)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_msb_first_across_bytes() {
        let mut r = BitReader::new(&[0b1010_1100, 0b0101_0000], "t");
        assert_eq!(r.read(3).unwrap(), 0b101);
        assert_eq!(r.read(7).unwrap(), 0b011_0001);
        assert_eq!(r.fundamental_sequence(10).unwrap(), 1);
        assert!(r.read(5).is_err());
    }

    #[test]
    fn reads_64_bits() {
        let data = [0xFFu8, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut r = BitReader::new(&data, "t");
        assert_eq!(r.read(4).unwrap(), 0xF);
        assert_eq!(r.read(64).unwrap(), 0xF010_2030_4050_6070);
    }
}
