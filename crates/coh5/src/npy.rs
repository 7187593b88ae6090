//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) of read data, so that Python users can
//! `numpy.load` what coh5 read without h5py.
//!
//! The dtype follows h5py's: numbers keep the stored byte order (`>i2` stays `>i2`), bool enums
//! are `|b1`, fixed strings `|S<n>` after pad conversion, opaque data `|V<n>`, complex numbers
//! `c8`/`c16`/`c32`, HDF5 array types add their dimensions to the array's shape (as h5py does
//! at top level) or to the field's shape, and compounds are structured dtypes with their
//! members in member order, packed. Variable-length strings become `|S<n>` sized to the
//! longest string; variable-length sequences and references need pickled objects, which
//! `numpy.load` refuses by default, so they are an error.

use crate::form::{Canon, Form};

/// The NumPy layout of one element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// `parts` little-endian numbers of `size` bytes each in the canonical form, written in the
    /// stored order (`big`).
    Num {
        code: String,
        size: usize,
        parts: usize,
        big: bool,
    },
    /// Bytes copied as they are (bool, fixed string, opaque).
    Raw {
        code: String,
        size: usize,
    },
    /// A variable-length string written as the `slot`-th fixed-width string field.
    Str {
        slot: usize,
    },
    Struct(Vec<(String, Node)>),
    Sub {
        dims: Vec<u64>,
        base: Box<Node>,
    },
}

/// Why data cannot be written as `.npy`.
pub(crate) type NpyError = String;

fn order(big: bool, size: usize) -> char {
    match (size, big) {
        (1, _) => '|',
        (_, true) => '>',
        (_, false) => '<',
    }
}

fn node(form: &Form, slots: &mut usize) -> Result<Node, NpyError> {
    let num = |kind: char, size: usize, code_size: usize, parts: usize, big: bool| Node::Num {
        code: format!("{}{kind}{code_size}", order(big, code_size)),
        size,
        parts,
        big,
    };
    Ok(match form {
        Form::Int { size, signed, big } => {
            num(if *signed { 'i' } else { 'u' }, *size, *size, 1, *big)
        }
        Form::Bits { size, big } => num('u', *size, *size, 1, *big),
        Form::Float { size, big } => num('f', *size, *size, 1, *big),
        Form::Complex { size, big } => num('c', *size, 2 * size, 2, *big),
        Form::Bool => Node::Raw {
            code: "|b1".into(),
            size: 1,
        },
        Form::Fixed { size } => Node::Raw {
            code: format!("|S{size}"),
            size: *size,
        },
        Form::Opaque { size } => Node::Raw {
            code: format!("|V{size}"),
            size: *size,
        },
        Form::Struct(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, f) in fields {
                out.push((name.clone(), node(f, slots)?));
            }
            Node::Struct(out)
        }
        Form::Array { dims, base } => Node::Sub {
            dims: dims.clone(),
            base: Box::new(node(base, slots)?),
        },
        Form::VlenStr => {
            *slots += 1;
            Node::Str { slot: *slots - 1 }
        }
        Form::Seq { .. } => {
            return Err("variable-length sequences cannot be stored in .npy without pickle".into())
        }
        Form::Ref => return Err("references cannot be stored in .npy without pickle".into()),
    })
}

/// A `.npy` file of `count` canonical elements of `form` with the given shape, as its header
/// and its data.
pub(crate) fn npy(
    form: &Form,
    canon: &[u8],
    count: u64,
    shape: &[u64],
) -> Result<(Vec<u8>, Vec<u8>), NpyError> {
    let mut slots = 0;
    let root = node(form, &mut slots)?;
    // Variable-length strings: the longest of each field decides its width (at least 1, as
    // NumPy has no useful zero-width string).
    let mut widths = vec![1usize; slots];
    if slots > 0 {
        let mut c = Canon::new(canon);
        for _ in 0..count {
            walk(&root, &mut c, &mut Sink::Measure(&mut widths))?;
        }
    }
    // Top-level HDF5 array types become trailing dimensions, as h5py returns them.
    let mut shape = shape.to_vec();
    let mut top = &root;
    while let Node::Sub { dims, base } = top {
        shape.extend_from_slice(dims);
        top = base;
    }
    let head = header(&descr(top, &widths), &shape);
    let mut data = Vec::new();
    let mut c = Canon::new(canon);
    for _ in 0..count {
        walk(&root, &mut c, &mut Sink::Write(&mut data, &widths))?;
    }
    Ok((head, data))
}

