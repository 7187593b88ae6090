//! Patterns naming many files (`s3://bucket/ATL03/*.h5`, a prefix ending in `/`, local globs),
//! expanded before opening them one by one.

use crate::error::Result;
use crate::runtime::block_on;
use crate::SourceOptions;

/// The locations `pattern` names, sorted; a plain path or URL is returned unchanged. See
/// [`coh5_io::expand`] for the rules.
pub fn expand(pattern: &str, options: &SourceOptions) -> Result<Vec<String>> {
    Ok(block_on(coh5_io::expand(pattern, options))?)
}
