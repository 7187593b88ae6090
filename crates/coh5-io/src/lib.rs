//! Byte sources for coh5: random-access async reads of HDF5 files from local disk, memory, S3,
//! Google Cloud Storage, Azure Blob Storage and plain HTTP(S) servers, plus the layers that make
//! remote reads cheap (an aligned, single-flight, LRU [`BlockCache`]) and per-source request
//! [`Stats`].
//!
//! Every source implements [`ByteSource`]; layers take an `Arc<dyn ByteSource>` and implement it
//! again, so they stack. [`open`] picks the source from a path or URL.

mod cache;
mod error;
mod local;
mod memory;
mod object;
mod open;
mod options;
mod plan;
mod source;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{BlockCache, PREFETCH_CONCURRENCY};
pub use error::{Error, Result};
pub use local::LocalFile;
pub use memory::MemorySource;
pub use object::ObjectStoreSource;
pub use open::open;
pub use options::{SourceOptions, DEFAULT_S3_REGION};
pub use plan::{read_planned, Plan, PlanOptions, Request};
pub use source::{ByteSource, DEFAULT_CONCURRENCY};
pub use stats::{Stats, StatsSnapshot};

/// The object_store crate this layer is built on, for callers constructing their own stores.
pub use object_store;