enum Sink<'a> {
    Measure(&'a mut Vec<usize>),
    Write(&'a mut Vec<u8>, &'a [usize]),
}

fn walk(n: &Node, c: &mut Canon, sink: &mut Sink) -> Result<(), NpyError> {
    match n {
        Node::Num {
            size, parts, big, ..
        } => {
            for _ in 0..*parts {
                let b = c.take(*size)?;
                if let Sink::Write(out, _) = sink {
                    if *big {
                        out.extend(b.iter().rev());
                    } else {
                        out.extend_from_slice(b);
                    }
                }
            }
        }
        Node::Raw { size, .. } => {
            let b = c.take(*size)?;
            if let Sink::Write(out, _) = sink {
                out.extend_from_slice(b);
            }
        }
        Node::Str { slot } => {
            let len = c.len_prefix()?;
            let b = c.take(len)?;
            match sink {
                Sink::Measure(widths) => {
                    if let Some(w) = widths.get_mut(*slot) {
                        *w = (*w).max(len);
                    }
                }
                Sink::Write(out, widths) => {
                    let w = widths.get(*slot).copied().unwrap_or(len).max(len);
                    out.extend_from_slice(b);
                    out.resize(out.len() + (w - len), 0);
                }
            }
        }
        Node::Struct(fields) => {
            for (_, f) in fields {
                walk(f, c, sink)?;
            }
        }
        Node::Sub { dims, base } => {
            let n: u64 = dims.iter().product();
            for _ in 0..n {
                walk(base, c, sink)?;
            }
        }
    }
    Ok(())
}

