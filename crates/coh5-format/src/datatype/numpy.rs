//! The NumPy dtype h5py maps a Datatype message (IV.A.2.d) to, written as a string that
//! `numpy.dtype()` parses (SPEC.md section 6).
//!
//! Simple types use short codes (`<i4`, `|S5`, `|O`); compounds always use the dict form
//! (names, formats, offsets, itemsize), which NumPy treats as equal to h5py's list form.

use super::float::{FloatLayout, NumpyFloat};
use super::{ByteOrder, Datatype, RefKind, TypeClass};

/// A NumPy dtype under construction.
enum Np {
    /// A type code such as `<i4` or `|O`.
    Code(String),
    /// A subarray: base dtype and shape.
    Sub(Box<Np>, Vec<u32>),
    /// A structured dtype: (name, format, offset) per field, and the item size.
    Struct(Vec<(String, Np, u32)>, u32),
}

impl Datatype {
    /// The NumPy dtype string of SPEC.md section 6, or `<unsupported: why>` where h5py has
    /// no NumPy equivalent (time class, revised references, floats too wide, VAX order).
    /// Bytes per element of the NumPy array h5py returns (`dtype.itemsize`): 8 for an object
    /// (variable-length or reference) element, the libhdf5 in-memory size otherwise.
    pub fn numpy_itemsize(&self) -> u64 {
        match &self.class {
            TypeClass::VarLen { .. } | TypeClass::Reference { .. } => 8,
            TypeClass::Array { dims, base } => dims.iter().fold(base.numpy_itemsize(), |a, &d| {
                a.saturating_mul(u64::from(d))
            }),
            _ => u64::from(memory_size(self)),
        }
    }

    pub fn numpy_dtype(&self) -> String {
        match np(self) {
            Ok(Np::Code(code)) => code,
            Ok(other) => literal(&other),
            Err(why) => format!("<unsupported: {why}>"),
        }
    }

    /// True for an enum that h5py reads as NumPy `bool`: exactly the members `FALSE` = 0
    /// and `TRUE` = 1, in either order.
    pub fn is_bool_enum(&self) -> bool {
        let TypeClass::Enum { base, members } = &self.class else {
            return false;
        };
        let value_of = |name: &[u8]| {
            members
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| base.integer_value(&m.value))
        };
        members.len() == 2 && value_of(b"FALSE") == Some(0) && value_of(b"TRUE") == Some(1)
    }

    /// The value of one stored fixed-point element, sign-extended from its precision;
    /// `None` for other classes or sizes beyond 16 bytes.
    pub fn integer_value(&self, stored: &[u8]) -> Option<i128> {
        let TypeClass::FixedPoint {
            order,
            signed,
            bit_offset,
            precision,
        } = self.class
        else {
            return None;
        };
        if stored.len() != self.size as usize || stored.len() > 16 {
            return None;
        }
        let mut raw = [0u8; 16];
        raw[..stored.len()].copy_from_slice(stored);
        if order == ByteOrder::Big {
            raw[..stored.len()].reverse();
        }
        let bits = u128::from_le_bytes(raw) >> bit_offset.min(127);
        let p = u32::from(precision);
        if p == 0 || p >= 128 {
            return Some(bits as i128);
        }
        let v = bits & ((1u128 << p) - 1);
        Some(if signed && (v >> (p - 1)) & 1 == 1 {
            (v | !((1u128 << p) - 1)) as i128
        } else {
            v as i128
        })
    }
}

fn order_char(order: ByteOrder, size: u32) -> Result<char, String> {
    match order {
        _ if size == 1 => Ok('|'),
        ByteOrder::Little => Ok('<'),
        ByteOrder::Big => Ok('>'),
        ByteOrder::Vax => Err("VAX byte order".into()),
    }
}

