//! File Space Info message (File Format Specification IV.A.2.x, type 0x0017), versions 0
//! and 1, found in the superblock extension: how the file's free space is managed and, for
//! paged aggregation, the page size (useful to align remote reads with pages).

use crate::error::Result;
use crate::read::{Context, Cursor};

/// File space handling strategy, in the meaning of HDF5 1.10 and later (H5F_fspace_strategy_t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Free-space managers, aggregators and the file driver (the default).
    FsmAggr,
    /// Paged aggregation: metadata and raw data live in separate fixed-size pages.
    Page,
    /// Aggregators and the file driver.
    Aggr,
    /// The file driver only.
    None,
}

/// Version 0 strategy values (HDF5 1.10 pre-releases, H5F_file_space_type_t), which this
/// decoder maps onto [`Strategy`] the way the library does.
pub const V0_ALL_PERSIST: u8 = 1;
pub const V0_ALL: u8 = 2;
pub const V0_AGGR_VFD: u8 = 3;
pub const V0_VFD: u8 = 4;

/// Free-space manager addresses stored when free space persists (one per allocation type;
/// version 1 stores small- and large-section managers).
const V0_MANAGERS: usize = 6;
const V1_MANAGERS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpaceInfo {
    pub version: u8,
    pub strategy: Strategy,
    /// The strategy byte as stored (its meaning differs between versions 0 and 1).
    pub raw_strategy: u8,
    /// Whether free-space managers are persisted across file opens.
    pub persist: bool,
    /// Smallest free-space section size tracked.
    pub threshold: u64,
    /// File space page size as stored (version 1 only); meaningful with [`Strategy::Page`].
    pub stored_page_size: Option<u64>,
    /// Smallest page-end metadata section tracked (version 1 only).
    pub page_end_meta_threshold: Option<u16>,
    /// End of allocated space before the free-space managers were written (version 1 only).
    pub eoa: Option<u64>,
    /// Addresses of the persisted free-space managers (empty unless `persist`).
    pub managers: Vec<u64>,
}

impl FileSpaceInfo {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        let raw_strategy = c.u8()?;
        match version {
            0 => {
                let (strategy, persist) = match raw_strategy {
                    V0_ALL_PERSIST => (Strategy::FsmAggr, true),
                    V0_ALL => (Strategy::FsmAggr, false),
                    V0_AGGR_VFD => (Strategy::Aggr, false),
                    V0_VFD => (Strategy::None, false),
                    s => return Err(c.corrupt(format!("file space strategy {s}"))),
                };
                let threshold = c.length(ctx)?;
                let managers = if persist {
                    read_addresses(c, ctx, V0_MANAGERS)?
                } else {
                    Vec::new()
                };
                Ok(FileSpaceInfo {
                    version,
                    strategy,
                    raw_strategy,
                    persist,
                    threshold,
                    stored_page_size: None,
                    page_end_meta_threshold: None,
                    eoa: None,
                    managers,
                })
            }
            1 => {
                let strategy = match raw_strategy {
                    0 => Strategy::FsmAggr,
                    1 => Strategy::Page,
                    2 => Strategy::Aggr,
                    3 => Strategy::None,
                    s => return Err(c.corrupt(format!("file space strategy {s}"))),
                };
                let persist = c.u8()? != 0;
                let threshold = c.length(ctx)?;
                let page_size = c.length(ctx)?;
                let page_end_meta_threshold = c.u16()?;
                let eoa = c.offset(ctx)?;
                let managers = if persist {
                    read_addresses(c, ctx, V1_MANAGERS)?
                } else {
                    Vec::new()
                };
                Ok(FileSpaceInfo {
                    version,
                    strategy,
                    raw_strategy,
                    persist,
                    threshold,
                    stored_page_size: Some(page_size),
                    page_end_meta_threshold: Some(page_end_meta_threshold),
                    eoa: Some(eoa),
                    managers,
                })
            }
            v => Err(c.unsupported(format!("file space info message version {v}"))),
        }
    }

    /// The page size of a file using paged aggregation; `None` for every other strategy.
    pub fn page_size(&self) -> Option<u64> {
        match (self.strategy, self.stored_page_size) {
            (Strategy::Page, Some(size)) if size > 0 => Some(size),
            _ => None,
        }
    }
}

fn read_addresses(c: &mut Cursor, ctx: &Context, n: usize) -> Result<Vec<u64>> {
    (0..n).map(|_| c.offset(ctx)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<FileSpaceInfo> {
        FileSpaceInfo::parse(&mut Cursor::new(b, 0, "fsinfo"), &Context::default())
    }

    #[test]
    fn version1_paged_persistent() {
        let mut b = vec![1, 1, 1];
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&4096u64.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&0x8000u64.to_le_bytes());
        for i in 0..12u64 {
            b.extend_from_slice(&(0x100 * i).to_le_bytes());
        }
        let f = parse(&b).unwrap();
        assert_eq!(f.strategy, Strategy::Page);
        assert!(f.persist);
        assert_eq!(f.page_size(), Some(4096));
        assert_eq!(f.eoa, Some(0x8000));
        assert_eq!(f.managers.len(), 12);
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err());
        }
        // Not paged: no page size even though one is stored.
        let mut b2 = b[..29].to_vec();
        b2[1] = 0;
        b2[2] = 0;
        let f = parse(&b2).unwrap();
        assert_eq!((f.strategy, f.page_size()), (Strategy::FsmAggr, None));
    }

    #[test]
    fn version0_strategies() {
        let mut b = vec![0, V0_VFD];
        b.extend_from_slice(&1u64.to_le_bytes());
        let f = parse(&b).unwrap();
        assert_eq!(
            (f.strategy, f.persist, f.page_size()),
            (Strategy::None, false, None)
        );
        b[1] = V0_ALL_PERSIST;
        assert!(parse(&b).is_err());
        b.extend_from_slice(&[0xff; 48]);
        let f = parse(&b).unwrap();
        assert_eq!((f.strategy, f.persist), (Strategy::FsmAggr, true));
        assert!(f.managers.iter().all(|&a| a == crate::UNDEF_ADDR));
        assert!(parse(&[0, 5, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse(&[1, 4]).is_err());
        assert!(parse(&[2, 0]).is_err());
    }
}
