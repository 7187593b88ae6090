//! Stored bytes in native byte order: the same datatype and layout as the file's, with every
//! number (integers, floats, bitfields, enums, complex parts, also inside compounds and
//! arrays) byte-swapped when the file's order differs from this machine's.

use coh5_format::datatype::{ByteOrder, Datatype, TypeClass};

/// The file byte order that equals this machine's.
const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
    ByteOrder::Big
} else {
    ByteOrder::Little
};

/// Swaps, in place, every number of the `data.len() / dt.size` elements in `data`.
pub(crate) fn to_native(dt: &Datatype, data: &mut [u8]) -> Result<(), String> {
    let size = dt.size as usize;
    if size == 0 {
        return Err("datatype of size 0".into());
    }
    for element in data.chunks_exact_mut(size) {
        swap(dt, element)?;
    }
    Ok(())
}

fn swap(dt: &Datatype, b: &mut [u8]) -> Result<(), String> {
    let order = match &dt.class {
        TypeClass::FixedPoint { order, .. }
        | TypeClass::FloatingPoint { order, .. }
        | TypeClass::Time { order, .. }
        | TypeClass::Bitfield { order, .. } => *order,
        TypeClass::String { .. } | TypeClass::Opaque { .. } => return Ok(()),
        TypeClass::Enum { base, .. } => return swap(base, b),
        TypeClass::Complex { base } => return items(base, b, 2),
        TypeClass::Array { dims, base } => {
            let n = Datatype::array_len(dims).ok_or("array type too large")?;
            return items(base, b, n);
        }
        TypeClass::Compound { members } => {
            for m in members {
                let start = m.offset as usize;
                let part = start
                    .checked_add(m.datatype.size as usize)
                    .and_then(|end| b.get_mut(start..end))
                    .ok_or("compound member outside its element")?;
                swap(&m.datatype, part)?;
            }
            return Ok(());
        }
        TypeClass::VarLen { .. } | TypeClass::Reference { .. } => {
            return Err(
                "variable-length data and references point into the file and have no native \
                 form; read them with read_values"
                    .into(),
            )
        }
    };
    match order {
        o if o == NATIVE => {}
        ByteOrder::Vax => return Err("VAX-order floats have no native form; read as f64".into()),
        _ => b.reverse(),
    }
    Ok(())
}

/// Swaps the first `n` consecutive `base` elements of `b`.
fn items(base: &Datatype, b: &mut [u8], n: u64) -> Result<(), String> {
    let size = base.size as usize;
    let len = n
        .checked_mul(size as u64)
        .filter(|&l| size > 0 && l <= b.len() as u64)
        .ok_or("elements do not fit in their parent type")?;
    for item in b[..len as usize].chunks_exact_mut(size) {
        swap(base, item)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use coh5_format::datatype::Member;

    use super::*;

    fn int(size: u32, order: ByteOrder) -> Datatype {
        Datatype {
            size,
            class: TypeClass::FixedPoint {
                order,
                signed: true,
                bit_offset: 0,
                precision: (size * 8) as u16,
            },
        }
    }

    #[test]
    fn swaps_members_of_the_foreign_order_only() {
        let dt = Datatype {
            size: 8,
            class: TypeClass::Compound {
                members: vec![
                    Member {
                        name: b"a".to_vec(),
                        offset: 0,
                        datatype: int(2, ByteOrder::Big),
                    },
                    Member {
                        name: b"s".to_vec(),
                        offset: 2,
                        datatype: Datatype {
                            size: 2,
                            class: TypeClass::String {
                                pad: coh5_format::datatype::StrPad::NullPad,
                                charset: coh5_format::datatype::Charset::Ascii,
                            },
                        },
                    },
                    Member {
                        name: b"b".to_vec(),
                        offset: 4,
                        datatype: int(4, ByteOrder::Little),
                    },
                ],
            },
        };
        let mut data = vec![0, 1, b'x', b'y', 2, 0, 0, 0];
        to_native(&dt, &mut data).unwrap();
        if NATIVE == ByteOrder::Little {
            assert_eq!(data, vec![1, 0, b'x', b'y', 2, 0, 0, 0]);
        } else {
            assert_eq!(data, vec![0, 1, b'x', b'y', 0, 0, 0, 2]);
        }
        let vlen = Datatype {
            size: 16,
            class: TypeClass::VarLen {
                string: None,
                base: Box::new(int(1, ByteOrder::Little)),
            },
        };
        assert!(to_native(&vlen, &mut [0; 16]).is_err());
    }
}
