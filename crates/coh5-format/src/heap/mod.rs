//! Heaps: local (III.D), global (III.E) and fractal (III.G).

pub mod fractal;
pub mod global;
pub mod local;
