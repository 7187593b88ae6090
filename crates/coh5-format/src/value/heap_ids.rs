//! Where stored elements point into global heap collections (variable-length data and dataset
//! region references), found before the elements are encoded one by one: the collections can
//! then be fetched together, one round trip for all instead of one per collection.
//!
//! Only the elements' own heap IDs are followed; variable-length data nested inside heap
//! objects is found when those objects are decoded. The answer is a hint: types with more
//! heap IDs per element than [`MAX_FIELDS`] yield nothing, and collecting stops at
//! [`MAX_COLLECTIONS`].

use std::collections::HashSet;

use crate::datatype::{Datatype, RefKind, TypeClass};
use crate::limits::MAX_TYPE_DEPTH;
use crate::read::{Context, Cursor, UNDEF_ADDR};

/// Heap IDs in one element beyond which the search gives up.
const MAX_FIELDS: usize = 4096;
/// Distinct collections reported at most.
const MAX_COLLECTIONS: usize = 1 << 16;

/// A heap ID inside an element: where its collection address is, and for variable-length
/// data where the element count is (a zero count means no data).
#[derive(Clone, Copy)]
struct Field {
    count_at: Option<usize>,
    address_at: usize,
}

/// The distinct collection addresses the heap IDs of `count` stored elements of `dt` (in
/// `data`, `dt.size` bytes each) name, in order of first appearance.
pub fn collections(dt: &Datatype, data: &[u8], count: u64, ctx: &Context) -> Vec<u64> {
    let mut fields = Vec::new();
    let size = dt.size as usize;
    if size == 0 || !find(dt, 0, 0, &mut fields) || fields.is_empty() {
        return Vec::new();
    }
    let width = usize::from(ctx.sizeof_offsets);
    let elements = usize::try_from(count).unwrap_or(usize::MAX);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for element in data.chunks_exact(size).take(elements) {
        for f in &fields {
            let empty = f.count_at.is_some_and(|at| {
                element
                    .get(at..at + 4)
                    .is_none_or(|n| n.iter().all(|&b| b == 0))
            });
            let address = element
                .get(f.address_at..f.address_at + width)
                .and_then(|b| Cursor::new(b, 0, "heap ID").offset(ctx).ok());
            let named = address.filter(|&a| !empty && a != 0 && a != UNDEF_ADDR);
            if let Some(a) = named.filter(|&a| seen.insert(a)) {
                out.push(a);
                if out.len() >= MAX_COLLECTIONS {
                    return out;
                }
            }
        }
    }
    out
}

/// Adds the heap IDs of a `dt` value at byte `at` of an element to `out`; false when there are
/// too many or the type is nested too deeply.
fn find(dt: &Datatype, at: usize, depth: u32, out: &mut Vec<Field>) -> bool {
    if depth > MAX_TYPE_DEPTH || out.len() > MAX_FIELDS {
        return false;
    }
    match &dt.class {
        TypeClass::VarLen { .. } => out.push(Field {
            count_at: Some(at),
            address_at: at + 4,
        }),
        TypeClass::Reference {
            kind: RefKind::Region,
        } => out.push(Field {
            count_at: None,
            address_at: at,
        }),
        TypeClass::Compound { members } => {
            return members
                .iter()
                .all(|m| find(&m.datatype, at + m.offset as usize, depth + 1, out));
        }
        TypeClass::Array { dims, base } => {
            let mut inner = Vec::new();
            if !find(base, 0, depth + 1, &mut inner) {
                return false;
            }
            if inner.is_empty() {
                return true;
            }
            let n = Datatype::array_len(dims).unwrap_or(u64::MAX);
            let total = (inner.len() as u64).saturating_mul(n);
            if total.saturating_add(out.len() as u64) > MAX_FIELDS as u64 {
                return false;
            }
            let step = base.size as usize;
            for i in 0..n as usize {
                out.extend(inner.iter().map(|f| Field {
                    count_at: f.count_at.map(|c| at + i * step + c),
                    address_at: at + i * step + f.address_at,
                }));
            }
        }
        _ => {}
    }
    out.len() <= MAX_FIELDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datatype::{ByteOrder, Member};

    fn ctx() -> Context {
        Context {
            sizeof_offsets: 8,
            sizeof_lengths: 8,
            base_address: 0,
        }
    }

    /// A stored vlen element: count, collection address, object index.
    fn vlen(count: u32, collection: u64) -> Vec<u8> {
        let mut b = count.to_le_bytes().to_vec();
        b.extend_from_slice(&collection.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b
    }

    fn vlen_type() -> Datatype {
        Datatype {
            size: 16,
            class: TypeClass::VarLen {
                string: None,
                base: Box::new(Datatype::integer(4, true, ByteOrder::Little)),
            },
        }
    }

    #[test]
    fn distinct_collections_in_order_skipping_empty_and_null_ids() {
        let data = [
            vlen(3, 4096),
            vlen(0, 8192),
            vlen(2, 0),
            vlen(1, 12288),
            vlen(5, 4096),
        ]
        .concat();
        assert_eq!(
            collections(&vlen_type(), &data, 5, &ctx()),
            vec![4096, 12288]
        );
        assert_eq!(collections(&vlen_type(), &data, 1, &ctx()), vec![4096]);
    }

    #[test]
    fn ids_inside_compounds_and_arrays_are_found() {
        let array = Datatype {
            size: 32,
            class: TypeClass::Array {
                dims: vec![2],
                base: Box::new(vlen_type()),
            },
        };
        let compound = Datatype {
            size: 36,
            class: TypeClass::Compound {
                members: vec![
                    Member {
                        name: b"n".to_vec(),
                        offset: 0,
                        datatype: Datatype::integer(4, true, ByteOrder::Little),
                    },
                    Member {
                        name: b"a".to_vec(),
                        offset: 4,
                        datatype: array,
                    },
                ],
            },
        };
        let data = [vec![7, 0, 0, 0], vlen(1, 100), vlen(1, 200)].concat();
        assert_eq!(collections(&compound, &data, 1, &ctx()), vec![100, 200]);
    }

    #[test]
    fn numbers_name_no_collections() {
        let dt = Datatype::integer(8, false, ByteOrder::Little);
        assert!(collections(&dt, &[1; 64], 8, &ctx()).is_empty());
    }
}
