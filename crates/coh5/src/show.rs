//! Values as a listing shows them (`coh5 ls -l`, like `ncdump -h`): NumPy-like literals, with
//! each float printed at its stored width so that a `float32` 0.1 reads `0.1`, not the 17
//! digits of its widened `f64`.

use std::fmt::Write;

use crate::element::Value;
use crate::form::Form;

/// The text of `values` (elements of form `form`, `shape` their dataspace dimensions, `[]` for a
/// scalar): nested brackets by shape; past `limit` elements, the first `limit` in one flat list
/// ended by `...`.
pub(crate) fn show(form: &Form, values: &[Value], shape: &[u64], limit: usize) -> String {
    let mut out = String::new();
    if shape.is_empty() {
        if let Some(v) = values.first() {
            one(form, v, &mut out);
        }
    } else if values.len() > limit {
        out.push('[');
        for v in &values[..limit] {
            one(form, v, &mut out);
            out.push_str(", ");
        }
        out.push_str("...]");
    } else {
        nested(form, shape, &mut values.iter(), &mut out);
    }
    out
}

fn nested<'a>(
    form: &Form,
    shape: &[u64],
    items: &mut impl Iterator<Item = &'a Value>,
    out: &mut String,
) {
    let Some((&n, rest)) = shape.split_first() else {
        if let Some(v) = items.next() {
            one(form, v, out);
        }
        return;
    };
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        nested(form, rest, items, out);
    }
    out.push(']');
}

/// One element; `form` says how it was stored (float width, opaque or text bytes).
fn one(form: &Form, v: &Value, out: &mut String) {
    match (form, v) {
        (Form::Float { size, .. }, Value::Float(f)) => float(*f, *size, out),
        (Form::Complex { size, .. }, Value::Complex(re, im)) => {
            out.push('(');
            float(*re, *size, out);
            if *im >= 0.0 || im.is_nan() {
                out.push('+');
            }
            float(*im, *size, out);
            out.push_str("j)");
        }
        (Form::Opaque { .. }, Value::Bytes(b)) => {
            out.push_str("0x");
            for x in b {
                let _ = write!(out, "{x:02x}");
            }
        }
        (Form::Array { dims, base }, Value::Array(_)) => {
            nested(base, dims, &mut std::iter::once(v).flat_map(leaves), out)
        }
        (Form::Seq { base, .. }, Value::Sequence(items)) => list(base, items, out),
        (Form::Struct(fields), Value::Compound(members)) => {
            out.push('{');
            for (i, ((_, f), (name, m))) in fields.iter().zip(members).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(": ");
                one(f, m, out);
            }
            out.push('}');
        }
        (_, Value::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        (_, Value::UInt(u)) => {
            let _ = write!(out, "{u}");
        }
        (_, Value::Float(f)) => float(*f, 8, out),
        (_, Value::Bool(b)) => out.push_str(if *b { "True" } else { "False" }),
        (_, Value::Bytes(b)) => text(b, out),
        (_, Value::Str(s)) => {
            let _ = write!(out, "{s:?}");
        }
        (_, Value::Reference(Some(path))) => out.push_str(path),
        (_, Value::Reference(None)) => out.push_str("null"),
        // A value whose form does not match never comes out of the decoder.
        (_, other) => {
            let _ = write!(out, "{other:?}");
        }
    }
}

/// The base elements of a nested HDF5 array value, in C order.
fn leaves(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(items) => Box::new(items.iter().flat_map(leaves)),
        leaf => Box::new(std::iter::once(leaf)),
    }
}

fn list(form: &Form, items: &[Value], out: &mut String) {
    out.push('[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        one(form, v, out);
    }
    out.push(']');
}

/// Shortest text that reads back as the same value at the stored width (2- and 4-byte floats
/// as `f32`, whose values they all are).
fn float(f: f64, size: usize, out: &mut String) {
    let _ = if f.is_nan() {
        write!(out, "nan")
    } else if size <= 4 {
        write!(out, "{:?}", f as f32)
    } else {
        write!(out, "{f:?}")
    };
}

