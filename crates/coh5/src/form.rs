//! The shape of one element in the canonical encoding (SPEC.md §8), derived from its datatype.
//!
//! The canonical encoding is what libhdf5 hands h5py after conversion (numbers little-endian
//! at their NumPy size, fixed strings after pad conversion, bool enums as one byte, variable
//! length data and references resolved). Decoding values, typed arrays and `.npy` bodies all
//! walk that encoding, so the datatype is reduced once to the few forms it can take.

use coh5_format::datatype::float::{FloatLayout, NumpyFloat};
use coh5_format::datatype::{ByteOrder, Datatype, RefKind, TypeClass};

/// One element of the canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Form {
    /// Integer of `size` ≤ 8 bytes (also non-bool enums through their base); `big` records
    /// the stored byte order, which the canonical bytes no longer have.
    Int {
        size: usize,
        signed: bool,
        big: bool,
    },
    /// Bitfield: an unsigned integer of `size` ≤ 8 bytes.
    Bits { size: usize, big: bool },
    /// NumPy float of `size` bytes (2, 4, 8, or 16 for the x87 long double).
    Float { size: usize, big: bool },
    /// Complex number: real then imaginary part, each a float of `size` bytes.
    Complex { size: usize, big: bool },
    /// Bool enum: one byte.
    Bool,
    /// Fixed-length string of `size` bytes, padding already converted to NULLPAD.
    Fixed { size: usize },
    /// Opaque bytes.
    Opaque { size: usize },
    /// Compound: members in member-index order, no padding.
    Struct(Vec<(String, Form)>),
    /// HDF5 array: `dims` elements in C order.
    Array { dims: Vec<u64>, base: Box<Form> },
    /// Variable-length string: `u64le(len)` then the bytes.
    VlenStr,
    /// Variable-length sequence: `u64le(count)` then the items; `count` counts the scalars of
    /// array items (SPEC.md §8), so the item count is `count / flat`.
    Seq { base: Box<Form>, flat: u64 },
    /// Object or region reference: `u64le(len)` then the path text.
    Ref,
}

impl Form {
    /// The form of `dt`, or why its values cannot be decoded.
    pub fn of(dt: &Datatype) -> Result<Form, String> {
        let size = dt.size as usize;
        Ok(match &dt.class {
            TypeClass::FixedPoint { order, signed, .. } => {
                if size > 8 {
                    return Err(format!("{size}-byte integers are not supported"));
                }
                Form::Int {
                    size,
                    signed: *signed,
                    big: *order == ByteOrder::Big,
                }
            }
            TypeClass::Bitfield { order, .. } => {
                if size > 8 {
                    return Err(format!("{size}-byte bitfields are not supported"));
                }
                Form::Bits {
                    size,
                    big: *order == ByteOrder::Big,
                }
            }
            TypeClass::FloatingPoint { order, .. } => {
                let f = numpy_float(dt)?;
                Form::Float {
                    size: f.size() as usize,
                    big: *order == ByteOrder::Big,
                }
            }
            TypeClass::Complex { base } => {
                let f = numpy_float(base)?;
                Form::Complex {
                    size: f.size() as usize,
                    big: FloatLayout::of(base).is_some_and(|l| l.order == ByteOrder::Big),
                }
            }
            TypeClass::Time { .. } => return Err("time datatypes are not supported".into()),
            TypeClass::String { .. } => Form::Fixed { size },
            TypeClass::Opaque { .. } => Form::Opaque { size },
            TypeClass::Compound { members } => {
                let mut fields = Vec::with_capacity(members.len());
                for m in members {
                    let name = String::from_utf8(m.name.clone())
                        .map_err(|_| "a compound member name is not UTF-8".to_string())?;
                    fields.push((name, Form::of(&m.datatype)?));
                }
                ri_complex(&fields).unwrap_or(Form::Struct(fields))
            }
            TypeClass::Reference { kind } => match kind {
                RefKind::Object | RefKind::Region => Form::Ref,
                RefKind::Other(n) => return Err(format!("reference type {n} is not supported")),
            },
            TypeClass::Enum { base, .. } => {
                if dt.is_bool_enum() {
                    Form::Bool
                } else {
                    Form::of(base)?
                }
            }
            TypeClass::VarLen {
                string: Some(_), ..
            } => Form::VlenStr,
            TypeClass::VarLen { string: None, base } => Form::Seq {
                flat: flat_len(base),
                base: Box::new(Form::of(base)?),
            },
            TypeClass::Array { dims, base } => Form::Array {
                dims: dims.iter().map(|&d| u64::from(d)).collect(),
                base: Box::new(Form::of(base)?),
            },
        })
    }
}

fn numpy_float(dt: &Datatype) -> Result<NumpyFloat, String> {
    FloatLayout::of(dt)
        .ok_or_else(|| "complex of a non-float".to_string())?
        .numpy_float()
}

