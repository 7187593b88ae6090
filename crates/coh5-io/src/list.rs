//! `expand`: turns a location pattern into the locations it names, so that a command can take
//! `s3://bucket/ATL03/*.h5`, a prefix `s3://bucket/ATL03/` or a local `data/ATL03_*.h5` where it
//! takes one file. Object stores are listed (ListObjectsV2 on S3) from the longest prefix before
//! the first wildcard, and every key is matched against the whole pattern.

use futures::TryStreamExt;
use glob::{MatchOptions, Pattern};
use object_store::path::Path;
use object_store::ObjectStoreScheme;
use url::Url;

use crate::{Error, Result, SourceOptions};

/// `*` and `?` stop at `/`, as in a shell, so `prefix/*.h5` does not descend.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// The locations `pattern` names, sorted. A location with no wildcard (`*`, `?`, `[`) and no
/// trailing `/` is returned as it is, unchecked (opening it reports a missing file). An object
/// store URL ending in `/` names every object under that prefix. A pattern that matches nothing
/// is an error.
pub async fn expand(pattern: &str, options: &SourceOptions) -> Result<Vec<String>> {
    let wild = pattern.find(['*', '?', '[']);
    let remote = pattern.contains("://") && !pattern.starts_with("file://");
    let found = match (wild, remote) {
        (None, false) => return Ok(vec![pattern.to_owned()]),
        (None, true) if !pattern.ends_with('/') => return Ok(vec![pattern.to_owned()]),
        (_, false) => expand_local(pattern)?,
        (_, true) => expand_remote(pattern, wild, options).await?,
    };
    if found.is_empty() {
        return Err(Error::NotFound {
            location: pattern.to_owned(),
            source: None,
        });
    }
    Ok(found)
}

fn invalid(pattern: &str, reason: impl Into<String>) -> Error {
    Error::InvalidLocation {
        location: pattern.to_owned(),
        reason: reason.into(),
    }
}

fn expand_local(pattern: &str) -> Result<Vec<String>> {
    let paths = glob::glob(pattern).map_err(|e| invalid(pattern, e.to_string()))?;
    let mut out = Vec::new();
    for p in paths {
        let p = p.map_err(|e| Error::io(pattern, None, e.into()))?;
        if p.is_file() {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

async fn expand_remote(
    pattern: &str,
    wild: Option<usize>,
    options: &SourceOptions,
) -> Result<Vec<String>> {
    // Everything up to the last `/` before the first wildcard is a literal prefix; parsing only
    // that part keeps `?` from being read as the start of a URL query.
    let cut = match wild {
        Some(w) => pattern[..w].rfind('/').map_or(0, |i| i + 1),
        None => pattern.len(),
    };
    let base = &pattern[..cut];
    let url = Url::parse(base).map_err(|e| invalid(pattern, format!("invalid URL: {e}")))?;
    let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|_| {
        invalid(
            pattern,
            format!("unsupported URL scheme {:?}", url.scheme()),
        )
    })?;
    if !matches!(
        scheme,
        ObjectStoreScheme::AmazonS3
            | ObjectStoreScheme::GoogleCloudStorage
            | ObjectStoreScheme::MicrosoftAzure
    ) || !matches!(url.scheme(), "s3" | "s3a" | "gs" | "az")
    {
        return Err(invalid(
            pattern,
            "only s3://, gs:// and az:// URLs can be listed; name HTTP objects one by one",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| invalid(pattern, "the URL names no bucket"))?;
    let root = format!("{}://{host}/", url.scheme());
    let config = options.store_config(&scheme, false);
    let (store, _) = object_store::parse_url_opts(&url, config)
        .map_err(|e| invalid(pattern, format!("cannot configure object store: {e}")))?;
    let matcher = match wild {
        Some(_) => Some(Pattern::new(pattern).map_err(|e| invalid(pattern, e.to_string()))?),
        None => None,
    };
    let prefix: Option<&Path> = (!prefix.as_ref().is_empty()).then_some(&prefix);
    let objects: Vec<_> = store
        .list(prefix)
        .try_collect()
        .await
        .map_err(|e| Error::object_store(pattern, None, e))?;
    let mut out: Vec<String> = objects
        .into_iter()
        .map(|o| format!("{root}{}", o.location))
        .filter(|loc| matcher.as_ref().is_none_or(|m| m.matches_with(loc, MATCH)))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_patterns_match_files_in_order() {
        let dir = std::env::temp_dir().join(format!("coh5-expand-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["b.h5", "a.h5", "c.txt", "sub/d.h5"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let opts = SourceOptions::default();
        let d = dir.to_string_lossy();
        let got = expand(&format!("{d}/*.h5"), &opts).await.unwrap();
        assert_eq!(got, [format!("{d}/a.h5"), format!("{d}/b.h5")]);
        let plain = format!("{d}/none.h5");
        assert_eq!(
            expand(&plain, &opts).await.unwrap(),
            std::slice::from_ref(&plain)
        );
        let e = expand(&format!("{d}/*.nc"), &opts).await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn http_urls_cannot_be_listed() {
        let e = expand("http://host/dir/*.h5", &SourceOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidLocation { .. }), "{e}");
    }
}