/// A fixed-length string without its NUL padding, quoted; bytes that are not UTF-8 as `b"..."`
/// with escapes.
fn text(bytes: &[u8], out: &mut String) {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    match std::str::from_utf8(&bytes[..end]) {
        Ok(s) => {
            let _ = write!(out, "{s:?}");
        }
        Err(_) => {
            let _ = write!(out, "b\"{}\"", bytes[..end].escape_ascii());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_form() -> Form {
        Form::Float {
            size: 4,
            big: false,
        }
    }

    #[test]
    fn floats_print_at_their_stored_width() {
        let v = [Value::Float(f64::from(0.1f32))];
        assert_eq!(show(&f32_form(), &v, &[], 8), "0.1");
        let wide = Form::Float {
            size: 8,
            big: false,
        };
        assert_eq!(show(&wide, &v, &[], 8), "0.10000000149011612");
        let odd = [Value::Float(f64::NAN), Value::Float(f64::NEG_INFINITY)];
        assert_eq!(show(&wide, &odd, &[2], 8), "[nan, -inf]");
    }

    #[test]
    fn shapes_nest_and_long_lists_are_cut() {
        let int = Form::Int {
            size: 2,
            signed: true,
            big: false,
        };
        let v: Vec<Value> = (0..6).map(Value::Int).collect();
        assert_eq!(show(&int, &v, &[2, 3], 8), "[[0, 1, 2], [3, 4, 5]]");
        assert_eq!(show(&int, &v, &[6], 4), "[0, 1, 2, 3, ...]");
        assert_eq!(show(&int, &v[..0], &[0], 4), "[]");
    }

    #[test]
    fn strings_references_and_structures() {
        let fixed = Form::Fixed { size: 8 };
        let v = [Value::Bytes(b"meters\0\0".to_vec())];
        assert_eq!(show(&fixed, &v, &[], 8), "\"meters\"");
        let raw = [Value::Bytes(vec![0xff, b'a', 0])];
        assert_eq!(show(&fixed, &raw, &[], 8), "b\"\\xffa\"");
        let opaque = Form::Opaque { size: 2 };
        assert_eq!(
            show(&opaque, &[Value::Bytes(vec![0, 0xab])], &[], 8),
            "0x00ab"
        );
        // DIMENSION_LIST: a vlen sequence of object references per dimension.
        let dims = Form::Seq {
            base: Box::new(Form::Ref),
            flat: 1,
        };
        let v = [Value::Sequence(vec![
            Value::Reference(Some("/gt1l/heights/delta_time".into())),
            Value::Reference(None),
        ])];
        assert_eq!(
            show(&dims, &v, &[1], 8),
            "[[/gt1l/heights/delta_time, null]]"
        );
        let pair = Form::Struct(vec![("a".into(), f32_form()), ("s".into(), Form::VlenStr)]);
        let v = [Value::Compound(vec![
            ("a".into(), Value::Float(1.5)),
            ("s".into(), Value::Str("x\"y".into())),
        ])];
        assert_eq!(show(&pair, &v, &[], 8), "{a: 1.5, s: \"x\\\"y\"}");
        let arr = Form::Array {
            dims: vec![2, 2],
            base: Box::new(Form::Bool),
        };
        let b = |x| Value::Bool(x);
        let v = [Value::Array(vec![
            Value::Array(vec![b(true), b(false)]),
            Value::Array(vec![b(false), b(true)]),
        ])];
        assert_eq!(show(&arr, &v, &[], 8), "[[True, False], [False, True]]");
        let c = Form::Complex {
            size: 8,
            big: false,
        };
        assert_eq!(show(&c, &[Value::Complex(1.0, -2.5)], &[], 8), "(1.0-2.5j)");
    }
}
