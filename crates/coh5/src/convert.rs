//! Typed reads: numbers of any stored size, signedness, byte order or float layout converted to
//! a Rust number type, as libhdf5 converts between numeric classes.
//!
//! libhdf5 silently clips values that do not fit the destination; here a value that does not
//! survive the conversion (an integer out of range, a float with a fraction or out of range
//! for an integer, an integer a float cannot hold exactly, a finite float that overflows) is
//! an error naming the element, and so is a class with no numeric meaning (strings, compounds,
//! ...). Narrowing a float to a smaller float rounds to nearest, as libhdf5 does: float
//! precision is approximate by nature, and the range check still catches overflow.

use crate::form::{float_le, int_le, Canon, Form};

/// An n-dimensional array in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T> {
    pub data: Vec<T>,
    pub shape: Vec<u64>,
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that numeric datasets can be read as: `i8`…`i64`, `u8`…`u64`, `f32`, `f64`,
/// and `bool` (for bool enums only).
pub trait Element: Copy + sealed::Sealed + Send + Sync + 'static {
    /// The Rust name of the type, for error messages.
    const NAME: &'static str;
    /// The integer converted exactly, if it can be.
    fn from_int(v: i128) -> Option<Self>;
    /// The float converted (exactly for integer types, rounding for floats).
    fn from_float(v: f64) -> Option<Self>;
    /// A bool-enum value.
    fn from_bool(v: bool) -> Option<Self>;
}

macro_rules! int_element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const NAME: &'static str = stringify!($t);
            fn from_int(v: i128) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn from_float(v: f64) -> Option<Self> {
                // MIN and MAX + 1 are powers of two (or zero) that f64 holds exactly (MAX itself
                // rounds up to MAX + 1 for 64 bits), so the range test is exact; the fraction
                // test rules out NaN and infinities as well.
                let fits = v.fract() == 0.0 && v >= <$t>::MIN as f64 && v < <$t>::MAX as f64 + 1.0;
                fits.then_some(v as $t)
            }
            fn from_bool(v: bool) -> Option<Self> {
                Some(<$t>::from(v))
            }
        }
    )*};
}
int_element!(i8, i16, i32, i64, u8, u16, u32, u64);

impl sealed::Sealed for f32 {}
impl Element for f32 {
    const NAME: &'static str = "f32";
    fn from_int(v: i128) -> Option<Self> {
        let f = v as f32;
        (f as i128 == v).then_some(f)
    }
    fn from_float(v: f64) -> Option<Self> {
        let f = v as f32;
        (f.is_finite() || !v.is_finite()).then_some(f)
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(f32::from(u8::from(v)))
    }
}

impl sealed::Sealed for f64 {}
impl Element for f64 {
    const NAME: &'static str = "f64";
    fn from_int(v: i128) -> Option<Self> {
        let f = v as f64;
        (f as i128 == v).then_some(f)
    }
    fn from_float(v: f64) -> Option<Self> {
        Some(v)
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(f64::from(u8::from(v)))
    }
}

