//! Sans-IO decoding of HDF5 file structures.
//!
//! Decoders take byte slices (through [`Cursor`]) or a [`Reader`] over any [`ReadAt`] and
//! return plain structures. Nothing here performs I/O of its own, spawns threads or knows
//! about networks; that keeps every decoder fuzzable on an in-memory buffer.

pub mod btree;
pub mod cache_image;
pub mod checksum;
pub mod chunk_index;
pub mod dataspace;
pub mod datatype;
pub mod error;
pub mod heap;
pub mod limits;
pub mod message;
pub mod object_header;
pub mod read;
pub mod root_hint;
pub mod selection;
pub mod sohm;
pub mod superblock;
pub mod symbol_table_entry;
#[cfg(test)]
mod test_corpus;
pub mod value;
pub mod vds;

pub use error::{Error, Result};
pub use read::{Context, Cursor, ReadAt, Reader, UNDEF_ADDR};
