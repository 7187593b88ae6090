//! coh5.
