//! Datatype message (HDF5 File Format Specification IV.A.2.d, message type 0x0003):
//! versions 1–5 and every class 0–11, decoded recursively into a [`Datatype`] tree.
//!
//! The NumPy mapping lives in [`numpy`], the bit-level float layouts in [`float`].

pub mod float;
pub mod numpy;

use crate::error::{Error, Result};
use crate::limits::{MAX_RANK, MAX_TYPE_DEPTH, MAX_TYPE_MEMBERS};
use crate::read::Cursor;

const STRUCTURE: &str = "datatype message";

/// One element type: its size in bytes and its class-specific description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datatype {
    pub size: u32,
    pub class: TypeClass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
    /// VAX order: 16-bit words stored little-endian, words in big-endian order.
    Vax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrPad {
    NullTerm,
    NullPad,
    SpacePad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Ascii,
    Utf8,
}

/// Which kind of reference a reference type holds (class bits 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// H5R_OBJECT1: an object header address.
    Object,
    /// H5R_DATASET_REGION1: a global heap ID of (object address, serialized selection).
    Region,
    /// Any other type number, including the revised (version 4) references 2–4.
    Other(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: Vec<u8>,
    /// Byte offset of the member inside the compound element.
    pub offset: u32,
    pub datatype: Datatype,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumMember {
    pub name: Vec<u8>,
    /// The value as stored, `base.size` bytes in the base type's layout.
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeClass {
    FixedPoint {
        order: ByteOrder,
        signed: bool,
        bit_offset: u16,
        precision: u16,
    },
    FloatingPoint {
        order: ByteOrder,
        sign_pos: u8,
        bit_offset: u16,
        precision: u16,
        exp_pos: u8,
        exp_size: u8,
        mant_pos: u8,
        mant_size: u8,
        exp_bias: u32,
        /// 0 none, 1 most significant bit set, 2 implied (IEEE).
        mant_norm: u8,
    },
    Time {
        order: ByteOrder,
        precision: u16,
    },
    String {
        pad: StrPad,
        charset: Charset,
    },
    Bitfield {
        order: ByteOrder,
        bit_offset: u16,
        precision: u16,
    },
    Opaque {
        /// The ASCII tag without its NUL padding.
        tag: Vec<u8>,
    },
    Compound {
        members: Vec<Member>,
    },
    Reference {
        kind: RefKind,
    },
    Enum {
        base: Box<Datatype>,
        members: Vec<EnumMember>,
    },
    /// Variable-length sequence (`string: None`) or string (`Some(pad, charset)`).
    VarLen {
        string: Option<(StrPad, Charset)>,
        base: Box<Datatype>,
    },
    Array {
        dims: Vec<u32>,
        base: Box<Datatype>,
    },
    /// HDF5 2.0 complex numbers: two `base` floats, real part first.
    Complex {
        base: Box<Datatype>,
    },
}

impl Datatype {
    /// The integer type of `size` whole bytes using all their bits, as libhdf5's native
    /// integer types are stored.
    pub fn integer(size: u32, signed: bool, order: ByteOrder) -> Datatype {
        Datatype {
            size,
            class: TypeClass::FixedPoint {
                order,
                signed,
                bit_offset: 0,
                precision: (size.saturating_mul(8)).min(u32::from(u16::MAX)) as u16,
            },
        }
    }

    /// The IEEE 754 binary16, binary32 or binary64 type (`size` 2, 4 or 8) in `order`, as
    /// libhdf5's native float types are stored.
    pub fn ieee_float(size: u32, order: ByteOrder) -> Option<Datatype> {
        let (sign_pos, exp_pos, exp_size, mant_size, exp_bias) = match size {
            2 => (15, 10, 5, 10, 15),
            4 => (31, 23, 8, 23, 127),
            8 => (63, 52, 11, 52, 1023),
            _ => return None,
        };
        Some(Datatype {
            size,
            class: TypeClass::FloatingPoint {
                order,
                sign_pos,
                bit_offset: 0,
                precision: (size * 8) as u16,
                exp_pos,
                exp_size,
                mant_pos: 0,
                mant_size,
                exp_bias,
                mant_norm: 2,
            },
        })
    }

    /// Decodes one datatype message, including every nested member or base type.
    pub fn parse(c: &mut Cursor) -> Result<Datatype> {
        let mut inner = c.clone().with_structure(STRUCTURE);
        let dt = parse_at_depth(&mut inner, 0)?;
        c.seek(inner.pos())?;
        Ok(dt)
    }

    /// The class name of SPEC.md section 7 (`hdf5_class` in manifests).
    pub fn hdf5_class(&self) -> &'static str {
        match &self.class {
            TypeClass::FixedPoint { .. } => "integer",
            TypeClass::FloatingPoint { .. } => "float",
            TypeClass::Time { .. } => "time",
            TypeClass::String { .. } => "string",
            TypeClass::Bitfield { .. } => "bitfield",
            TypeClass::Opaque { .. } => "opaque",
            TypeClass::Compound { .. } => "compound",
            TypeClass::Reference { .. } => "reference",
            TypeClass::Enum { .. } => "enum",
            TypeClass::VarLen {
                string: Some(_), ..
            } => "string",
            TypeClass::VarLen { string: None, .. } => "vlen",
            TypeClass::Array { .. } => "array",
            TypeClass::Complex { .. } => "complex",
        }
    }

    /// True when elements refer to data elsewhere in the file (a variable-length type or a
    /// reference anywhere in the tree), so raw bytes alone cannot be interpreted.
    pub fn has_vlen(&self) -> bool {
        match &self.class {
            TypeClass::VarLen { .. } | TypeClass::Reference { .. } => true,
            TypeClass::Compound { members } => members.iter().any(|m| m.datatype.has_vlen()),
            TypeClass::Enum { base, .. }
            | TypeClass::Array { base, .. }
            | TypeClass::Complex { base } => base.has_vlen(),
            _ => false,
        }
    }

    /// Number of elements of an array type (product of its dimensions), if it fits in u64.
    pub fn array_len(dims: &[u32]) -> Option<u64> {
        dims.iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
    }
}

fn parse_at_depth(c: &mut Cursor, depth: u32) -> Result<Datatype> {
    if depth > MAX_TYPE_DEPTH {
        return Err(Error::limit(
            STRUCTURE,
            c.addr(),
            format!("datatype nested deeper than {MAX_TYPE_DEPTH}"),
        ));
    }
    let at = c.addr();
    let class_version = c.u8()?;
    let version = class_version >> 4;
    let class = class_version & 0x0f;
    let b = c.bytes(3)?;
    let bits = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    let size = c.u32()?;
    if !(1..=5).contains(&version) {
        return Err(Error::unsupported(
            STRUCTURE,
            at,
            format!("datatype message version {version}"),
        ));
    }
    if size == 0 {
        return Err(Error::corrupt(STRUCTURE, at, "datatype of size 0"));
    }
    let bit_len = u64::from(size) * 8;
    let class = match class {
        0 => {
            let (bit_offset, precision) = bit_range(c, bit_len, at)?;
            TypeClass::FixedPoint {
                order: simple_order(bits),
                signed: bits & 0x08 != 0,
                bit_offset,
                precision,
            }
        }
        1 => parse_float(c, bits, bit_len, at)?,
        2 => TypeClass::Time {
            order: simple_order(bits),
            precision: c.u16()?,
        },
        3 => TypeClass::String {
            pad: str_pad(bits & 0x0f, at)?,
            charset: charset((bits >> 4) & 0x0f, at)?,
        },
        4 => {
            let (bit_offset, precision) = bit_range(c, bit_len, at)?;
            TypeClass::Bitfield {
                order: simple_order(bits),
                bit_offset,
                precision,
            }
        }
        5 => {
            let tag = c.bytes((bits & 0xff) as usize)?;
            let end = tag.iter().position(|&x| x == 0).unwrap_or(tag.len());
            TypeClass::Opaque {
                tag: tag[..end].to_vec(),
            }
        }
        6 => parse_compound(c, version, bits & 0xffff, size, depth)?,
        7 => TypeClass::Reference {
            kind: match bits & 0x0f {
                0 => RefKind::Object,
                1 => RefKind::Region,
                n => RefKind::Other(n as u8),
            },
        },
        8 => parse_enum(c, version, bits & 0xffff, depth)?,
        9 => {
            let string = match bits & 0x0f {
                0 => None,
                1 => Some((
                    str_pad((bits >> 4) & 0x0f, at)?,
                    charset((bits >> 8) & 0x0f, at)?,
                )),
                n => {
                    return Err(Error::unsupported(
                        STRUCTURE,
                        at,
                        format!("variable-length type {n}"),
                    ))
                }
            };
            let base = Box::new(parse_at_depth(c, depth + 1)?);
            TypeClass::VarLen { string, base }
        }
        10 => parse_array(c, version, depth)?,
        11 => {
            if (bits >> 1) & 0x03 != 0 {
                return Err(Error::unsupported(
                    STRUCTURE,
                    at,
                    "non-rectangular complex number form",
                ));
            }
            let base = parse_at_depth(c, depth + 1)?;
            if !matches!(base.class, TypeClass::FloatingPoint { .. }) {
                return Err(Error::corrupt(
                    STRUCTURE,
                    at,
                    "complex type whose parent is not a float",
                ));
            }
            TypeClass::Complex {
                base: Box::new(base),
            }
        }
        n => {
            return Err(Error::unsupported(
                STRUCTURE,
                at,
                format!("datatype class {n}"),
            ))
        }
    };
    Ok(Datatype { size, class })
}

/// Byte order of the classes that use only bit 0 (fixed-point, time, bitfield).
fn simple_order(bits: u32) -> ByteOrder {
    if bits & 1 != 0 {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    }
}

/// Bit offset and precision, which must describe a non-empty range inside the element.
fn bit_range(c: &mut Cursor, bit_len: u64, at: u64) -> Result<(u16, u16)> {
    let offset = c.u16()?;
    let precision = c.u16()?;
    if precision == 0 || u64::from(offset) + u64::from(precision) > bit_len {
        return Err(Error::corrupt(
            STRUCTURE,
            at,
            format!(
                "bit offset {offset} and precision {precision} outside a {bit_len}-bit element"
            ),
        ));
    }
    Ok((offset, precision))
}

fn str_pad(v: u32, at: u64) -> Result<StrPad> {
    match v {
        0 => Ok(StrPad::NullTerm),
        1 => Ok(StrPad::NullPad),
        2 => Ok(StrPad::SpacePad),
        n => Err(Error::unsupported(
            STRUCTURE,
            at,
            format!("string padding type {n}"),
        )),
    }
}

fn charset(v: u32, at: u64) -> Result<Charset> {
    match v {
        0 => Ok(Charset::Ascii),
        1 => Ok(Charset::Utf8),
        n => Err(Error::unsupported(
            STRUCTURE,
            at,
            format!("character set {n}"),
        )),
    }
}

fn parse_float(c: &mut Cursor, bits: u32, bit_len: u64, at: u64) -> Result<TypeClass> {
    let order = match (bits & 0x40 != 0, bits & 0x01 != 0) {
        (false, false) => ByteOrder::Little,
        (false, true) => ByteOrder::Big,
        (true, true) => ByteOrder::Vax,
        (true, false) => return Err(Error::corrupt(STRUCTURE, at, "reserved float byte order")),
    };
    let mant_norm = ((bits >> 4) & 0x03) as u8;
    if mant_norm == 3 {
        return Err(Error::corrupt(
            STRUCTURE,
            at,
            "reserved mantissa normalization",
        ));
    }
    let sign_pos = ((bits >> 8) & 0xff) as u8;
    let (bit_offset, precision) = bit_range(c, bit_len, at)?;
    let exp_pos = c.u8()?;
    let exp_size = c.u8()?;
    let mant_pos = c.u8()?;
    let mant_size = c.u8()?;
    let exp_bias = c.u32()?;
    let inside = |pos: u8, len: u8| u64::from(pos) + u64::from(len) <= bit_len;
    if !inside(sign_pos, 1) || !inside(exp_pos, exp_size) || !inside(mant_pos, mant_size) {
        return Err(Error::corrupt(
            STRUCTURE,
            at,
            "float sign, exponent or mantissa outside the element",
        ));
    }
    if exp_size == 0 {
        return Err(Error::corrupt(STRUCTURE, at, "float without exponent bits"));
    }
    Ok(TypeClass::FloatingPoint {
        order,
        sign_pos,
        bit_offset,
        precision,
        exp_pos,
        exp_size,
        mant_pos,
        mant_size,
        exp_bias,
        mant_norm,
    })
}

/// A member or enum name: NUL-terminated, padded to a multiple of 8 bytes before version 3.
fn parse_name(c: &mut Cursor, version: u8) -> Result<Vec<u8>> {
    let start = c.pos();
    let name = c.cstr()?.to_vec();
    if version < 3 {
        let used = c.pos() - start;
        c.skip((8 - used % 8) % 8)?;
    }
    Ok(name)
}

fn check_members(c: &Cursor, n: u32) -> Result<()> {
    if n as usize > MAX_TYPE_MEMBERS {
        return Err(Error::limit(STRUCTURE, c.addr(), format!("{n} members")));
    }
    Ok(())
}

fn parse_compound(
    c: &mut Cursor,
    version: u8,
    nmembers: u32,
    size: u32,
    depth: u32,
) -> Result<TypeClass> {
    if nmembers == 0 {
        // libhdf5 refuses to decode a compound without members.
        return Err(c.corrupt("compound datatype with no members"));
    }
    check_members(c, nmembers)?;
    // Version 3 stores member offsets in as few bytes as the compound size needs.
    let offset_width = match size {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xff_ffff => 3,
        _ => 4,
    };
    let mut members = Vec::new();
    for _ in 0..nmembers {
        let name = parse_name(c, version)?;
        let at = c.addr();
        let (offset, datatype) = if version >= 3 {
            let offset = c.uint(offset_width)? as u32;
            (offset, parse_at_depth(c, depth + 1)?)
        } else {
            let offset = c.u32()?;
            if version == 1 {
                // Version 1 members carry up to four array dimensions of their own.
                let ndims = usize::from(c.u8()?);
                c.skip(3 + 4 + 4)?;
                let mut dims = [0u32; 4];
                for d in &mut dims {
                    *d = c.u32()?;
                }
                let base = parse_at_depth(c, depth + 1)?;
                if ndims > 4 {
                    return Err(Error::corrupt(
                        STRUCTURE,
                        at,
                        format!("compound member with {ndims} dimensions"),
                    ));
                }
                if ndims == 0 {
                    (offset, base)
                } else {
                    let dims = dims[..ndims].to_vec();
                    let size = Datatype::array_len(&dims)
                        .and_then(|n| n.checked_mul(u64::from(base.size)))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| Error::corrupt(STRUCTURE, at, "array member too large"))?;
                    if size == 0 {
                        return Err(Error::corrupt(STRUCTURE, at, "empty array member"));
                    }
                    let array = Datatype {
                        size,
                        class: TypeClass::Array {
                            dims,
                            base: Box::new(base),
                        },
                    };
                    (offset, array)
                }
            } else {
                (offset, parse_at_depth(c, depth + 1)?)
            }
        };
        members.push(Member {
            name,
            offset,
            datatype,
        });
    }
    Ok(TypeClass::Compound { members })
}

