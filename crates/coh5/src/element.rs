//! [`Value`]: one element of any datatype as a tree, for the types that have no plain Rust
//! number to stand for them (strings, compounds, sequences, references, ...).
//!
//! Values are decoded from the canonical encoding, so they are what h5py would return: fixed
//! strings after pad conversion, enums as their integer (or bool), references as paths.

use crate::form::{float_le, int_le, Canon, Form};

/// One element value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Signed integer or non-bool enum with a signed base.
    Int(i64),
    /// Unsigned integer, bitfield, or non-bool enum with an unsigned base.
    UInt(u64),
    /// Float of any layout (a long double rounds to the nearest `f64`).
    Float(f64),
    /// Enum with exactly the members FALSE = 0 and TRUE = 1.
    Bool(bool),
    /// Complex number (native class, or a compound of `r` and `i`): real, imaginary.
    Complex(f64, f64),
    /// Fixed-length string (all its bytes, NUL padded as SPEC.md §8 converts them), opaque
    /// bytes, or a variable-length string that is not valid UTF-8.
    Bytes(Vec<u8>),
    /// Variable-length string (up to its first NUL).
    Str(String),
    /// HDF5 array element: nested one level per array dimension.
    Array(Vec<Value>),
    /// Compound: (member name, value) in member order.
    Compound(Vec<(String, Value)>),
    /// Variable-length sequence.
    Sequence(Vec<Value>),
    /// Object or region reference as the text SPEC.md §8 defines (`/path` or `/path|bounds`);
    /// `None` for a null reference.
    Reference(Option<String>),
}

/// Decodes `count` elements of form `form` from canonical bytes.
pub(crate) fn decode_values(form: &Form, canon: &[u8], count: u64) -> Result<Vec<Value>, String> {
    let mut c = Canon::new(canon);
    // Every element takes at least one canonical byte, so the count bounds the allocation.
    let mut out = Vec::with_capacity(count.min(canon.len() as u64) as usize);
    for _ in 0..count {
        out.push(value(form, &mut c)?);
    }
    Ok(out)
}

fn value(form: &Form, c: &mut Canon) -> Result<Value, String> {
    Ok(match form {
        Form::Int { size, signed, .. } => {
            let v = int_le(c.take(*size)?, *signed);
            if *signed {
                Value::Int(v as i64)
            } else {
                Value::UInt(v as u64)
            }
        }
        Form::Bits { size, .. } => Value::UInt(int_le(c.take(*size)?, false) as u64),
        Form::Float { size, .. } => Value::Float(float_le(c.take(*size)?)),
        Form::Complex { size, .. } => {
            let re = float_le(c.take(*size)?);
            Value::Complex(re, float_le(c.take(*size)?))
        }
        Form::Bool => Value::Bool(c.take(1)?[0] != 0),
        Form::Fixed { size } | Form::Opaque { size } => Value::Bytes(c.take(*size)?.to_vec()),
        Form::Struct(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, f) in fields {
                out.push((name.clone(), value(f, c)?));
            }
            Value::Compound(out)
        }
        Form::Array { dims, base } => array(dims, base, c)?,
        Form::VlenStr => {
            let n = c.len_prefix()?;
            let bytes = c.take(n)?.to_vec();
            match String::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            }
        }
        Form::Seq { base, flat } => {
            let n = c.len_prefix()? as u64 / (*flat).max(1);
            let mut items = Vec::with_capacity(n as usize);
            for _ in 0..n {
                items.push(value(base, c)?);
            }
            Value::Sequence(items)
        }
        Form::Ref => {
            let n = c.len_prefix()?;
            if n == 0 {
                Value::Reference(None)
            } else {
                let text = String::from_utf8_lossy(c.take(n)?).into_owned();
                Value::Reference(Some(text))
            }
        }
    })
}

fn array(dims: &[u64], base: &Form, c: &mut Canon) -> Result<Value, String> {
    let Some((&n, rest)) = dims.split_first() else {
        return value(base, c);
    };
    let mut items = Vec::new();
    for _ in 0..n {
        items.push(array(rest, base, c)?);
    }
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_nested_forms() {
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
                "v".into(),
                Form::Seq {
                    base: Box::new(Form::Array {
                        dims: vec![2],
                        base: Box::new(Form::Bool),
                    }),
                    flat: 2,
                },
            ),
            ("r".into(), Form::Ref),
        ]);
        let mut canon = vec![0xfe, 0xff];
        canon.extend_from_slice(&2u64.to_le_bytes());
        canon.extend_from_slice(b"hi");
        canon.extend_from_slice(&4u64.to_le_bytes());
        canon.extend_from_slice(&[1, 0, 0, 1]);
        canon.extend_from_slice(&0u64.to_le_bytes());
        let v = decode_values(&form, &canon, 1).unwrap();
        let bools = |a, b| Value::Array(vec![Value::Bool(a), Value::Bool(b)]);
        assert_eq!(
            v,
            vec![Value::Compound(vec![
                ("a".into(), Value::Int(-2)),
                ("s".into(), Value::Str("hi".into())),
                (
                    "v".into(),
                    Value::Sequence(vec![bools(true, false), bools(false, true)])
                ),
                ("r".into(), Value::Reference(None)),
            ])]
        );
        assert!(decode_values(&form, &canon[..5], 1).is_err());
    }
}
