//! Byte sources for coh5: random-access async reads of HDF5 files from local disk, memory, S3,
//! Google Cloud Storage, Azure Blob Storage and plain HTTP(S) servers, plus the layers that make
//! remote reads cheap (an aligned, single-flight, LRU [`BlockCache`]; [`Ahead`], which fetches
//! ranges a reader expects to read before it asks) and robust (retries under a
//! [`RetryPolicy`], reads pinned to one version of the object), per-source request [`Stats`] and a
//! process-wide request [`trace`].
//!
//! Every source implements [`ByteSource`]; layers take an `Arc<dyn ByteSource>` and implement it
//! again, so they stack. [`open`] picks the source from a path or URL.

mod ahead;
mod cache;
mod connector;
mod error;
mod list;
mod local;
mod memory;
mod object;
mod open;
mod options;
mod plan;
mod retry;
mod source;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

pub use ahead::Ahead;
pub use cache::{BlockCache, PREFETCH_CONCURRENCY};
pub use error::{Error, Result};
pub use list::expand;
pub use local::LocalFile;
pub use memory::MemorySource;
pub use object::{
    first_read_part, ObjectStoreSource, DEFAULT_FIRST_READ, FIRST_READ_PART, REMOTE_READ_AHEAD,
};
pub use open::open;
pub use options::{SourceOptions, DEFAULT_S3_REGION};
pub use plan::{
    read_planned, read_planned_each, Plan, PlanOptions, Request, REMOTE_CONCURRENCY,
    REMOTE_MIN_PART,
};
pub use retry::RetryPolicy;
pub use source::{ByteSource, DEFAULT_CONCURRENCY, LOCAL_READ_AHEAD};
pub use stats::{critical_path, Stats, StatsSnapshot};

/// The object_store crate this layer is built on, for callers constructing their own stores.
pub use object_store;
