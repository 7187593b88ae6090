//! Object Modification Time messages: the old ASCII form (File Format Specification
//! IV.A.2.o, type 0x000E) and the current 32-bit form (IV.A.2.s, type 0x0012).

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModificationTime {
    /// Seconds since the Unix epoch, UTC.
    pub seconds: i64,
}

impl ModificationTime {
    /// Type 0x0012: version 1, three reserved bytes, seconds since the epoch.
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 1 {
            return Err(c.unsupported(format!("modification time message version {version}")));
        }
        c.skip(3)?;
        Ok(ModificationTime {
            seconds: i64::from(c.u32()?),
        })
    }

    /// Type 0x000E: "YYYYMMDDhhmmss" in ASCII (UTC) and two reserved bytes.
    pub fn parse_old(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let at = c.clone();
        let text = c.bytes(14)?;
        let mut fields = [0i64; 6];
        let widths = [4usize, 2, 2, 2, 2, 2];
        let mut pos = 0;
        for (field, width) in fields.iter_mut().zip(widths) {
            for &b in &text[pos..pos + width] {
                if !b.is_ascii_digit() {
                    return Err(at.corrupt("non-digit in the old modification time"));
                }
                *field = *field * 10 + i64::from(b - b'0');
            }
            pos += width;
        }
        let [year, month, day, hour, minute, second] = fields;
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(at.corrupt("out-of-range field in the old modification time"));
        }
        let days = days_from_civil(year, month, day);
        Ok(ModificationTime {
            seconds: days * 86_400 + hour * 3_600 + minute * 60 + second,
        })
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_form() {
        let b = [1, 0, 0, 0, 0x10, 0x20, 0x30, 0x40];
        let t = ModificationTime::parse(&mut Cursor::new(&b, 0, "mtime"), &Context::default());
        assert_eq!(t.unwrap().seconds, 0x4030_2010);
        assert!(ModificationTime::parse(
            &mut Cursor::new(&b[..7], 0, "mtime"),
            &Context::default()
        )
        .is_err());
        assert!(ModificationTime::parse(
            &mut Cursor::new(&[2, 0, 0, 0, 0, 0, 0, 0], 0, "mtime"),
            &Context::default()
        )
        .is_err());
    }

    #[test]
    fn old_form() {
        let ctx = Context::default();
        let parse = |s: &[u8]| ModificationTime::parse_old(&mut Cursor::new(s, 0, "mtime"), &ctx);
        assert_eq!(parse(b"19700101000000\0\0").unwrap().seconds, 0);
        // 2001-09-09 01:46:40 UTC is 10^9 seconds.
        assert_eq!(parse(b"20010909014640\0\0").unwrap().seconds, 1_000_000_000);
        assert_eq!(parse(b"19691231235959\0\0").unwrap().seconds, -1);
        assert!(parse(b"2001090901464").is_err());
        assert!(parse(b"2001x909014640").is_err());
        assert!(parse(b"20011309014640").is_err());
    }
}