impl sealed::Sealed for bool {}
impl Element for bool {
    const NAME: &'static str = "bool";
    fn from_int(_: i128) -> Option<Self> {
        None
    }
    fn from_float(_: f64) -> Option<Self> {
        None
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

/// Converts `count` canonical elements of `form` to `T`.
pub(crate) fn to_typed<T: Element>(
    form: &Form,
    canon: &[u8],
    count: u64,
) -> Result<Vec<T>, String> {
    let numeric = matches!(
        form,
        Form::Int { .. } | Form::Bits { .. } | Form::Float { .. } | Form::Bool
    );
    if !numeric || (T::NAME == "bool" && *form != Form::Bool) {
        return Err(format!(
            "cannot convert {} to {}; read it with read_values",
            describe(form),
            T::NAME
        ));
    }
    let mut c = Canon::new(canon);
    let mut out = Vec::with_capacity(count.min(canon.len() as u64) as usize);
    for i in 0..count {
        // The value's text is made only for the error: formatting every element would cost
        // more than the whole read.
        let (v, text): (Option<T>, &dyn Fn() -> String) = match form {
            Form::Int { size, signed, .. } => {
                let v = int_le(c.take(*size)?, *signed);
                (T::from_int(v), &move || v.to_string())
            }
            Form::Bits { size, .. } => {
                let v = int_le(c.take(*size)?, false);
                (T::from_int(v), &move || v.to_string())
            }
            Form::Float { size, .. } => {
                let v = float_le(c.take(*size)?);
                (T::from_float(v), &move || v.to_string())
            }
            _ => {
                let v = c.take(1)?[0] != 0;
                (T::from_bool(v), &move || v.to_string())
            }
        };
        match v {
            Some(v) => out.push(v),
            None => {
                return Err(format!(
                    "element {i} ({}) does not convert exactly to {}",
                    text(),
                    T::NAME
                ))
            }
        }
    }
    Ok(out)
}

/// What a form holds, in words, for error messages.
fn describe(form: &Form) -> &'static str {
    match form {
        Form::Int { .. } => "integers",
        Form::Bits { .. } => "bitfields",
        Form::Float { .. } => "floats",
        Form::Complex { .. } => "complex numbers",
        Form::Bool => "bools",
        Form::Fixed { .. } | Form::VlenStr => "strings",
        Form::Opaque { .. } => "opaque data",
        Form::Struct(_) => "compound data",
        Form::Array { .. } => "HDF5 arrays",
        Form::Seq { .. } => "variable-length sequences",
        Form::Ref => "references",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(size: usize, signed: bool) -> Form {
        Form::Int {
            size,
            signed,
            big: false,
        }
    }

    #[test]
    fn integers_convert_when_they_fit() {
        let canon = [0xff, 0xff, 0x7f, 0x00];
        assert_eq!(to_typed::<i16>(&int(2, true), &canon, 2), Ok(vec![-1, 127]));
        assert_eq!(
            to_typed::<u16>(&int(2, false), &canon, 2),
            Ok(vec![65535, 127])
        );
        assert_eq!(
            to_typed::<f32>(&int(2, true), &canon, 2),
            Ok(vec![-1.0, 127.0])
        );
        let err = to_typed::<u8>(&int(2, true), &canon, 2).unwrap_err();
        assert!(err.contains("element 0 (-1)"), "{err}");
        let big = i64::MAX.to_le_bytes();
        assert!(to_typed::<f64>(&int(8, true), &big, 1).is_err());
        assert_eq!(to_typed::<i64>(&int(8, true), &big, 1), Ok(vec![i64::MAX]));
    }

    #[test]
    fn floats_convert_exactly_to_integers_and_round_to_floats() {
        let f = Form::Float { size: 8, big: true };
        let canon: Vec<u8> = [3.0f64, 0.1, 1e300, f64::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(to_typed::<i32>(&f, &canon[..8], 1), Ok(vec![3]));
        assert!(to_typed::<i32>(&f, &canon[..16], 2).is_err());
        assert_eq!(to_typed::<f32>(&f, &canon[..16], 2), Ok(vec![3.0, 0.1f32]));
        assert!(to_typed::<f32>(&f, &canon[..24], 3).is_err());
        assert!(to_typed::<f32>(&f, &canon[24..], 1).unwrap()[0].is_nan());
        assert!(to_typed::<i64>(&f, &canon[24..], 1).is_err());
        assert_eq!(i8::from_float(-128.0), Some(-128));
        assert_eq!(i8::from_float(128.0), None);
        assert_eq!(u64::from_float(18446744073709551616.0), None);
    }

    #[test]
    fn bools_and_impossible_classes() {
        assert_eq!(
            to_typed::<bool>(&Form::Bool, &[1, 0], 2),
            Ok(vec![true, false])
        );
        assert_eq!(to_typed::<u8>(&Form::Bool, &[1, 0], 2), Ok(vec![1, 0]));
        assert!(to_typed::<bool>(&int(1, false), &[1], 1).is_err());
        let err = to_typed::<f64>(&Form::VlenStr, &[0; 8], 1).unwrap_err();
        assert!(err.contains("cannot convert strings to f64"), "{err}");
        assert!(to_typed::<f64>(&Form::Fixed { size: 2 }, b"ab", 1).is_err());
    }
}
