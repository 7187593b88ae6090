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
mod chunks;
mod convert;
mod data;
mod dense;
mod element;
mod error;
mod external;
mod file;
mod filters;
mod form;
mod guess;
pub mod inspect;
mod link;
mod locations;
pub mod manifest;
mod meta;
mod names;
mod native;
mod npy;
mod object;
mod parallel;
mod paths;
mod plain;
mod read;
mod runtime;
pub mod selection;
mod show;
mod subtree;
mod value;
mod virtual_ds;

pub use attribute::Attribute;
pub use chunks::Chunk;
pub use coh5_format as format;
pub use coh5_io::{trace, ByteSource, RetryPolicy, SourceOptions, StatsSnapshot};
pub use convert::{Array, Element};
pub use data::RawArray;
pub use element::Value;
pub use error::{Error, Result};
pub use file::{Access, File};
pub use filters::filter_name;
pub use link::{Link, LinkKind};
pub use locations::expand;
pub use object::{child_path, Dataset, Group, NamedDatatype, Object, ObjectKind};
pub use selection::{DimSelection, Selection};
