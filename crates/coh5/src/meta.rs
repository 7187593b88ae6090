//! Metadata bytes for the decoders: a [`ReadAt`] over a cached byte source.
//!
//! Metadata is read in small dependent pieces (a header points at a heap that points at a
//! B-tree), so every piece goes through the block cache: one fetch serves the many structures
//! that libhdf5 writes next to each other.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use coh5_format::{Error as FormatError, ReadAt};
use coh5_io::{BlockCache, ByteSource};

use crate::runtime::block_on;

/// Block size of the metadata cache for files that do not declare a page size: large enough that
/// one request covers a typical cluster of object headers and heaps, small enough that a scattered
/// layout does not over-read much.
pub const DEFAULT_BLOCK: u64 = 64 * 1024;
/// Bound on cached metadata per open file.
pub const CACHE_CAPACITY: u64 = 256 << 20;

pub(crate) struct MetaSource {
    cache: BlockCache,
    size: u64,
}

impl MetaSource {
    pub fn new(source: Arc<dyn ByteSource>, size: u64, block: u64) -> Self {
        MetaSource {
            cache: BlockCache::new(source, block, CACHE_CAPACITY),
            size,
        }
    }

    pub fn source(&self) -> &Arc<dyn ByteSource> {
        self.cache.source()
    }

    /// Bytes of `range`, through the cache (used for small raw data such as contiguous datasets
    /// read for the manifest).
    pub fn fetch(&self, range: Range<u64>) -> coh5_io::Result<Bytes> {
        block_on(self.cache.read(range))
    }
}

impl ReadAt for MetaSource {
    fn read_at(&self, offset: u64, len: u64) -> coh5_format::Result<Bytes> {
        let end = offset.checked_add(len).filter(|&e| e <= self.size);
        let Some(end) = end else {
            return Err(FormatError::Truncated {
                structure: "file",
                offset,
                need: len,
                have: self.size.saturating_sub(offset),
            });
        };
        self.fetch(offset..end).map_err(|e| FormatError::Io {
            offset,
            len,
            detail: e.to_string(),
        })
    }

    fn size(&self) -> u64 {
        self.size
    }
}