fn parse_enum(c: &mut Cursor, version: u8, nmembers: u32, depth: u32) -> Result<TypeClass> {
    check_members(c, nmembers)?;
    let base = parse_at_depth(c, depth + 1)?;
    let mut names = Vec::new();
    for _ in 0..nmembers {
        names.push(parse_name(c, version)?);
    }
    let width = base.size as usize;
    if (nmembers as usize).saturating_mul(width) > c.remaining() {
        return Err(Error::Truncated {
            structure: STRUCTURE,
            offset: c.addr(),
            need: u64::from(nmembers) * u64::from(base.size),
            have: c.remaining() as u64,
        });
    }
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        members.push(EnumMember {
            name,
            value: c.bytes(width)?.to_vec(),
        });
    }
    Ok(TypeClass::Enum {
        base: Box::new(base),
        members,
    })
}

fn parse_array(c: &mut Cursor, version: u8, depth: u32) -> Result<TypeClass> {
    let at = c.addr();
    let ndims = usize::from(c.u8()?);
    if ndims > MAX_RANK {
        return Err(Error::limit(
            STRUCTURE,
            at,
            format!("array of rank {ndims}"),
        ));
    }
    if version < 3 {
        c.skip(3)?;
    }
    let mut dims = Vec::with_capacity(ndims);
    for _ in 0..ndims {
        dims.push(c.u32()?);
    }
    if version < 3 {
        // Permutation indices: never implemented by libhdf5, always the identity.
        c.skip(4 * ndims)?;
    }
    let base = Box::new(parse_at_depth(c, depth + 1)?);
    Ok(TypeClass::Array { dims, base })
}

#[cfg(test)]
mod tests;