/// The `descr` value of the header, as the Python literal `numpy.lib.format` reads.
fn descr(n: &Node, widths: &[usize]) -> String {
    match n {
        Node::Num { code, .. } | Node::Raw { code, .. } => py_str(code),
        Node::Str { slot } => py_str(&format!("|S{}", widths.get(*slot).copied().unwrap_or(1))),
        Node::Struct(fields) => {
            let items: Vec<String> = fields
                .iter()
                .map(|(name, f)| {
                    let mut dims = Vec::new();
                    let mut base = f;
                    while let Node::Sub { dims: d, base: b } = base {
                        dims.extend_from_slice(d);
                        base = b;
                    }
                    let d = descr(base, widths);
                    if dims.is_empty() {
                        format!("({}, {d})", py_str(name))
                    } else {
                        format!("({}, {d}, {})", py_str(name), py_tuple(&dims))
                    }
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
        // Flattened by the callers; kept total for safety.
        Node::Sub { base, .. } => descr(base, widths),
    }
}

/// The `.npy` header of elements whose stored bytes already are NumPy's (whole-byte integers
/// and IEEE floats, see `plain`): NumPy keeps the stored byte order, so the data after this
/// header is the stored bytes as they are, without a pass through the canonical encoding.
pub(crate) fn npy_stored_header(form: &Form, shape: &[u64]) -> Result<Vec<u8>, NpyError> {
    let mut slots = 0;
    let root = node(form, &mut slots)?;
    Ok(header(&descr(&root, &[]), shape))
}

/// The magic, version, header length and header dictionary, padded so that the data starts on
/// a 64-byte boundary. Version 1.0 when the header fits in 65535 bytes, 2.0 when it does not,
/// 3.0 when it is not ASCII (UTF-8 field names).
pub(crate) fn header(descr: &str, shape: &[u64]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': {descr}, 'fortran_order': False, 'shape': {}, }}",
        py_tuple(shape)
    );
    let padded = |prefix: usize| (prefix + dict.len() + 1).div_ceil(64) * 64;
    let (major, len_bytes) = if !dict.is_ascii() {
        (3u8, 4usize)
    } else if padded(10) - 10 <= usize::from(u16::MAX) {
        (1, 2)
    } else {
        (2, 4)
    };
    let prefix = 6 + 2 + len_bytes;
    let total = padded(prefix);
    let hlen = total - prefix;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[major, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Python's repr of a tuple of integers: `()`, `(3,)`, `(2, 2)`.
fn py_tuple(items: &[u64]) -> String {
    match items {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = items.iter().map(u64::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A Python string literal (single-quoted, with escapes).
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Format version and header dictionary of a `.npy` file.
    fn dict_of(file: &[u8]) -> (u8, String) {
        let (start, len) = match file[6] {
            1 => (10, usize::from(u16::from_le_bytes([file[8], file[9]]))),
            _ => (
                12,
                u32::from_le_bytes([file[8], file[9], file[10], file[11]]) as usize,
            ),
        };
        (
            file[6],
            String::from_utf8(file[start..start + len].to_vec()).unwrap(),
        )
    }

    #[test]
    fn header_is_padded_to_64_and_versioned() {
        let h = header("'<f8'", &[3]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
        let (_, d) = dict_of(&h);
        assert!(d.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"));
        assert!(d.ends_with(" \n"));
        assert!(header("'<f8'", &[]).windows(10).any(|w| w == b"'shape': ("));
        let utf8 = header("[('é', '<i2')]", &[2, 2]);
        assert_eq!(dict_of(&utf8).0, 3);
        assert_eq!(utf8.len() % 64, 0);
        let long = header(&format!("'{}'", "x".repeat(70_000)), &[1]);
        assert_eq!(dict_of(&long).0, 2);
        assert_eq!(long.len() % 64, 0);
    }

    #[test]
    fn structured_body_keeps_order_and_widens_strings() {
        let form = Form::Struct(vec![
            (
                "a".into(),
                Form::Int {
                    size: 2,
                    signed: true,
                    big: true,
                },
            ),
            ("s".into(), Form::VlenStr),
            (
                "it's".into(),
                Form::Array {
                    dims: vec![2],
                    base: Box::new(Form::Bool),
                },
            ),
        ]);
        let mut canon = Vec::new();
        for (n, s) in [(1i16, "abc"), (-2, "d")] {
            canon.extend_from_slice(&n.to_le_bytes());
            canon.extend_from_slice(&(s.len() as u64).to_le_bytes());
            canon.extend_from_slice(s.as_bytes());
            canon.extend_from_slice(&[1, 0]);
        }
        let (head, body) = npy(&form, &canon, 2, &[2]).unwrap();
        let (_, d) = dict_of(&head);
        assert!(
            d.starts_with(
                "{'descr': [('a', '>i2'), ('s', '|S3'), ('it\\'s', '|b1', (2,))], \
                 'fortran_order': False, 'shape': (2,), }"
            ),
            "{d}"
        );
        assert_eq!(head.len() % 64, 0);
        assert_eq!(body, b"\x00\x01abc\x01\x00\xff\xfed\x00\x00\x01\x00");
    }

    #[test]
    fn array_types_extend_the_shape_and_objects_are_refused() {
        let form = Form::Array {
            dims: vec![2, 3],
            base: Box::new(Form::Float {
                size: 4,
                big: false,
            }),
        };
        let canon = vec![0u8; 24];
        let (_, d) = dict_of(&npy(&form, &canon, 1, &[1]).unwrap().0);
        assert!(
            d.contains("'descr': '<f4'") && d.contains("'shape': (1, 2, 3)"),
            "{d}"
        );
        assert!(npy(&Form::Ref, &[0; 8], 1, &[1]).is_err());
        let seq = Form::Seq {
            base: Box::new(Form::Bool),
            flat: 1,
        };
        assert!(npy(&seq, &[0; 8], 1, &[1]).unwrap_err().contains("pickle"));
        assert!(npy(&Form::Bool, &[1], 2, &[2]).is_err());
    }
}