/// h5py reads a compound of exactly `r` then `i`, both the same float, as a complex number.
fn ri_complex(fields: &[(String, Form)]) -> Option<Form> {
    match fields {
        [(r, a @ Form::Float { size, big }), (i, b)]
            if r == "r" && i == "i" && a == b && [4, 8, 16].contains(size) =>
        {
            Some(Form::Complex {
                size: *size,
                big: *big,
            })
        }
        _ => None,
    }
}

/// Scalar elements in one element of `dt`: the product of nested array dimensions.
fn flat_len(dt: &Datatype) -> u64 {
    match &dt.class {
        TypeClass::Array { dims, base } => Datatype::array_len(dims)
            .unwrap_or(1)
            .saturating_mul(flat_len(base)),
        _ => 1,
    }
}

/// A cursor over canonical bytes; running short is an error, never a panic.
pub(crate) struct Canon<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Canon<'a> {
    pub fn new(buf: &'a [u8]) -> Canon<'a> {
        Canon { buf, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| "canonical encoding ends early".to_string())?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    /// A length prefix, checked against the bytes that remain so that a count can size an
    /// allocation safely.
    pub fn len_prefix(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len() - self.pos)
            .ok_or_else(|| format!("length {n} exceeds the canonical encoding"))
    }
}

/// A little-endian integer of `b.len()` ≤ 8 bytes, sign-extended when `signed`.
pub(crate) fn int_le(b: &[u8], signed: bool) -> i128 {
    let mut raw = [0u8; 8];
    let n = b.len().min(8);
    raw[..n].copy_from_slice(&b[..n]);
    let v = u64::from_le_bytes(raw);
    if signed && n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
        i128::from(v as i64 - (1i64 << (8 * n)))
    } else if signed {
        i128::from(v as i64)
    } else {
        i128::from(v)
    }
}

/// A little-endian NumPy float of 2, 4, 8 or 16 (x87) bytes as `f64`; the x87 value rounds.
pub(crate) fn float_le(b: &[u8]) -> f64 {
    let mut raw = [0u8; 16];
    let n = b.len().min(16);
    raw[..n].copy_from_slice(&b[..n]);
    match n {
        2 => half(u16::from_le_bytes([raw[0], raw[1]])),
        4 => f64::from(f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
        8 => f64::from_le_bytes([
            raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
        ]),
        _ => x87(u128::from_le_bytes(raw)),
    }
}

fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1024.0 + frac) * 2f64.powi(e - 25),
    }
}

/// The 80-bit x87 extended value in the low bits of `bits` (explicit integer bit).
fn x87(bits: u128) -> f64 {
    let mant = bits as u64;
    let exp = ((bits >> 64) & 0x7fff) as i32;
    let sign = if (bits >> 79) & 1 != 0 { -1.0 } else { 1.0 };
    if exp == 0x7fff {
        return if mant << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    // value = mant * 2^(max(exp,1) - 16383 - 63); scale in two steps so that neither factor
    // leaves the f64 range before the product does.
    let e = exp.max(1) - 16383 - 63;
    sign * (mant as f64) * 2f64.powi(e / 2) * 2f64.powi(e - e / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_sign_extend_by_size() {
        assert_eq!(int_le(&[0xfe], true), -2);
        assert_eq!(int_le(&[0xfe], false), 254);
        assert_eq!(int_le(&[0xff, 0x7f], true), 32767);
        assert_eq!(int_le(&[0xff; 8], true), -1);
        assert_eq!(int_le(&[0xff; 8], false), i128::from(u64::MAX));
    }

    #[test]
    fn floats_of_every_numpy_size() {
        assert_eq!(float_le(&0x3c00u16.to_le_bytes()), 1.0);
        assert_eq!(float_le(&0xc000u16.to_le_bytes()), -2.0);
        assert_eq!(float_le(&0x0001u16.to_le_bytes()), 2f64.powi(-24));
        assert_eq!(float_le(&1.5f32.to_le_bytes()), 1.5);
        assert_eq!(float_le(&(-0.25f64).to_le_bytes()), -0.25);
        // x87 1.0: exponent 16383, integer bit set.
        let one = (16383u128 << 64) | (1u128 << 63);
        assert_eq!(float_le(&one.to_le_bytes()), 1.0);
        let neg_three = (1u128 << 79) | (16384u128 << 64) | (3u128 << 62);
        assert_eq!(float_le(&neg_three.to_le_bytes()), -3.0);
        assert!(float_le(&((0x7fffu128 << 64) | 1).to_le_bytes()).is_nan());
    }

    #[test]
    fn canon_refuses_lengths_beyond_the_buffer() {
        let mut c = Canon::new(&[5, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert!(c.len_prefix().is_err());
        let mut c = Canon::new(&[2, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(c.len_prefix(), Ok(2));
        assert_eq!(c.take(2), Ok(&[1u8, 2][..]));
        assert!(c.take(1).is_err());
    }
}
