//! Byte sources for coh5.