fn np(dt: &Datatype) -> Result<Np, String> {
    let size = dt.size;
    let code = |s: String| Ok(Np::Code(s));
    match &dt.class {
        TypeClass::FixedPoint { order, signed, .. } => {
            if ![1, 2, 4, 8].contains(&size) {
                return Err(format!("{size}-byte integer"));
            }
            let kind = if *signed { 'i' } else { 'u' };
            code(format!("{}{kind}{size}", order_char(*order, size)?))
        }
        TypeClass::Bitfield { order, .. } => {
            if ![1, 2, 4, 8].contains(&size) {
                return Err(format!("{size}-byte bitfield"));
            }
            code(format!("{}u{size}", order_char(*order, size)?))
        }
        TypeClass::FloatingPoint { order, .. } => {
            let layout = FloatLayout::of(dt).ok_or("not a float")?;
            let f = layout.numpy_float()?;
            code(format!("{}f{}", order_char(*order, f.size())?, f.size()))
        }
        TypeClass::Complex { base } => {
            let layout = FloatLayout::of(base).ok_or("complex of a non-float")?;
            let f = layout.numpy_float()?;
            if f == NumpyFloat::Half {
                return Err("complex of 16-bit floats".into());
            }
            let order = order_char(layout.order, f.size())?;
            code(format!("{order}c{}", 2 * f.size()))
        }
        TypeClass::Time { .. } => Err("time datatype".into()),
        TypeClass::String { .. } => code(format!("|S{size}")),
        TypeClass::Opaque { tag } => match tag.strip_prefix(b"NUMPY:") {
            Some(rest) => code(String::from_utf8_lossy(rest).into_owned()),
            None => code(format!("|V{size}")),
        },
        TypeClass::Reference { kind } => match kind {
            RefKind::Object | RefKind::Region => code("|O".into()),
            RefKind::Other(_) => Err("Unknown reference type".into()),
        },
        TypeClass::VarLen { .. } => code("|O".into()),
        TypeClass::Enum { base, .. } => {
            if dt.is_bool_enum() {
                code("|b1".into())
            } else {
                np(base)
            }
        }
        TypeClass::Array { dims, base } => Ok(Np::Sub(Box::new(np(base)?), dims.clone())),
        TypeClass::Compound { members } => {
            let (offsets, size) = memory_layout(members, size);
            let mut fields = Vec::with_capacity(members.len());
            for (m, offset) in members.iter().zip(offsets) {
                let name = String::from_utf8(m.name.clone())
                    .map_err(|_| "compound member name is not UTF-8".to_string())?;
                fields.push((name, np(&m.datatype)?, offset));
            }
            if let Some(c) = complex_pair(&fields) {
                return code(c);
            }
            Ok(Np::Struct(fields, size))
        }
    }
}

/// Size of a type as libhdf5 holds it in memory, which is what h5py's dtypes describe: a
/// variable-length string becomes a pointer (8 bytes), a sequence an `hvl_t` (16), an object
/// reference an `hobj_ref_t` (8), a region reference an `hdset_reg_ref_t` (12), and compounds and
/// arrays grow or shrink with their members.
pub(crate) fn memory_size(dt: &Datatype) -> u32 {
    match &dt.class {
        TypeClass::VarLen {
            string: Some(_), ..
        } => 8,
        TypeClass::VarLen { string: None, .. } => 16,
        TypeClass::Reference {
            kind: RefKind::Object,
        } => 8,
        TypeClass::Reference {
            kind: RefKind::Region,
        } => 12,
        TypeClass::Array { dims, base } => {
            let n = dims.iter().fold(1u32, |a, &d| a.saturating_mul(d));
            n.saturating_mul(memory_size(base))
        }
        TypeClass::Compound { members } => memory_layout(members, dt.size).1,
        _ => dt.size,
    }
}

/// Member offsets and total size of a compound in memory. Like libhdf5 (`H5T__set_loc`), members
/// are visited in offset order and each one moves by the size change of those before it.
fn memory_layout(members: &[super::Member], size: u32) -> (Vec<u32>, u32) {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&i| members[i].offset);
    let mut offsets = vec![0u32; members.len()];
    let mut change: i64 = 0;
    for i in order {
        let m = &members[i];
        offsets[i] = (i64::from(m.offset) + change).max(0) as u32;
        change += i64::from(memory_size(&m.datatype)) - i64::from(m.datatype.size);
    }
    (offsets, (i64::from(size) + change).max(0) as u32)
}

/// h5py reads a compound of exactly `r` then `i`, both the same 4/8/16-byte float, as complex.
fn complex_pair(fields: &[(String, Np, u32)]) -> Option<String> {
    let [(r, Np::Code(a), _), (i, Np::Code(b), _)] = fields else {
        return None;
    };
    if r != "r" || i != "i" || a != b {
        return None;
    }
    let (order, width) = a.split_once('f')?;
    let width: u32 = width.parse().ok()?;
    ([4, 8, 16].contains(&width) && order.len() == 1).then(|| format!("{order}c{}", 2 * width))
}

/// The Python literal of `t` as an argument to `numpy.dtype()`.
fn literal(t: &Np) -> String {
    match t {
        Np::Code(c) => py_str(c),
        Np::Sub(base, dims) => format!("({}, {})", literal(base), py_tuple(dims)),
        Np::Struct(fields, itemsize) => {
            let names: Vec<String> = fields.iter().map(|f| py_str(&f.0)).collect();
            let formats: Vec<String> = fields.iter().map(|f| literal(&f.1)).collect();
            let offsets: Vec<String> = fields.iter().map(|f| f.2.to_string()).collect();
            format!(
                "{{'names': [{}], 'formats': [{}], 'offsets': [{}], 'itemsize': {itemsize}}}",
                names.join(", "),
                formats.join(", "),
                offsets.join(", ")
            )
        }
    }
}

/// Python's `repr` of a tuple of integers: `()`, `(3,)`, `(2, 2)`.
pub(crate) fn py_tuple<T: std::fmt::Display>(items: &[T]) -> String {
    match items {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = items.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A Python string literal, quoted the way `repr` does.
fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
