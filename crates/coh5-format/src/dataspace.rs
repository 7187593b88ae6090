//! Dataspace message (File Format Specification IV.A.2.b, type 0x0001), versions 1 and 2:
//! the rank, current and maximum dimension sizes of a dataset or attribute.

use crate::error::Result;
use crate::limits::MAX_RANK;
use crate::read::{Context, Cursor};

/// Unlimited maximum size of a dimension (all bits set in the file, widened to 64 bits).
pub const UNLIMITED: u64 = u64::MAX;

const FLAG_MAX_DIMS: u8 = 0x1;
const FLAG_PERMUTATION: u8 = 0x2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceKind {
    /// A single element, rank 0.
    Scalar,
    /// A rectangular array of `dims`.
    Simple,
    /// No elements at all (H5S_NULL).
    Null,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataspace {
    pub kind: SpaceKind,
    /// Current size of each dimension, slowest-changing first; empty unless `Simple`.
    pub dims: Vec<u64>,
    /// Maximum sizes ([`UNLIMITED`] for unlimited), when the message stores them. With length
    /// fields shorter than 8 bytes, the writer's unlimited stays the all-ones number it reads
    /// as, as libhdf5 reports it; [`widen_unlimited`] gives the meaning chunk indexes use.
    pub max_dims: Option<Vec<u64>>,
}

impl Dataspace {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        let rank = usize::from(c.u8()?);
        let flags = c.u8()?;
        let kind = match version {
            1 => {
                // Reserved byte and reserved word; version 1 has no null dataspace.
                c.skip(5)?;
                if rank == 0 {
                    SpaceKind::Scalar
                } else {
                    SpaceKind::Simple
                }
            }
            2 => match c.u8()? {
                0 => SpaceKind::Scalar,
                1 => SpaceKind::Simple,
                2 => SpaceKind::Null,
                t => return Err(c.corrupt(format!("dataspace type {t}"))),
            },
            v => return Err(c.unsupported(format!("dataspace message version {v}"))),
        };
        if rank > MAX_RANK {
            return Err(crate::Error::limit(
                c.structure(),
                c.addr(),
                format!("dataspace rank {rank}"),
            ));
        }
        if kind != SpaceKind::Simple && rank != 0 {
            return Err(c.corrupt(format!("{kind:?} dataspace with rank {rank}")));
        }
        let dims = (0..rank)
            .map(|_| c.length(ctx))
            .collect::<Result<Vec<u64>>>()?;
        let max_dims = if flags & FLAG_MAX_DIMS != 0 {
            Some(read_max_sizes(c, ctx, rank)?)
        } else {
            None
        };
        // libhdf5 refuses a dimension larger than its maximum (H5S decode).
        if let Some(max) = &max_dims {
            if let Some(i) = (0..rank).find(|&i| max[i] != UNLIMITED && dims[i] > max[i]) {
                return Err(c.corrupt(format!(
                    "dimension {i} size {} exceeds its maximum {}",
                    dims[i], max[i]
                )));
            }
        }
        if version == 1 && flags & FLAG_PERMUTATION != 0 {
            // Permutation indices were never implemented by any library; skip them.
            let len = rank * usize::from(ctx.sizeof_lengths);
            c.skip(len)?;
        }
        Ok(Dataspace {
            kind,
            dims,
            max_dims,
        })
    }

    /// Total number of elements (scalar 1, null 0); `None` if the product overflows u64.
    pub fn num_elements(&self) -> Option<u64> {
        match self.kind {
            SpaceKind::Scalar => Some(1),
            SpaceKind::Null => Some(0),
            SpaceKind::Simple => self
                .dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d)),
        }
    }

    /// Whether dimension `i` may grow without bound.
    pub fn is_unlimited(&self, i: usize) -> bool {
        self.max_dims
            .as_ref()
            .and_then(|m| m.get(i))
            .is_some_and(|&m| m == UNLIMITED)
    }

    pub fn rank(&self) -> usize {
        self.dims.len()
    }
}

/// The maximum size `max` as chunk indexes mean it: the writer's "unlimited" (all bits set) is
/// [`UNLIMITED`] whatever the width of the file's length fields, though libhdf5 reports a short
/// one as a number (see [`Dataspace::max_dims`]).
pub fn widen_unlimited(max: u64, sizeof_lengths: u8) -> u64 {
    let bits = 8 * u32::from(sizeof_lengths);
    if bits < 64 && max == (1u64 << bits) - 1 {
        UNLIMITED
    } else {
        max
    }
}

