//! B-trees: version 1 (III.A.1) and version 2 (III.A.2).

pub mod v1;
pub mod v2;
