//! ICESat-2 ATL03 photon subsetting on coh5: keep the photons of some beams inside a lat/lon box
//! (and time range, and signal confidence or class), reading only the photon chunks that can
//! hold them. The granule's own 20 m segment index (ATL03_SPEC.md §4) maps the box to photon
//! index ranges before any photon is read; the result is Arrow record batches.
//!
//! ```no_run
//! use coh5_icesat2::{BBox, Beams, SignalConf, Subset};
//! let subset = Subset::new(BBox::parse("-66.5,-68.5,-66.0,-67.0")?)
//!     .beams(Beams::Strong)
//!     .signal_conf(SignalConf { levels: vec![3, 4], surface: None });
//! let granule = subset.open("ATL03_sample.h5")?;
//! println!("{} photons", granule.rows());
//! # Ok::<(), coh5_icesat2::Error>(())
//! ```
//!
//! The crate knows ATL03; `coh5` and the crates below it stay mission-agnostic.

mod answer;
mod bbox;
mod beams;
mod budget;
mod column;
mod error;
mod filters;
mod plan;
mod subset;

pub use answer::AnswerBytes;
pub use bbox::BBox;
pub use beams::{Beams, BEAMS};
pub use error::{Error, Result};
pub use filters::{parse_levels, SignalConf, Surface, TimeRange};
pub use plan::{PAD_METRES, PAD_SECONDS};
pub use subset::{
    granule_name, label, label_type, BeamSummary, GranuleSubset, Subset, DEFAULT_MEMORY_LIMIT,
    DEFAULT_VARS,
};