/// `rank` maximum sizes. An all-ones value is [`UNLIMITED`] only at 8 bytes: libhdf5 decodes a
/// shorter length field as the number it holds, so a file written with 4-byte lengths reports
/// an "unlimited" dimension as 4294967295, and so do we.
fn read_max_sizes(c: &mut Cursor, ctx: &Context, rank: usize) -> Result<Vec<u64>> {
    (0..rank).map(|_| c.length(ctx)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn ctx(lengths: u8) -> Context {
        Context {
            sizeof_offsets: 8,
            sizeof_lengths: lengths,
            base_address: 0,
        }
    }

    fn parse(bytes: &[u8], ctx: &Context) -> Result<Dataspace> {
        Dataspace::parse(&mut Cursor::new(bytes, 0, "dataspace"), ctx)
    }

    #[test]
    fn version1_simple_with_unlimited_max() {
        let mut b = vec![1, 2, 1, 0, 0, 0, 0, 0];
        b.extend_from_slice(&10u64.to_le_bytes());
        b.extend_from_slice(&20u64.to_le_bytes());
        b.extend_from_slice(&10u64.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        let s = parse(&b, &ctx(8)).unwrap();
        assert_eq!(s.kind, SpaceKind::Simple);
        assert_eq!(s.dims, vec![10, 20]);
        assert_eq!(s.max_dims, Some(vec![10, UNLIMITED]));
        assert!(!s.is_unlimited(0));
        assert!(s.is_unlimited(1));
        assert!(!s.is_unlimited(2));
        assert_eq!(s.num_elements(), Some(200));
    }

    #[test]
    fn version1_rank0_is_scalar_and_permutation_is_skipped() {
        let s = parse(&[1, 0, 0, 0, 0, 0, 0, 0], &ctx(8)).unwrap();
        assert_eq!(s.kind, SpaceKind::Scalar);
        assert_eq!(s.num_elements(), Some(1));

        let mut b = vec![1, 1, 2, 0, 0, 0, 0, 0];
        b.extend_from_slice(&7u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        let mut c = Cursor::new(&b, 0, "dataspace");
        let s = Dataspace::parse(&mut c, &ctx(4)).unwrap();
        assert_eq!(s.dims, vec![7]);
        assert!(c.is_empty());
    }

    #[test]
    fn version2_kinds_and_short_lengths() {
        let s = parse(&[2, 0, 0, 2], &ctx(8)).unwrap();
        assert_eq!(s.kind, SpaceKind::Null);
        assert_eq!(s.num_elements(), Some(0));
        let s = parse(&[2, 0, 0, 0], &ctx(8)).unwrap();
        assert_eq!(s.kind, SpaceKind::Scalar);
        let s = parse(&[2, 1, 1, 1, 5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], &ctx(4)).unwrap();
        assert_eq!(s.dims, vec![5]);
        // As libhdf5 reads it: 4-byte all-ones is the number 2^32 - 1, not unlimited.
        assert_eq!(s.max_dims, Some(vec![u64::from(u32::MAX)]));
        assert!(!s.is_unlimited(0));
        assert_eq!(widen_unlimited(s.max_dims.unwrap()[0], 4), UNLIMITED);
        assert_eq!(widen_unlimited(7, 4), 7);
        assert_eq!(widen_unlimited(u64::from(u32::MAX), 8), u64::from(u32::MAX));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            parse(&[2, 33, 0, 1], &ctx(8)),
            Err(Error::Limit { .. })
        ));
        assert!(matches!(
            parse(&[2, 1, 0, 0, 1, 0, 0, 0], &ctx(4)),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            parse(&[2, 0, 0, 9], &ctx(8)),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            parse(&[3, 0, 0, 0], &ctx(8)),
            Err(Error::Unsupported { .. })
        ));
        let mut b = vec![2, 2, 0, 1];
        b.extend_from_slice(&[0xff; 16]);
        let s = parse(&b, &ctx(8)).unwrap();
        assert_eq!(s.num_elements(), None);
        for n in 0..b.len() {
            assert!(parse(&b[..n], &ctx(8)).is_err());
        }
    }
}
