//! coh5: fast HDF5 reading from local disks and cloud object storage.
//!
//! ```no_run
//! let file = coh5::File::open("s3://bucket/granule.h5")?;
//! for link in file.root()?.links_sorted()? {
//!     println!("{}", link.name_str());
//! }
//! # Ok::<(), coh5::Error>(())
//! ```

mod attribute;
mod error;
mod file;
mod filters;
mod link;
pub mod manifest;
mod meta;
mod names;
mod object;
mod paths;
mod read;
mod runtime;
mod value;

pub use attribute::Attribute;
pub use coh5_format as format;
pub use coh5_io::{ByteSource, SourceOptions, StatsSnapshot};
pub use error::{Error, Result};
pub use file::File;
pub use filters::filter_name;
pub use link::{Link, LinkKind};
pub use object::{child_path, Dataset, Group, NamedDatatype, Object, ObjectKind};

/// Bytes needed for `count` elements of `dt`, if that fits in memory addresses.
pub(crate) fn dataset_bytes(count: u64, dt: &format::datatype::Datatype) -> Option<u64> {
    count
        .checked_mul(u64::from(dt.size))
        .filter(|&n| n <= usize::MAX as u64)
}
