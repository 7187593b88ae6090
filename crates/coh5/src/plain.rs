//! Typed conversion straight from stored bytes for the numbers nearly every dataset holds:
//! whole-byte integers using all their bits and IEEE binary32/binary64 floats, in either byte
//! order. These skip the canonical encoding (which normalizes every element through a general
//! bit-field decoder, most of a large read's CPU) while keeping its rules: a value that does
//! not convert exactly is an error naming the element.

use coh5_format::datatype::{ByteOrder, Datatype, TypeClass};

use crate::convert::Element;

/// A stored number type with a direct conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    Int { size: u32, signed: bool, big: bool },
    F32 { big: bool },
    F64 { big: bool },
}

/// The plain number type `dt` is, if it is one.
fn plain(dt: &Datatype) -> Option<Plain> {
    let big = |order: &ByteOrder| match order {
        ByteOrder::Little => Some(false),
        ByteOrder::Big => Some(true),
        ByteOrder::Vax => None,
    };
    match &dt.class {
        TypeClass::FixedPoint { order, signed, .. }
            if matches!(dt.size, 1 | 2 | 4 | 8)
                && Datatype::integer(dt.size, *signed, *order) == *dt =>
        {
            Some(Plain::Int {
                size: dt.size,
                signed: *signed,
                big: big(order)?,
            })
        }
        TypeClass::FloatingPoint { order, .. } => {
            let big = big(order)?;
            match dt.size {
                4 if Datatype::ieee_float(4, *order).as_ref() == Some(dt) => {
                    Some(Plain::F32 { big })
                }
                8 if Datatype::ieee_float(8, *order).as_ref() == Some(dt) => {
                    Some(Plain::F64 { big })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `dt` is a whole-byte integer or an IEEE binary32/binary64 float, whose stored
/// bytes NumPy reads as they are.
pub(crate) fn is_plain(dt: &Datatype) -> bool {
    plain(dt).is_some()
}

/// The `count` elements of `bytes` (stored as `dt`) converted to `T`, or `None` when `dt` is
/// not a plain number type (or `T` is `bool`, which only bool enums convert to).
pub(crate) fn plain_typed<T: Element>(
    dt: &Datatype,
    bytes: &[u8],
    count: u64,
) -> Option<Result<Vec<T>, String>> {
    if T::NAME == "bool" {
        return None;
    }
    let p = plain(dt)?;
    let size = dt.size as u64;
    if count.checked_mul(size) != Some(bytes.len() as u64) {
        return Some(Err(format!(
            "{} bytes hold no whole {count} elements of {size} bytes",
            bytes.len()
        )));
    }
    /// Converts every `$n`-byte element read by `$read` (from a `[u8; $n]`) with `$conv`.
    macro_rules! each {
        ($n:literal, $read:expr, $conv:expr) => {
            each::<T, $n, _>(bytes, $read, $conv)
        };
    }
    let int = |v: i128| T::from_int(v);
    Some(match p {
        Plain::Int { size, signed, big } => match size {
            1 => each!(1, |a| int_of(a, signed, big), int),
            2 => each!(2, |a| int_of(a, signed, big), int),
            4 => each!(4, |a| int_of(a, signed, big), int),
            _ => each!(8, |a| int_of(a, signed, big), int),
        },
        Plain::F32 { big: false } => each!(4, |a| f32::from_le_bytes(a) as f64, T::from_float),
        Plain::F32 { big: true } => each!(4, |a| f32::from_be_bytes(a) as f64, T::from_float),
        Plain::F64 { big: false } => each!(8, f64::from_le_bytes, T::from_float),
        Plain::F64 { big: true } => each!(8, f64::from_be_bytes, T::from_float),
    })
}

/// The integer stored in `a` in big or little byte order, signed or not.
#[inline]
fn int_of<const N: usize>(mut a: [u8; N], signed: bool, big: bool) -> i128 {
    if big {
        a.reverse();
    }
    let negative = signed && a[N - 1] & 0x80 != 0;
    let mut wide = [if negative { 0xff } else { 0 }; 16];
    wide[..N].copy_from_slice(&a);
    i128::from_le_bytes(wide)
}

/// Reads every `N`-byte element of `bytes` as `V` and converts it to `T`.
fn each<T: Element, const N: usize, V: Copy + std::fmt::Display>(
    bytes: &[u8],
    read: impl Fn([u8; N]) -> V,
    conv: impl Fn(V) -> Option<T>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(bytes.len() / N);
    for (i, c) in bytes.chunks_exact(N).enumerate() {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        let v = read(a);
        match conv(v) {
            Some(t) => out.push(t),
            None => {
                return Err(format!(
                    "element {i} ({v}) does not convert exactly to {}",
                    T::NAME
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::to_typed;
    use crate::form::Form;
    use coh5_format::dataspace::Dataspace;
    use coh5_format::value::canonical::{encode, Resolver};

    /// Numbers need nothing from the file.
    struct NoFile;
    impl Resolver for NoFile {
        fn global_heap_object(&self, _: u64, _: u32) -> coh5_format::Result<bytes::Bytes> {
            unreachable!("numbers have no heap objects")
        }
        fn object_path(&self, _: u64) -> Option<String> {
            None
        }
        fn dataspace(&self, _: u64) -> Option<Dataspace> {
            None
        }
    }

    fn int(size: u32, signed: bool, order: ByteOrder) -> Datatype {
        Datatype::integer(size, signed, order)
    }

    fn float(size: u32, order: ByteOrder) -> Datatype {
        Datatype::ieee_float(size, order).expect("an IEEE size")
    }

    /// The direct path agrees with the canonical one, value for value and error for error.
    fn agrees<T: Element + PartialEq + std::fmt::Debug>(dt: &Datatype, bytes: &[u8]) {
        let count = bytes.len() as u64 / dt.size as u64;
        let form = Form::of(dt).unwrap();
        let mut canon = Vec::new();
        encode(dt, bytes, count, &Default::default(), &NoFile, &mut canon).unwrap();
        let slow = to_typed::<T>(&form, &canon, count);
        let fast = plain_typed::<T>(dt, bytes, count).expect("a plain type");
        match (&slow, &fast) {
            (Ok(a), Ok(b)) => assert!(
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| format!("{x:?}") == format!("{y:?}")),
                "{dt:?} as {}: {a:?} vs {b:?}",
                T::NAME
            ),
            _ => assert_eq!(slow, fast, "{dt:?} as {}", T::NAME),
        }
    }

    #[test]
    fn plain_conversions_match_the_canonical_path() {
        let bytes: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(37) ^ 0xa5) as u8)
            .collect();
        let small: Vec<u8> = [1i16, -3, 300, 7]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let floats: Vec<u8> = [1.5f32, -0.25, 3.0, f32::INFINITY]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for size in [1, 2, 4, 8] {
                for signed in [true, false] {
                    let dt = int(size, signed, order);
                    for b in [&bytes[..], &small[..]] {
                        agrees::<i8>(&dt, b);
                        agrees::<u16>(&dt, b);
                        agrees::<i32>(&dt, b);
                        agrees::<u64>(&dt, b);
                        agrees::<i64>(&dt, b);
                        agrees::<f32>(&dt, b);
                        agrees::<f64>(&dt, b);
                    }
                }
            }
            for size in [4, 8] {
                let dt = float(size, order);
                for b in [&bytes[..], &floats[..]] {
                    agrees::<f32>(&dt, b);
                    agrees::<f64>(&dt, b);
                    agrees::<i32>(&dt, b);
                    agrees::<u8>(&dt, b);
                }
            }
        }
    }

    #[test]
    fn npy_of_stored_bytes_matches_the_canonical_path() {
        let bytes: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(89) ^ 0x5c) as u8)
            .chain(f32::NAN.to_le_bytes())
            .chain(f32::NAN.to_be_bytes())
            .collect();
        let mut types = Vec::new();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for size in [1, 2, 4, 8] {
                types.push(int(size, true, order));
                types.push(int(size, false, order));
            }
            types.push(float(4, order));
            types.push(float(8, order));
        }
        for dt in types {
            assert!(is_plain(&dt));
            let count = bytes.len() as u64 / u64::from(dt.size);
            let data = &bytes[..(count * u64::from(dt.size)) as usize];
            let form = Form::of(&dt).unwrap();
            let mut canon = Vec::new();
            encode(&dt, data, count, &Default::default(), &NoFile, &mut canon).unwrap();
            let shape = [count];
            let (head, canon_data) = crate::npy::npy(&form, &canon, count, &shape).unwrap();
            assert_eq!(
                crate::npy::npy_stored_header(&form, &shape).unwrap(),
                head,
                "{dt:?}"
            );
            assert_eq!(data, &canon_data[..], "{dt:?}");
        }
    }

    #[test]
    fn other_types_take_the_canonical_path() {
        let mut odd = int(4, true, ByteOrder::Little);
        if let TypeClass::FixedPoint { precision, .. } = &mut odd.class {
            *precision = 20;
        }
        assert!(plain_typed::<i32>(&odd, &[0; 4], 1).is_none());
        assert!(plain_typed::<i32>(&int(4, true, ByteOrder::Vax), &[0; 4], 1).is_none());
        assert!(plain_typed::<bool>(&int(1, false, ByteOrder::Little), &[1], 1).is_none());
        let half = float(2, ByteOrder::Little);
        assert!(plain_typed::<f32>(&half, &[0; 2], 1).is_none());
        let err = plain_typed::<i32>(&int(4, true, ByteOrder::Little), &[0; 5], 1).unwrap();
        assert!(err.is_err());
    }
}
